#pragma once
// Second factors a user has enrolled, and the port that stores them. Implemented in store/ and
// by a fake in tests. Writes join the caller's UnitOfWork.
//
// TOTP: one secret per user, sealed under the master key (common/sealed_box.hpp). Enrolment
// stores it unconfirmed; confirming with a first valid code turns it on. last_step is the time
// step of the last accepted code: a code of that step or an earlier one is refused (no replay).
// Recovery codes: stored only as keyed hashes; each works once; regenerating replaces them all.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace latchkey::methods {

struct TotpFactor {
  std::string user_id;
  std::string secret_sealed;
  TimePoint created_at{};
  std::optional<TimePoint> confirmed_at;  // set: the factor is on
  std::optional<std::int64_t> last_step;
};

class FactorRepository {
 public:
  virtual ~FactorRepository() = default;

  // Stores a new unconfirmed secret, replacing an unconfirmed one; kConflict when the user has
  // a confirmed TOTP factor (it must be removed first).
  virtual Status put_totp(const TotpFactor& factor) = 0;
  virtual Result<std::optional<TotpFactor>> find_totp(const std::string& user_id) = 0;
  // Confirms an unconfirmed factor and records `step` as used. False when there is no
  // unconfirmed factor.
  virtual Result<bool> confirm_totp(const std::string& user_id, TimePoint at,
                                    std::int64_t step) = 0;
  // Records `step` as used if it is later than last_step (compare and set, so two requests with
  // the same code cannot both pass). False when the step was used already or there is no
  // confirmed factor.
  virtual Result<bool> use_totp_step(const std::string& user_id, std::int64_t step) = 0;
  // Returns whether a factor was removed.
  virtual Result<bool> remove_totp(const std::string& user_id) = 0;

  // Replaces every recovery code of the user with these hashes (unused).
  virtual Status replace_recovery_codes(const std::string& user_id,
                                        const std::vector<std::string>& code_hashes,
                                        TimePoint at) = 0;
  // Marks the code used if it is the user's and unused (compare and set).
  virtual Result<bool> use_recovery_code(const std::string& user_id, const std::string& code_hash,
                                         TimePoint at) = 0;
  virtual Result<int> unused_recovery_codes(const std::string& user_id) = 0;
  virtual Status remove_recovery_codes(const std::string& user_id) = 0;
};

}  // namespace latchkey::methods
