#include "courier/sms_channels.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/encoding.hpp"
#include "common/log.hpp"
#include "courier/atomic_file.hpp"
#include "courier/curl_support.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxMessageId = 128;
constexpr std::size_t kMaxDetail = 500;

[[noreturn]] void bad(const std::string& msg) {
  throw std::invalid_argument(msg);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; });
}

// The checks every channel makes before sending (see the header).
Status check_sms(const Sms& sms, const std::string& message_id, std::string_view who) {
  const auto invalid = [&](const char* field, std::string msg) {
    Error e = Error::on_field(ErrorCode::kInvalidField, field, msg);
    e.log_detail = std::string(who) + ": not sent: " + msg;
    return e;
  };
  if (!is_e164(sms.to)) return invalid("to", "recipient is not an E.164 phone number");
  if (sms.text.empty() || !is_valid_utf8(sms.text)) {
    return invalid("text", "text is empty or not UTF-8");
  }
  if (utf8_length(sms.text) > kMaxSmsText) {
    return invalid("text", "text is longer than " + std::to_string(kMaxSmsText) + " characters");
  }
  const bool id_ok = !message_id.empty() && message_id.size() <= kMaxMessageId &&
                     std::all_of(message_id.begin(), message_id.end(),
                                 [](unsigned char c) { return c > 0x20 && c < 0x7F; });
  if (!id_ok) return invalid("message_id", "message id is empty, too long or not printable");
  if (!is_valid_utf8(sms.template_id) || has_control(sms.template_id)) {
    return invalid("template_id", "template id is not UTF-8 or has control characters");
  }
  return {};
}

// A URL for an HTTP gateway: https://, or http:// to a loopback host (test servers).
UrlParts check_gateway_url(const std::string& url, const std::string& key) {
  auto parts = parse_url(url);
  if (!parts) bad(key + " is not a valid URL: " + parts.error().log_detail);
  if (parts->scheme != "https" && !(parts->scheme == "http" && is_loopback_host(parts->host))) {
    bad(key + " must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1])");
  }
  if (parts->has_credentials) bad(key + " must not contain a user name or password");
  if (parts->has_fragment) bad(key + " must not contain a #fragment");
  return *parts;
}

void check_timeout(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) bad("sms.timeout must be positive");
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
}

// What a gateway said, made fit for a log line and the outbox's last_error: secrets, the text
// and every run of 4+ digits of the text (the one-time code) cut out, control characters made
// spaces, at most kMaxDetail bytes (cut at a character boundary).
std::string scrub(std::string s, const Sms& sms, std::initializer_list<std::string_view> secrets) {
  for (std::string_view secret : secrets) replace_all(s, secret, "[redacted]");
  replace_all(s, sms.text, "[text]");
  for (std::size_t i = 0; i < sms.text.size();) {
    if (!is_digit(sms.text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < sms.text.size() && is_digit(sms.text[j])) ++j;
    if (j - i >= 4) replace_all(s, std::string_view(sms.text).substr(i, j - i), "[code]");
    i = j;
  }
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  if (s.size() > kMaxDetail) {
    std::size_t cut = kMaxDetail;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    s += "…";
  }
  return s;
}

// The verdict on a gateway's answer (see the header).
Status judge(long status, std::string detail) {
  if (status >= 200 && status <= 299) return {};
  if (transient_http_status(status)) {
    return Error{ErrorCode::kUnavailable, "SMS gateway is unavailable", {}, {}, std::move(detail)};
  }
  return Error{ErrorCode::kInternal, "SMS gateway refused the message", {}, {}, std::move(detail)};
}

constexpr std::string_view kLogSuffix = ".txt";

}  // namespace

// --- Helpers
// --------------------------------------------------------------------------------------

bool is_e164(std::string_view number) {
  if (number.size() < 3 || number.size() > 16 || number[0] != '+' || number[1] == '0') {
    return false;
  }
  return std::all_of(number.begin() + 1, number.end(), is_digit);
}

std::string webhook_signature(std::string_view secret, std::int64_t t, std::string_view body) {
  const std::string ts = std::to_string(t);
  std::string signed_payload;
  signed_payload.reserve(ts.size() + 1 + body.size());
  signed_payload.append(ts).append(".").append(body);
  return "t=" + ts + ",v1=" + hex_encode(hmac_sha256(as_bytes(secret), as_bytes(signed_payload)));
}

// --- Twilio
// ---------------------------------------------------------------------------------------

