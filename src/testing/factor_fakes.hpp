#pragma once
// An in-memory methods::FactorRepository for unit tests, with the semantics of the SQL one
// (store/factor_repository.cpp; the store contract tests run on both). Header-only, thread-safe.
// Unlike the database it has no users table: writes do not check that the user exists, and
// remove_user() stands in for deleting one. It has no rollback either (see FakeUnitOfWork).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "methods/factors.hpp"

namespace latchkey::testing {

class FakeFactorRepository final : public methods::FactorRepository {
 public:
  // As in the database: confirmed_at and last_step are not taken from `factor`.
  Status put_totp(const methods::TotpFactor& factor) override {
    std::lock_guard lock(mutex_);
    auto it = totp_.find(factor.user_id);
    if (it != totp_.end() && it->second.confirmed_at) {
      return Error::make(ErrorCode::kConflict,
                         "an authenticator app is already set up; remove it first");
    }
    methods::TotpFactor stored = factor;
    stored.confirmed_at.reset();
    stored.last_step.reset();
    totp_[factor.user_id] = std::move(stored);
    return {};
  }

  Result<std::optional<methods::TotpFactor>> find_totp(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto it = totp_.find(user_id);
    if (it == totp_.end()) return std::optional<methods::TotpFactor>();
    return std::optional<methods::TotpFactor>(it->second);
  }

  Result<bool> confirm_totp(const std::string& user_id, TimePoint at, std::int64_t step) override {
    std::lock_guard lock(mutex_);
    auto it = totp_.find(user_id);
    if (it == totp_.end() || it->second.confirmed_at) return false;
    it->second.confirmed_at = at;
    it->second.last_step = step;
    return true;
  }

  Result<bool> use_totp_step(const std::string& user_id, std::int64_t step) override {
    std::lock_guard lock(mutex_);
    auto it = totp_.find(user_id);
    if (it == totp_.end() || !it->second.confirmed_at) return false;
    if (it->second.last_step && *it->second.last_step >= step) return false;
    it->second.last_step = step;
    return true;
  }

  Result<bool> remove_totp(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    return totp_.erase(user_id) > 0;
  }

  Status replace_recovery_codes(const std::string& user_id,
                                const std::vector<std::string>& code_hashes,
                                TimePoint at) override {
    std::lock_guard lock(mutex_);
    auto& codes = codes_[user_id];
    codes.clear();
    for (const auto& h : code_hashes) codes.try_emplace(h, Code{at, std::nullopt});
    return {};
  }

  Result<bool> use_recovery_code(const std::string& user_id, const std::string& code_hash,
                                 TimePoint at) override {
    std::lock_guard lock(mutex_);
    auto user = codes_.find(user_id);
    if (user == codes_.end()) return false;
    auto it = user->second.find(code_hash);
    if (it == user->second.end() || it->second.used_at) return false;
    it->second.used_at = at;
    return true;
  }

  Result<int> unused_recovery_codes(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    auto user = codes_.find(user_id);
    if (user == codes_.end()) return 0;
    int n = 0;
    for (const auto& [hash, code] : user->second) {
      if (!code.used_at) ++n;
    }
    return n;
  }

  Status remove_recovery_codes(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    codes_.erase(user_id);
    return {};
  }

  // --- for tests ---

  // What deleting the user does to its factors in the database.
  void remove_user(const std::string& user_id) {
    std::lock_guard lock(mutex_);
    totp_.erase(user_id);
    codes_.erase(user_id);
  }

  // The user's recovery code hashes (used or not), sorted.
  std::vector<std::string> recovery_code_hashes(const std::string& user_id) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    auto user = codes_.find(user_id);
    if (user == codes_.end()) return out;
    for (const auto& [hash, code] : user->second) out.push_back(hash);
    return out;
  }

 private:
  struct Code {
    TimePoint created_at{};
    std::optional<TimePoint> used_at;
  };

  mutable std::mutex mutex_;
  std::map<std::string, methods::TotpFactor> totp_;
  std::map<std::string, std::map<std::string, Code>> codes_;
};

}  // namespace latchkey::testing
