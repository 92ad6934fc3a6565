#pragma once
// Limits on how often mail can be asked for: sending mail costs money and reputation, and an
// endpoint that mails any address on demand is a spam cannon.
// - per client IP: a cap per hour; over it the request is refused (429) whatever the address,
//   so the answer says nothing about any account;
// - per address and purpose: a cooldown between mails and a daily cap; over them the mail is
//   silently not sent (the answer must be the same as for an unknown address).

#include <chrono>
#include <string>

#include "common/result.hpp"
#include "kv/key_value.hpp"

namespace latchkey::flows {

struct MailQuotaOptions {
  std::chrono::seconds cooldown{60};
  int daily_cap = 5;
  int ip_hourly_cap = 20;
};

class MailQuota {
 public:
  MailQuota(kv::KeyValue& kv, MailQuotaOptions options) : kv_(kv), options_(options) {}

  // Counts one request from `ip`; kRateLimited (with retry_after) when over the hourly cap.
  Status allow_ip(const std::string& ip);
  // Whether a mail of `kind` may go to `address` now; when it may, counts it and starts the
  // cooldown. Storage errors are returned (callers fail closed).
  Result<bool> allow_address(const std::string& kind, const std::string& address);

 private:
  kv::KeyValue& kv_;
  MailQuotaOptions options_;
};

}  // namespace latchkey::flows
