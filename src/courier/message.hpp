#pragma once
// What the courier delivers. An Email is fully rendered (subject and bodies in UTF-8); the
// outbox stores it as it is, so a restart sends exactly what the request queued.

#include <string>

#include "common/result.hpp"

namespace latchkey::courier {

struct Email {
  std::string to;           // addr-spec, e.g. "kim@example.com"
  std::string to_name;      // display name, may be empty; UTF-8
  std::string subject;      // UTF-8, one line
  std::string text;         // text/plain body, UTF-8
  std::string html;         // text/html body, UTF-8; empty for a text-only mail
  std::string template_id;  // e.g. "verify_email" (for logs and metrics; never a secret)
};

// A delivery channel for e-mail (smtp, log). send() is called by the outbox dispatcher, never
// inside a request. `message_id` is the outbox id: it becomes the Message-ID's local part, so a
// retried delivery carries the same Message-ID.
//
// Errors: kUnavailable for transient failures that a retry may fix (connection refused, timeout,
// TLS handshake, SMTP 4xx); any other code is permanent (SMTP 5xx, malformed address) and the
// message goes dead at once. Error::log_detail holds the server's reply (never credentials).
class EmailChannel {
 public:
  virtual ~EmailChannel() = default;
  virtual Status send(const Email& email, const std::string& message_id) = 0;
};

// A text message to a phone. `to` is E.164 ("+821012345678"); `text` is UTF-8 and already
// rendered (one-time codes: short, no links).
struct Sms {
  std::string to;
  std::string text;
  std::string template_id;  // e.g. "phone_code" (for logs and metrics)
};

// A delivery channel for SMS (twilio, webhook, log). Same error contract as EmailChannel:
// kUnavailable is transient (retried), any other code is permanent. `message_id` is the outbox
// id: gateways that support it get it as an idempotency key, so a retry is not sent twice.
class SmsChannel {
 public:
  virtual ~SmsChannel() = default;
  virtual Status send(const Sms& sms, const std::string& message_id) = 0;
};

}  // namespace latchkey::courier
