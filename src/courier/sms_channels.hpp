#pragma once
// SMS channels: Twilio's Messages API, a signed JSON webhook to your own SMS gateway, and a
// development channel that writes files. All three implement SmsChannel (courier/message.hpp).
//
//   TwilioSmsChannel twilio({.account_sid = "AC…", .auth_token = secret, .from = "+15005550006"});
//   WebhookSmsChannel hook({.url = "https://sms-gw.internal/send", .secret = secret}, clock);
//   LogSmsChannel dev("data/sms");
//   Status s = twilio.send({.to = "+821012345678", .text = "[Latchkey] 인증 코드: 482913",
//                           .template_id = "phone_code"}, outbox_id);
//
// Every channel checks the message before anything else, with the same permanent errors, so the
// development channel fails where production would:
//   kInvalidField "to"          not E.164 (is_e164)
//   kInvalidField "text"        empty, not UTF-8, or longer than kMaxSmsText code points
//   kInvalidField "message_id"  empty, longer than 128 bytes, or not printable ASCII (it goes
//                               into an HTTP header and a file name)
//   kInvalidField "template_id" not UTF-8, or has control characters
//
// Twilio and webhook, after the request (see SmsChannel for what the codes mean):
//   2xx                                    sent
//   408, 429, 5xx; DNS, connect, timeout,  kUnavailable (transient: the dispatcher retries with
//   TLS failure, connection dropped        the same message id, which the gateway gets as its
//                                          idempotency key)
//   any other status (400, 401, 403, 404,  kInternal (permanent: the message goes dead)
//   3xx — redirects are not followed)
// log_detail names the channel and holds the HTTP status and the gateway's error (Twilio: its
// error code and message from the JSON body), at most 500 bytes. It never holds credentials, the
// webhook secret, or the text of the message: every run of 4+ digits of the text (the one-time
// code) is cut out of whatever the gateway echoes back.
//
// TLS: https:// only, except to a loopback host (127.0.0.1, localhost, [::1]) where http:// is
// allowed for tests; certificate and host name are always verified (system CA store).
// Thread-safe: every send() uses its own curl handle.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "courier/message.hpp"

namespace latchkey::courier {

// Twilio's own limit for one message body.
inline constexpr std::size_t kMaxSmsText = 1600;

// --- Twilio -------------------------------------------------------------------------------------
//
// POST {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json
//   Authorization: Basic base64(account_sid:auth_token)
//   Content-Type: application/x-www-form-urlencoded
//   I-Twilio-Idempotency-Token: <message_id>
//   To=%2B821012345678&From=%2B15005550006&Body=...       (form_encode)
// Twilio answers 201 with the message resource; errors carry {"code": 21211, "message": ...}.
struct TwilioSmsOptions {
  // Tests point it at http://127.0.0.1:PORT; a path prefix (a proxy) is kept.
  std::string api_base = "https://api.twilio.com";
  std::string account_sid;  // "AC" + 32 hex digits
  std::string auth_token;   // secret
  std::string from;  // E.164 number, or an alphanumeric sender id (1-11 of A-Z a-z 0-9 space)
  std::chrono::milliseconds timeout{10'000};  // the whole request, connect included
};

class TwilioSmsChannel final : public SmsChannel {
 public:
  // Throws std::invalid_argument naming the config key (sms.twilio_api_base,
  // sms.twilio_account_sid, sms.twilio_auth_token, sms.twilio_from, sms.timeout) on: an
  // api_base that is not https:// (or http:// to a loopback host), has credentials, a query or a
  // fragment; an account_sid that is not AC + 32 hex digits; an empty auth_token or one with
  // control characters; a from that is neither E.164 nor an alphanumeric sender id; a
  // non-positive timeout.
  explicit TwilioSmsChannel(TwilioSmsOptions options);

  Status send(const Sms& sms, const std::string& message_id) override;

  // The Messages resource URL that send() posts to.
  const std::string& messages_url() const { return messages_url_; }

