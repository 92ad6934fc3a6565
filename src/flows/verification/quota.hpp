#pragma once
// Limits on how often mail or SMS can be asked for: sending costs money and reputation, and an
// endpoint that mails or texts any address on demand is a spam cannon (or an SMS-pumping fraud).
// - per client IP: a cap per hour; over it the request is refused (429) whatever the address,
//   so the answer says nothing about any account;
// - per address and purpose: a cooldown between mails and a daily cap; over them the mail is
//   silently not sent (the answer must be the same as for an unknown address).

#include <chrono>
#include <string>

#include "common/result.hpp"
#include "kv/key_value.hpp"

namespace latchkey::flows {

struct SendQuotaOptions {
  std::chrono::seconds cooldown{60};
  int daily_cap = 5;
  int ip_hourly_cap = 20;
  std::string name = "mail";  // separates the counters of quotas sharing one KV store
};

class SendQuota {
 public:
  SendQuota(kv::KeyValue& kv, SendQuotaOptions options) : kv_(kv), options_(options) {}

  // Counts one request from `ip`; kRateLimited (with retry_after) when over the hourly cap.
  Status allow_ip(const std::string& ip);
  // Whether a message of `kind` may go to `address` (an e-mail address or a phone number) now; when
  // it may, counts it and starts the cooldown. Storage errors are returned (callers fail closed).
  Result<bool> allow_address(const std::string& kind, const std::string& address);

 private:
  kv::KeyValue& kv_;
  SendQuotaOptions options_;
};

}  // namespace latchkey::flows
