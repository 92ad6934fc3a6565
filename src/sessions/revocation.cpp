#include "sessions/revocation.hpp"

namespace latchkey::sessions {
namespace {

std::string key_of(const std::string& sid) {
  return "revoked:sid:" + sid;
}

// How far each sync reaches back before the end of the previous one.
constexpr std::chrono::seconds kSyncOverlap{5};
// Revocations read per sync; a burst beyond it (mass logout) is caught by the KeyValue store
// and by the following syncs' overlap only partly, so keep it generous.
constexpr int kSyncLimit = 100000;

}  // namespace

void RevocationList::remember(const std::string& session_id, TimePoint until) {
  std::lock_guard lock(mu_);
  auto& slot = local_[session_id];
  if (slot < until) slot = until;
}

void RevocationList::revoke(const std::string& session_id) {
  remember(session_id, clock_.now() + keep_for_);
  (void)kv_.set(key_of(session_id), "1", keep_for_);
}

bool RevocationList::is_revoked(const std::string& session_id) {
  const TimePoint now = clock_.now();
  {
    std::lock_guard lock(mu_);
    if (auto it = local_.find(session_id); it != local_.end() && now < it->second) return true;
  }
  auto v = kv_.get(key_of(session_id));
  if (!v) return false;  // store unreachable: the local copy (just consulted) answers
  if (!v->has_value()) return false;
  remember(session_id, now + keep_for_);
  return true;
}

Status RevocationList::sync(SessionRepository& repo) {
  const TimePoint now = clock_.now();
  TimePoint since;
  {
    std::lock_guard lock(mu_);
    since = synced_until_ ? *synced_until_ - kSyncOverlap : now - keep_for_;
  }
  auto revoked = repo.revoked_since(since, kSyncLimit);
  if (!revoked) return revoked.error();
  {
    std::lock_guard lock(mu_);
    for (const auto& r : *revoked) {
      const TimePoint until = r.revoked_at + keep_for_;
      if (!(now < until)) continue;
      auto& slot = local_[r.session_id];
      if (slot < until) slot = until;
    }
    synced_until_ = now;
    if (now - last_prune_ >= std::chrono::seconds(10)) {
      std::erase_if(local_, [&](const auto& entry) { return !(now < entry.second); });
      last_prune_ = now;
    }
  }
  return {};
}

std::size_t RevocationList::local_size() const {
  std::lock_guard lock(mu_);
  return local_.size();
}

}  // namespace latchkey::sessions
