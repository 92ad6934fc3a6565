#pragma once
// In-memory fakes of the domain ports, for unit tests. Header-only; not linked into the server.

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

#include "audit/audit.hpp"
#include "common/encoding.hpp"
#include "common/unit_of_work.hpp"
#include "identity/user_repository.hpp"
#include "sessions/session_repository.hpp"
#include "sessions/token_minter.hpp"

namespace latchkey::testing {

class FakeUserRepository final : public identity::UserRepository {
 public:
  Status create(const identity::User& user) override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, u] : users_) {
      if (u.email == user.email) return Error::make(ErrorCode::kConflict, "email taken");
    }
    users_[user.id] = user;
    return {};
  }
  Result<std::optional<identity::User>> find_by_id(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    if (it == users_.end()) return std::optional<identity::User>();
    return std::optional<identity::User>(it->second);
  }
  Result<std::optional<identity::User>> find_by_email(const std::string& email) override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, u] : users_) {
      if (u.email == email) return std::optional<identity::User>(u);
    }
    return std::optional<identity::User>();
  }
  Result<std::optional<identity::User>> find_by_phone(const std::string& phone) override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, u] : users_) {
      if (!phone.empty() && u.phone == phone) return std::optional<identity::User>(u);
    }
    return std::optional<identity::User>();
  }
  Status set_phone(const std::string& id, const std::string& phone, bool verified,
                   TimePoint at) override {
    std::lock_guard lock(mutex_);
    for (const auto& [other, u] : users_) {
      if (!phone.empty() && u.phone == phone && other != id) {
        return Error::make(ErrorCode::kConflict, "phone taken");
      }
    }
    auto it = users_.find(id);
    if (it == users_.end()) return Error::make(ErrorCode::kNotFound, "user not found");
    it->second.phone = phone;
    it->second.phone_verified = verified && !phone.empty();
    it->second.updated_at = at;
    return {};
  }
  Status update_name(const std::string& id, const std::string& name, TimePoint at) override {
    return mutate(id, [&](identity::User& u) {
      u.name = name;
      u.updated_at = at;
    });
  }
  Status set_password_hash(const std::string& id, const std::string& hash, TimePoint at) override {
    return mutate(id, [&](identity::User& u) {
      u.password_hash = hash;
      u.updated_at = at;
    });
  }
  Status set_state(const std::string& id, identity::AccountState state, TimePoint at) override {
    return mutate(id, [&](identity::User& u) {
      u.state = state;
      u.updated_at = at;
    });
  }
  Status mark_email_verified(const std::string& id, TimePoint at) override {
    return mutate(id, [&](identity::User& u) {
      u.email_verified = true;
      if (u.state == identity::AccountState::kPending) u.state = identity::AccountState::kActive;
      u.updated_at = at;
    });
  }
  Status change_email(const std::string& id, const std::string& email, TimePoint at) override {
    std::lock_guard lock(mutex_);
    for (const auto& [other, u] : users_) {
      if (u.email == email && other != id) return Error::make(ErrorCode::kConflict, "email taken");
    }
    auto it = users_.find(id);
    if (it == users_.end()) return Error::make(ErrorCode::kNotFound, "user not found");
    it->second.email = email;
    it->second.email_verified = true;
    it->second.updated_at = at;
    return {};
  }
  Status set_roles(const std::string& id, const std::vector<std::string>& roles,
                   TimePoint at) override {
    return mutate(id, [&](identity::User& u) {
      u.roles = roles;
      u.updated_at = at;
    });
  }
  Status remove(const std::string& id) override {
    std::lock_guard lock(mutex_);
    if (!users_.erase(id)) return Error::make(ErrorCode::kNotFound, "no such user");
    return {};
  }
  Result<std::vector<identity::User>> list(int limit,
                                           const std::optional<std::string>& after) override {
    std::lock_guard lock(mutex_);
    std::vector<identity::User> out;
    for (const auto& [id, u] : users_) {
      if (after && id <= *after) continue;
      if (static_cast<int>(out.size()) >= limit) break;
      out.push_back(u);
    }
    return out;
  }
  Result<std::vector<identity::User>> search(const identity::UserSearch& q) override {
    std::lock_guard lock(mutex_);
    auto lower = [](std::string s) {
      for (auto& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      return s;
    };
    auto key = [&](const identity::User& u) -> std::string {
      if (q.sort == identity::UserSort::kEmail) return u.email;
      if (q.sort == identity::UserSort::kName) return u.name;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(to_unix_ms(u.created_at)));
      return buf;
    };
    std::vector<std::pair<std::pair<std::string, std::string>, identity::User>> rows;
    for (const auto& [id, u] : users_) {
      const std::string p = lower(q.prefix);
      if (!p.empty() && !lower(u.email).starts_with(p) && !lower(u.name).starts_with(p) &&
          !(!u.phone.empty() && u.phone.starts_with(q.prefix))) {
        continue;
      }
      if (q.state && u.state != *q.state) continue;
      if (q.email_verified && u.email_verified != *q.email_verified) continue;
      if (!q.role.empty() && !u.has_role(q.role)) continue;
      rows.push_back({{key(u), u.id}, u});
    }
    std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
      return q.descending ? a.first > b.first : a.first < b.first;
    });
    std::vector<identity::User> out;
    for (const auto& [k, u] : rows) {
      if (q.after) {
        auto pos = q.after->first;
        if (q.sort == identity::UserSort::kCreatedAt) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%020lld", std::stoll(pos));
          pos = buf;
        }
        const std::pair<std::string, std::string> after{pos, q.after->second};
        if (q.descending ? !(k < after) : !(after < k)) continue;
      }
      if (static_cast<int>(out.size()) >= q.limit) break;
      out.push_back(u);
    }
    return out;
  }
  Result<std::int64_t> count_with_role(const std::string& role) override {
    std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (const auto& [id, u] : users_) {
      if (u.has_role(role)) ++n;
    }
    return n;
  }

  // The fake has no transactions: its callers run one at a time in the tests that use it.
  Result<std::vector<std::string>> lock_active_with_role(const std::string& role) override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> ids;
    for (const auto& [id, u] : users_) {
      if (u.has_role(role) && u.state == identity::AccountState::kActive) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  Status set_email_verified(const std::string& id, bool verified, TimePoint at) override {
    return mutate(id, [&](identity::User& u) {
      u.email_verified = verified;
      u.updated_at = at;
    });
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return users_.size();
  }

 private:
  template <typename F>
  Status mutate(const std::string& id, F f) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    if (it == users_.end()) return Error::make(ErrorCode::kNotFound, "no such user");
    f(it->second);
    return {};
  }
  mutable std::mutex mutex_;
  std::map<std::string, identity::User> users_;
};

