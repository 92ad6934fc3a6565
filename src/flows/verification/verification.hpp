#pragma once
// Single-use secrets that prove control of an e-mail address: e-mail verification at sign-up,
// password reset, and confirmation of a new address. Each is a row (a Verification) and a secret
// given out once, by e-mail, in two forms:
// - a token "<selector>.<verifier>" for links: the selector (96 bits) finds the row, the verifier
//   (256 bits) is stored only as its SHA-256 and compared in constant time;
// - for verify_email and change_email, also a 6-digit code for apps, stored as a keyed hash and
//   dead after a few wrong attempts.

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace latchkey::flows {

enum class Purpose { kVerifyEmail, kResetPassword, kChangeEmail };

std::string_view to_string(Purpose p) noexcept;
std::optional<Purpose> parse_purpose(std::string_view s) noexcept;

struct Verification {
  std::string id;  // the selector: the public half of the token
  std::string user_id;
  Purpose purpose = Purpose::kVerifyEmail;
  std::string email;        // the (normalised) address the secret was sent to
  std::string secret_hash;  // SHA-256 hex of the verifier half
  std::string code_hash;    // keyed hash of the code; empty when there is no code
  int attempts = 0;         // wrong codes so far
  TimePoint created_at{};
  TimePoint expires_at{};
  std::optional<TimePoint> used_at;  // consumed, or superseded by a newer one
};

// Persistence port; implemented in store/ and by a fake in tests. Writes join the caller's
// UnitOfWork.
class VerificationRepository {
 public:
  virtual ~VerificationRepository() = default;
  virtual Status create(const Verification& v) = 0;
  virtual Result<std::optional<Verification>> find(const std::string& id) = 0;
  // The newest verification for `email` with this purpose that has a code and is neither used
  // nor expired at `now`.
  virtual Result<std::optional<Verification>> find_code_target(const std::string& email,
                                                               Purpose purpose, TimePoint now) = 0;
  // Counts one wrong code; returns the new count.
  virtual Result<int> add_failed_attempt(const std::string& id) = 0;
  // Marks it used if it is not yet (compare and set); false when it was already used.
  virtual Result<bool> consume(const std::string& id, TimePoint at) = 0;
  // Marks every unused verification of the user with this purpose used (a newer one replaces
  // them, or the thing they were for happened another way).
  virtual Status supersede(const std::string& user_id, Purpose purpose, TimePoint at) = 0;
  // Deletes verifications that expired before `before`. Returns rows removed.
  virtual Result<int> purge_expired(TimePoint before) = 0;
};

}  // namespace latchkey::flows
