#pragma once
// Persistence port for sessions and refresh tokens. Implemented in store/ and by fakes in tests.

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "sessions/session.hpp"

namespace latchkey::sessions {

struct RevokedSession {
  std::string session_id;
  TimePoint revoked_at{};
};

class SessionRepository {
 public:
  virtual ~SessionRepository() = default;

  // Inserts the session and its first refresh token in one transaction.
  virtual Status create(const Session& session, const RefreshToken& first) = 0;
  virtual Result<std::optional<Session>> find(const std::string& session_id) = 0;
  // Sessions of the user that are not revoked and not expired at `now`, newest first.
  virtual Result<std::vector<Session>> list_active(const std::string& user_id, TimePoint now) = 0;
  virtual Result<std::optional<RefreshToken>> find_refresh(const std::string& hash) = 0;
  // In one transaction: marks `old_hash` rotated (only if it is not rotated yet: compare and
  // set), stores `successor_sealed` on it, inserts `next`, and, when `touch`, updates the
  // session's last_used_at (to `now`), ip and user_agent. Returns false (and changes nothing)
  // when another request rotated `old_hash` first.
  virtual Result<bool> rotate(const std::string& old_hash, const std::string& successor_sealed,
                              const RefreshToken& next, TimePoint now, const std::string& ip,
                              const std::string& user_agent, bool touch) = 0;
  // Sets revoked_at/revoke_reason if not yet revoked. Returns whether it was active before.
  virtual Result<bool> revoke(const std::string& session_id, TimePoint now,
                              const std::string& reason) = 0;
  // Revokes every unrevoked session of the user except `except_session_id`; returns their ids.
  virtual Result<std::vector<std::string>> revoke_all(
      const std::string& user_id, TimePoint now, const std::string& reason,
      const std::optional<std::string>& except_session_id) = 0;
  // Sessions revoked at or after `since` (any order); at most `limit`, most recent first when
  // there are more. For each replica's local copy of the revocation set.
  virtual Result<std::vector<RevokedSession>> revoked_since(TimePoint since, int limit) = 0;
  // Deletes sessions and refresh tokens that expired before `before`. Returns rows removed.
  virtual Result<int> purge_expired(TimePoint before) = 0;
};

}  // namespace latchkey::sessions