class FakeSessionRepository final : public sessions::SessionRepository {
 public:
  Status create(const sessions::Session& s, const sessions::RefreshToken& first) override {
    std::lock_guard lock(mutex_);
    sessions_[s.id] = s;
    tokens_[first.hash] = first;
    return {};
  }
  Result<std::optional<sessions::Session>> find(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::optional<sessions::Session>();
    return std::optional<sessions::Session>(it->second);
  }
  Result<std::vector<sessions::Session>> list_active(const std::string& user_id,
                                                     TimePoint now) override {
    std::lock_guard lock(mutex_);
    std::vector<sessions::Session> out;
    for (const auto& [id, s] : sessions_) {
      if (s.user_id == user_id && s.active(now)) out.push_back(s);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  Result<std::optional<sessions::RefreshToken>> find_refresh(const std::string& hash) override {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(hash);
    if (it == tokens_.end()) return std::optional<sessions::RefreshToken>();
    return std::optional<sessions::RefreshToken>(it->second);
  }
  Result<bool> rotate(const std::string& old_hash, const std::string& sealed,
                      const sessions::RefreshToken& next, TimePoint now, const std::string& ip,
                      const std::string& ua, bool touch) override {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(old_hash);
    if (it == tokens_.end() || it->second.rotated_at) return false;
    it->second.rotated_at = now;
    it->second.successor_sealed = sealed;
    tokens_[next.hash] = next;
    if (touch) {
      auto& s = sessions_[next.session_id];
      s.last_used_at = now;
      s.ip = ip;
      s.user_agent = ua;
    }
    return true;
  }
  Result<bool> revoke(const std::string& id, TimePoint now, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.revoked_at) return false;
    it->second.revoked_at = now;
    it->second.revoke_reason = reason;
    return true;
  }
  Result<std::vector<std::string>> revoke_all(const std::string& user_id, TimePoint now,
                                              const std::string& reason,
                                              const std::optional<std::string>& except) override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (auto& [id, s] : sessions_) {
      if (s.user_id != user_id || s.revoked_at || (except && *except == id)) continue;
      s.revoked_at = now;
      s.revoke_reason = reason;
      out.push_back(id);
    }
    return out;
  }
  Result<std::vector<sessions::RevokedSession>> revoked_since(TimePoint since, int limit) override {
    std::lock_guard lock(mutex_);
    std::vector<sessions::RevokedSession> out;
    for (const auto& [id, s] : sessions_) {
      if (s.revoked_at && *s.revoked_at >= since) out.push_back({id, *s.revoked_at});
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.revoked_at > b.revoked_at; });
    if (out.size() > static_cast<std::size_t>(limit)) out.resize(static_cast<std::size_t>(limit));
    return out;
  }
  Result<int> purge_expired(TimePoint) override { return 0; }

 private:
  std::mutex mutex_;
  std::map<std::string, sessions::Session> sessions_;
  std::map<std::string, sessions::RefreshToken> tokens_;
};

// Mints "access:<sid>:<n>" strings: enough to see which session a token belongs to.
class FakeMinter final : public sessions::AccessTokenMinter {
 public:
  Result<sessions::MintedToken> mint(const sessions::AccessGrant& g) override {
    last = g;
    return sessions::MintedToken{"access:" + g.session_id + ":" + std::to_string(++count), 600};
  }
  sessions::AccessGrant last;
  int count = 0;
};

// Runs the work in place, one unit at a time (fakes have no rollback); counts units and can be
// told to fail the next ones as a database outage would.
class FakeUnitOfWork final : public UnitOfWork {
 public:
  Status run(const std::function<Status()>& work) override {
    std::lock_guard lock(mutex_);
    ++runs;
    if (fail_next > 0) {
      --fail_next;
      return Error::make(ErrorCode::kUnavailable, "the database is unavailable");
    }
    return work();
  }
  std::recursive_mutex mutex_;
  int runs = 0;
  int fail_next = 0;
};

class RecordingAudit final : public audit::AuditSink {
 public:
  void record(const audit::Event& e) override {
    std::lock_guard lock(mutex_);
    events.push_back(e);
  }
  bool saw(const std::string& type, const std::string& outcome) const {
    std::lock_guard lock(mutex_);
    return std::any_of(events.begin(), events.end(),
                       [&](const auto& e) { return e.type == type && e.outcome == outcome; });
  }
  // How many events of `type` were recorded (the "exactly once per action" checks).
  std::size_t count(const std::string& type) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == type; }));
  }
  mutable std::mutex mutex_;
  std::vector<audit::Event> events;
};

}  // namespace latchkey::testing
