#pragma once
// In-memory fakes of the admin ports (roles, audit log), for unit tests. Header-only.

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "audit/audit_log.hpp"
#include "identity/roles.hpp"

namespace latchkey::testing {

class FakeRoleRepository final : public identity::RoleRepository {
 public:
  Result<std::vector<identity::Role>> list() override {
    std::lock_guard lock(mutex_);
    std::vector<identity::Role> out;
    for (const auto& [name, r] : roles_) out.push_back(r);
    return out;
  }
  Result<std::optional<identity::Role>> find(const std::string& name) override {
    std::lock_guard lock(mutex_);
    auto it = roles_.find(name);
    if (it == roles_.end()) return std::optional<identity::Role>();
    return std::optional<identity::Role>(it->second);
  }
  Status create(const identity::Role& role) override {
    std::lock_guard lock(mutex_);
    if (roles_.count(role.name)) return Error::make(ErrorCode::kConflict, "role exists");
    auto r = role;
    r.permissions = identity::normalise_permissions(r.permissions);
    roles_[role.name] = r;
    return {};
  }
  Status set_permissions(const std::string& name,
                         const std::vector<identity::Permission>& permissions) override {
    std::lock_guard lock(mutex_);
    auto it = roles_.find(name);
    if (it == roles_.end()) return Error::make(ErrorCode::kNotFound, "role not found");
    it->second.permissions = identity::normalise_permissions(permissions);
    return {};
  }
  Status remove(const std::string& name) override {
    std::lock_guard lock(mutex_);
    if (!roles_.erase(name)) return Error::make(ErrorCode::kNotFound, "role not found");
    return {};
  }

 private:
  std::mutex mutex_;
  std::map<std::string, identity::Role> roles_;
};

class FakeAuditRepository final : public audit::AuditRepository {
 public:
  Status append(const audit::StoredEvent& e) override {
    std::lock_guard lock(mutex_);
    events.push_back(e);
    return {};
  }
  Result<std::vector<audit::StoredEvent>> query(const audit::AuditQuery& q) override {
    std::lock_guard lock(mutex_);
    std::vector<audit::StoredEvent> all = events;
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return std::tie(a.at, a.id) > std::tie(b.at, b.id);
    });
    std::vector<audit::StoredEvent> out;
    for (const auto& e : all) {
      if (!q.subject_id.empty() && e.event.subject_id != q.subject_id) continue;
      if (!q.actor_id.empty() && e.event.actor_id != q.actor_id) continue;
      if (!q.type.empty() && e.event.type != q.type) continue;
      if (q.since && e.at < *q.since) continue;
      if (q.until && !(e.at < *q.until)) continue;
      if (q.after && !(std::tie(e.at, e.id) < std::tie(q.after->at, q.after->id))) continue;
      if (static_cast<int>(out.size()) >= q.limit) break;
      out.push_back(e);
    }
    return out;
  }
  Result<std::int64_t> purge_before(TimePoint before) override {
    std::lock_guard lock(mutex_);
    auto n = std::erase_if(events, [&](const auto& e) { return e.at < before; });
    return static_cast<std::int64_t>(n);
  }

  std::mutex mutex_;
  std::vector<audit::StoredEvent> events;
};

}  // namespace latchkey::testing
