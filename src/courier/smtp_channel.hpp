#pragma once
// E-mail over SMTP, through libcurl (no hand-written SMTP).
//
//   SmtpChannel smtp({.url = "smtp://mail.example.com:587", .user = "latchkey",
//                     .password = secret, .from_address = "no-reply@example.com",
//                     .from_name = "Latchkey"}, clock);
//   Status s = smtp.send(email, outbox_id);
//
// TLS: smtps:// is TLS from the first byte; smtp:// upgrades with STARTTLS as `starttls` says.
// Certificate and host-name verification are always on (TLS 1.2 at least); `ca_file` replaces
// the system CA store (for a test server's self-signed certificate).
//
// Errors (see EmailChannel):
//   kInvalidEmail  recipient is not a usable envelope address (check_address); permanent.
//   kUnavailable   transient: DNS, connect, timeout, TLS handshake or verification, STARTTLS
//                  required but not offered, connection dropped, any SMTP 4xx reply.
//   kInternal      permanent: any SMTP 5xx reply (550 recipient rejected, 535 bad credentials,
//                  552 too big, ...) and local configuration failures curl reports.
// log_detail holds the curl error, curl's message and the last SMTP reply code; never the
// password (credentials are never put in the URL: the constructor refuses a URL with userinfo).
//
// Thread-safe: every send() uses its own curl easy handle; curl_global_init runs once.

#include <chrono>
#include <string>

#include "common/clock.hpp"
#include "courier/message.hpp"

namespace latchkey::courier {

struct SmtpOptions {
  std::string url;                    // smtp://host:port or smtps://host:port
  std::string starttls = "required";  // required|opportunistic|off (ignored for smtps://)
  std::string user, password;         // both empty: no AUTH
  std::string from_address, from_name;
  std::chrono::seconds connect_timeout{10}, timeout{30};
  std::string ca_file;  // extra CA for self-signed test servers, empty = system store
};

class SmtpChannel final : public EmailChannel {
 public:
  // Validates the options and throws std::invalid_argument (naming the smtp.* key) on: a URL
  // that is not smtp:// or smtps:// with a host, a URL with user or password in it, an unknown
  // starttls value, starttls = "off" with credentials on smtp:// (the password would cross the
  // network in clear), a password without a user, a from_address that fails check_address,
  // non-positive timeouts, or a ca_file that cannot be read. `clock` must outlive the channel.
  SmtpChannel(SmtpOptions options, const Clock& clock);

  Status send(const Email& email, const std::string& message_id) override;

 private:
  SmtpOptions options_;
  const Clock& clock_;
  bool implicit_tls_ = false;
};

}  // namespace latchkey::courier
