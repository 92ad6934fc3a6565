#pragma once
// One-time codes sent by SMS, kept in the KeyValue store (shared by every replica with Redis):
// 6 digits, stored as a keyed hash, valid for `ttl`, at most `max_attempts` wrong tries (then
// the code is dead), single use, and a cooldown between two codes to one number. Codes are kept
// per purpose and number, so a login code cannot verify a phone and a new code replaces the
// previous one.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.hpp"
#include "common/result.hpp"
#include "kv/key_value.hpp"

namespace latchkey::methods {

struct SmsCodeOptions {
  std::chrono::seconds ttl{300};
  int max_attempts = 5;
  std::chrono::seconds cooldown{60};
};

class SmsCodes {
 public:
  SmsCodes(kv::KeyValue& kv, Random& random, std::vector<std::uint8_t> key, SmsCodeOptions options);

  // A new code for (purpose, phone), replacing any earlier one. kRateLimited (retry_after)
  // within the cooldown of the previous code.
  Result<std::string> issue(std::string_view purpose, const std::string& phone);

  // Checks and consumes the code. kInvalidCode when wrong, expired or never issued;
  // kCodeAttemptsExceeded once max_attempts wrong codes were tried (the right one too, then).
  Status verify(std::string_view purpose, const std::string& phone, std::string_view code);

 private:
  std::string key_for(std::string_view kind, std::string_view purpose,
                      const std::string& phone) const;
  std::string hash(std::string_view purpose, const std::string& phone, std::string_view code) const;

  kv::KeyValue& kv_;
  Random& random_;
  std::vector<std::uint8_t> key_;
  SmsCodeOptions options_;
};

}  // namespace latchkey::methods
