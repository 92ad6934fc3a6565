#pragma once
// Revoked session ids, so token checks reject a logged-out session at once without the
// database. Two layers:
//  - the KeyValue store (Redis with several replicas), written on revoke and read on a miss, so
//    a revocation on one replica is seen by the others immediately;
//  - a local copy in each replica, filled by its own revocations and by sync() from the
//    sessions table (the housekeeping thread calls it twice a second), so token checks keep
//    working when the KeyValue store is unreachable: they then answer from the local copy,
//    which lags other replicas by at most one sync interval.
// Entries are kept until every access token of the session has expired (access TTL + leeway).

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "kv/key_value.hpp"
#include "sessions/session_repository.hpp"

namespace latchkey::sessions {

class RevocationList {
 public:
  RevocationList(kv::KeyValue& kv, std::chrono::seconds keep_for, const Clock& clock)
      : kv_(kv), keep_for_(keep_for), clock_(clock) {}

  // Records the revocation locally and, best effort, in the KeyValue store. It cannot fail: the
  // caller has already revoked the session in the database, which is what other replicas sync
  // from when the store is unreachable.
  void revoke(const std::string& session_id);
  // True when the session is revoked in the local copy or in the KeyValue store. When the store
  // is unreachable, the local copy answers alone.
  bool is_revoked(const std::string& session_id);

  // Adds the sessions revoked since the last sync (the first sync looks back keep_for) to the
  // local copy and drops entries whose tokens have all expired. Overlaps the previous window by
  // a few seconds so that a revocation committed while the last sync ran is not missed.
  Status sync(SessionRepository& repo);

  std::size_t local_size() const;

 private:
  void remember(const std::string& session_id, TimePoint until);

  kv::KeyValue& kv_;
  std::chrono::seconds keep_for_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TimePoint> local_;  // session id -> keep until
  std::optional<TimePoint> synced_until_;
  TimePoint last_prune_{};
};

}  // namespace latchkey::sessions