TwilioSmsChannel::TwilioSmsChannel(TwilioSmsOptions options) : options_(std::move(options)) {
  init_curl_once();
  const UrlParts base = check_gateway_url(options_.api_base, "sms.twilio_api_base");
  if (base.has_query) bad("sms.twilio_api_base must not contain a ?query");
  const auto& sid = options_.account_sid;
  if (sid.size() != 34 || sid.rfind("AC", 0) != 0 ||
      !std::all_of(sid.begin() + 2, sid.end(), is_hex)) {
    bad("sms.twilio_account_sid must be AC followed by 32 hex digits");
  }
  if (options_.auth_token.empty() || has_control(options_.auth_token)) {
    bad("sms.twilio_auth_token is empty or contains control characters");
  }
  const auto& from = options_.from;
  const bool sender_id =
      !from.empty() && from.size() <= 11 &&
      std::all_of(from.begin(), from.end(), [](char c) { return is_alnum(c) || c == ' '; }) &&
      std::any_of(from.begin(), from.end(), [](char c) { return is_alnum(c) && !is_digit(c); });
  if (!is_e164(from) && !sender_id) {
    bad("sms.twilio_from must be an E.164 number (+15005550006) or an alphanumeric sender id");
  }
  check_timeout(options_.timeout);

  std::string prefix = options_.api_base;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  messages_url_ = prefix + "/2010-04-01/Accounts/" + sid + "/Messages.json";
}

Status TwilioSmsChannel::send(const Sms& sms, const std::string& message_id) {
  if (Status s = check_sms(sms, message_id, "twilio"); !s.ok()) return s;

  HttpRequest request;
  request.url = messages_url_;
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
                     "I-Twilio-Idempotency-Token: " + message_id};
  request.body = form_encode({{"To", sms.to}, {"From", options_.from}, {"Body", sms.text}});
  request.basic_user = options_.account_sid;
  request.basic_password = options_.auth_token;
  request.timeout = options_.timeout;

  auto response = post_http(request, "twilio");
  if (!response) return response.error();

  std::string detail = "twilio: HTTP " + std::to_string(response->status);
  const auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_object() && json.contains("code") && json.contains("message")) {
    // Twilio's error resource: {"code": 21211, "message": "...", "more_info": "...", ...}
    detail +=
        ", Twilio error " + json["code"].dump() + ": " +
        (json["message"].is_string() ? json["message"].get<std::string>() : json["message"].dump());
  } else if (response->status / 100 != 2 && !response->body.empty()) {
    detail += ": " + response->body;
  }
  return judge(response->status,
               scrub(std::move(detail), sms,
                     {options_.auth_token,
                      base64_encode(as_bytes(options_.account_sid + ":" + options_.auth_token))}));
}

// --- Webhook
// --------------------------------------------------------------------------------------

WebhookSmsChannel::WebhookSmsChannel(WebhookSmsOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  init_curl_once();
  check_gateway_url(options_.url, "sms.webhook_url");
  if (options_.secret.size() < 16) bad("sms.webhook_secret must be at least 16 bytes long");
  check_timeout(options_.timeout);
}

Status WebhookSmsChannel::send(const Sms& sms, const std::string& message_id) {
  if (Status s = check_sms(sms, message_id, "webhook"); !s.ok()) return s;

  const std::int64_t t = to_unix(clock_.now());
  // Every string was checked to be UTF-8 (message_id is ASCII), so dump() cannot throw.
  const std::string body = nlohmann::json{
      {"id", message_id},
      {"to", sms.to},
      {"text", sms.text},
      {"template_id", sms.template_id},
      {"created_at", t}}.dump();

  HttpRequest request;
  request.url = options_.url;
  request.headers = {"Content-Type: application/json", "Accept: application/json",
                     "X-Latchkey-Message-Id: " + message_id,
                     "X-Latchkey-Signature: " + webhook_signature(options_.secret, t, body)};
  request.body = body;
  request.timeout = options_.timeout;

  auto response = post_http(request, "webhook");
  if (!response) return response.error();

  std::string detail = "webhook: HTTP " + std::to_string(response->status);
  if (response->status / 100 != 2 && !response->body.empty()) detail += ": " + response->body;
  return judge(response->status, scrub(std::move(detail), sms, {options_.secret}));
}

// --- Log
// ------------------------------------------------------------------------------------------

LogSmsChannel::LogSmsChannel(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) bad("sms.log_dir is empty");
}

std::string LogSmsChannel::path_for(std::string_view message_id) const {
  return (fs::path(dir_) / message_file_name(message_id, kLogSuffix)).string();
}

Status LogSmsChannel::send(const Sms& sms, const std::string& message_id) {
  if (Status s = check_sms(sms, message_id, "log sms channel"); !s.ok()) return s;

  const std::string content = "to: " + sms.to + "\ntemplate_id: " + sms.template_id +
                              "\nmessage_id: " + message_id + "\n\n" + sms.text + "\n";
  const std::string path = path_for(message_id);
  if (Status s =
          write_file_atomically(dir_, message_file_name(message_id, kLogSuffix), content,
                                {.who = "log sms channel", .message = "SMS could not be written"});
      !s.ok()) {
    return s;
  }

  // Development only: the text, one-time code included, goes to the log on purpose.
  log::info("sms written to file (log sms channel, development only)",
            {{"to", sms.to},
             {"template_id", sms.template_id},
             {"message_id", message_id},
             {"file", path},
             {"text", sms.text}});
  return {};
}

}  // namespace latchkey::courier
