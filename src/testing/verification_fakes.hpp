#pragma once
// An in-memory flows::VerificationRepository for unit tests, with the semantics of the SQL one
// (store/verification_repository.cpp; the store contract tests run on both). Header-only,
// thread-safe. Unlike the database it has no users table: create() does not check that the user
// exists, and remove_user() stands in for the cascade of deleting one. It has no rollback either
// (see FakeUnitOfWork).

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "flows/verification/verification.hpp"

namespace latchkey::testing {

class FakeVerificationRepository final : public flows::VerificationRepository {
 public:
  Status create(const flows::Verification& v) override {
    std::lock_guard lock(mutex_);
    if (rows_.count(v.id) != 0) return Error::make(ErrorCode::kConflict, "already exists");
    rows_[v.id] = v;
    return {};
  }

  Result<std::optional<flows::Verification>> find(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = rows_.find(id);
    if (it == rows_.end()) return std::optional<flows::Verification>();
    return std::optional<flows::Verification>(it->second);
  }

  Result<std::optional<flows::Verification>> find_code_target(const std::string& email,
                                                              flows::Purpose purpose,
                                                              TimePoint now) override {
    std::lock_guard lock(mutex_);
    const flows::Verification* best = nullptr;
    for (const auto& [id, v] : rows_) {
      if (v.email != email || v.purpose != purpose || v.used_at || v.expires_at <= now ||
          v.code_hash.empty()) {
        continue;
      }
      // Newest first; ties broken by the greater id (as ORDER BY created_at DESC, id DESC).
      if (best == nullptr || std::tie(v.created_at, v.id) > std::tie(best->created_at, best->id)) {
        best = &v;
      }
    }
    if (best == nullptr) return std::optional<flows::Verification>();
    return std::optional<flows::Verification>(*best);
  }

  Result<int> add_failed_attempt(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = rows_.find(id);
    if (it == rows_.end()) return Error::make(ErrorCode::kNotFound, "verification not found");
    return ++it->second.attempts;
  }

  Result<bool> consume(const std::string& id, TimePoint at) override {
    std::lock_guard lock(mutex_);
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.used_at) return false;
    it->second.used_at = at;
    return true;
  }

  Status supersede(const std::string& user_id, flows::Purpose purpose, TimePoint at) override {
    std::lock_guard lock(mutex_);
    for (auto& [id, v] : rows_) {
      if (v.user_id == user_id && v.purpose == purpose && !v.used_at) v.used_at = at;
    }
    return {};
  }

  Result<int> purge_expired(TimePoint before) override {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (auto it = rows_.begin(); it != rows_.end();) {
      if (it->second.expires_at < before) {
        it = rows_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  // --- for tests ---

  // What deleting the user does to its verifications in the database.
  void remove_user(const std::string& user_id) {
    std::lock_guard lock(mutex_);
    std::erase_if(rows_, [&](const auto& kv) { return kv.second.user_id == user_id; });
  }

  // Every row, by id.
  std::vector<flows::Verification> all() const {
    std::lock_guard lock(mutex_);
    std::vector<flows::Verification> out;
    out.reserve(rows_.size());
    for (const auto& [id, v] : rows_) out.push_back(v);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, flows::Verification> rows_;
};

}  // namespace latchkey::testing