 private:
  TwilioSmsOptions options_;
  std::string messages_url_;
};

// --- Webhook ------------------------------------------------------------------------------------
//
// For an SMS gateway of your own (an adapter for NHN Cloud, Naver Cloud SENS, a local carrier):
//
//   POST {url}
//   Content-Type: application/json
//   X-Latchkey-Message-Id: 0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b
//   X-Latchkey-Signature: t=1700000000,v1=5f0e…(64 hex digits)
//
//   {"id":"0190a5b2-…","to":"+821012345678","text":"[Latchkey] 인증 코드: 482913",
//    "template_id":"phone_code","created_at":1700000000}
//
// `id` equals X-Latchkey-Message-Id and is the idempotency key: a retry (after a timeout or a
// 5xx) sends the same id again, with a fresh t and signature. `created_at` is t, the unix time
// of this attempt. Text is UTF-8, not escaped to \uXXXX.
//
// Signature scheme (the same shape as Stripe's webhooks):
//   v1 = lower-case hex( HMAC-SHA256(key = the shared secret's bytes,
//                                    message = t + "." + the raw request body) )
// where t is the decimal unix time in the header. To verify, a receiver:
//   1. reads the raw body bytes before parsing any JSON;
//   2. splits the header on ',' into key=value pairs, takes t and every v1 (there may be more
//      than one v1 in future, during a secret rotation; any one matching is enough);
//   3. rejects t further than 5 minutes from its own clock (replays);
//   4. computes v1 over "<t>.<raw body>" and compares in constant time;
//   5. answers 2xx once it has taken the message, and treats a repeated id as already done.
// Answer 408/429/5xx for "try again later", another 4xx for "never send this one".
// (tests/api/sms-receiver.mjs has verifyWebhookSignature(), a reference implementation in JS.)
struct WebhookSmsOptions {
  std::string url;     // https:// (http:// only to a loopback host)
  std::string secret;  // at least 16 bytes; e.g. `openssl rand -hex 32`
  std::chrono::milliseconds timeout{10'000};
};

class WebhookSmsChannel final : public SmsChannel {
 public:
  // Throws std::invalid_argument naming the config key (sms.webhook_url, sms.webhook_secret,
  // sms.timeout) on: a url that is not https:// (or http:// to a loopback host) or has
  // credentials or a fragment; a secret shorter than 16 bytes; a non-positive timeout.
  // `clock` gives t and must outlive the channel.
  WebhookSmsChannel(WebhookSmsOptions options, const Clock& clock);

  Status send(const Sms& sms, const std::string& message_id) override;

 private:
  WebhookSmsOptions options_;
  const Clock& clock_;
};

// The X-Latchkey-Signature value for `body` sent at unix time `t`: "t=<t>,v1=<hex>".
std::string webhook_signature(std::string_view secret, std::int64_t t, std::string_view body);

// --- Log (development only) ---------------------------------------------------------------------
//
// Nothing is sent. Each message is written to `<dir>/<message_id>.txt`:
//   to: +821012345678
//   template_id: phone_code
//   message_id: 0190a5b2-…
//   <empty line>
//   [Latchkey] 인증 코드: 482913
// and one info log line carries to, template_id, message_id, file and the text itself.
//
// THE ONE-TIME CODES APPEAR IN THE LOG AND THE FILES BY DESIGN, so a developer can sign in
// without a phone: never configure this channel in production.
//
// Files: the directory is created when missing (mode 0700 when this channel creates it); each
// message goes to a temporary file (mode 0600) renamed into place, so a reader never sees half a
// message and a retry replaces the file. Characters of the message id outside [A-Za-z0-9_-] are
// written as %XX, so the file stays inside `dir`. Errors: the checks above; kUnavailable when the
// file cannot be written. Thread-safe.
class LogSmsChannel final : public SmsChannel {
 public:
  // Throws std::invalid_argument (naming sms.log_dir) when `dir` is empty.
  explicit LogSmsChannel(std::string dir);

  Status send(const Sms& sms, const std::string& message_id) override;

  // The file send() writes for `message_id`.
  std::string path_for(std::string_view message_id) const;

 private:
  std::string dir_;
};

// --- Helpers (exported for tests) ---------------------------------------------------------------

// application/x-www-form-urlencoded: name=value pairs joined by '&'; A-Z a-z 0-9 - . _ ~ stay,
// space becomes '+', every other byte (UTF-8 included) becomes %XX (upper-case hex).
//   form_encode({{"Body", "코드 1+1&"}}) == "Body=%EC%BD%94%EB%93%9C+1%2B1%26"
using latchkey::form_encode;  // common/encoding.hpp

// "+" then 2 to 15 digits, the first not 0 (ITU-T E.164). Format only: whether the number
// exists is the gateway's business.
bool is_e164(std::string_view number);

}  // namespace latchkey::courier
