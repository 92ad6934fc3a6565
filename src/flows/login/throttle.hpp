#pragma once
// Exponential backoff after failed attempts, per key ("login:acct:<email>", "login:ip:<ip>"),
// kept in the KeyValue store so that every replica sharing it sees the same counts.
//
// The rule, for one key:
//   - Failures are counted in a fixed window: the count starts at the first failure and is
//     forgotten `window` after that first failure (later failures do not extend it).
//   - `free_attempts` failures are allowed; the n-th failure in the window (n = 1, 2, ...)
//     locks the key when n >= free_attempts, for
//       min(max_delay, base_delay * 2^(n - free_attempts))
//     measured from that failure. With the defaults (5, 1 s, 900 s): after 5 failures the next
//     attempt waits 1 s; the 6th failure locks for 2 s, the 7th for 4 s, ... the 15th and later
//     for 900 s.
//   - blocked_for() is the time left on the lock, in whole seconds rounded up; nullopt when the
//     key is not locked.
//   - reset() forgets the count and the lock (the login flow calls it for the account key after
//     a successful login; the IP key is left to expire).
// Callers check blocked_for() first and, while blocked, refuse without checking the password and
// without recording a failure, so a locked key costs no hashing and the lock does not grow.
//
// Stored keys: "throttle:<key>:fails" (counter) and "throttle:<key>:lock" (unlock time in unix
// milliseconds, expiring with the lock).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kv/key_value.hpp"

namespace latchkey::flows {

struct ThrottleOptions {
  int free_attempts = 5;
  std::chrono::seconds base_delay{1};
  std::chrono::seconds max_delay{900};
  std::chrono::seconds window{900};
};

class Throttle {
 public:
  // Throws std::invalid_argument when free_attempts < 1, base_delay < 1 s,
  // max_delay < base_delay or window < 1 s.
  Throttle(kv::KeyValue& kv, const Clock& clock, ThrottleOptions options = {});

  // Seconds to wait (>= 1) while `key` is locked; nullopt when attempts are allowed.
  // Errors come from the KeyValue store (e.g. kOverloaded); callers should fail closed.
  Result<std::optional<int>> blocked_for(std::string_view key);
  // Counts a failure and, past the free attempts, locks the key (see the rule above).
  Status record_failure(std::string_view key);
  // Forgets the failures and any lock.
  Status reset(std::string_view key);

  // The lock that the n-th failure in a window sets (0 s while n < free_attempts).
  std::chrono::seconds delay_after(std::int64_t failures) const;
  const ThrottleOptions& options() const { return options_; }

 private:
  kv::KeyValue& kv_;
  const Clock& clock_;
  ThrottleOptions options_;
};

}  // namespace latchkey::flows
