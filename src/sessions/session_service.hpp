#pragma once
// Sessions and refresh-token rotation (DESIGN.md section 4):
// - start(): a login creates a session (its own refresh family) and the first refresh token;
// - refresh(): every use rotates the token; a rotated token presented again revokes the session
//   and is audited, except within `refresh_grace` of its rotation, when the caller gets the same
//   successor (two tabs refreshing at once);
// - end()/end_all(): logout, logout everywhere, password change; revoked ids go to the
//   revocation list so access tokens of those sessions stop working at once.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "identity/user_repository.hpp"
#include "sessions/revocation.hpp"
#include "sessions/session_repository.hpp"
#include "sessions/token_minter.hpp"

namespace latchkey::sessions {

struct SessionOptions {
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};
  std::chrono::seconds session_ttl{90 * 24 * 3600};
  std::chrono::seconds refresh_grace{10};
};

struct ClientInfo {
  std::string ip;
  std::string user_agent;
};

struct Tokens {
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string refresh_token;
  std::string session_id;
  std::string user_id;
};

// The audit event of a successful sign-in by `method` ("password", "sms", "social",
// "email_link"), for SessionService::start: the user acts on their own account.
audit::Event sign_in_event(const identity::User& user, const ClientInfo& client,
                           std::string method);

class SessionService {
 public:
  SessionService(SessionRepository& sessions, identity::UserRepository& users, UnitOfWork& uow,
                 AccessTokenMinter& minter, RevocationList& revocations, audit::AuditSink& audit,
                 const Clock& clock, Random& random, SessionOptions options);

  // Starts a session for `user`. `started`, the audit event of the sign-in, is recorded in the
  // same unit of work (one transaction) with "session_id" added to its details: the session and
  // its event are stored together or not at all, for the cost of one commit.
  Result<Tokens> start(const identity::User& user, std::vector<std::string> amr,
                       const ClientInfo& client,
                       std::optional<audit::Event> started = std::nullopt);
  // A refresh records the session's last use (last_used_at, ip, user_agent) when the IP or user
  // agent changed, or when the recorded use is this old; otherwise it leaves the row alone.
  static constexpr std::chrono::seconds kTouchInterval{60};
  Result<Tokens> refresh(std::string_view refresh_token, const ClientInfo& client);
  // The session a refresh token belongs to (for logout by refresh token); kInvalidRefreshToken
  // when unknown.
  Result<std::string> session_of(std::string_view refresh_token);
  Status end(const std::string& session_id, const std::string& reason);
  // Ends every session of the user except `except`; returns how many ended.
  Result<std::size_t> end_all(const std::string& user_id, const std::string& reason,
                              const std::optional<std::string>& except = std::nullopt);
  Result<std::vector<Session>> list(const std::string& user_id);
  // end() / end_all() for the user's own logout, audited ("logout" once per
  // session that was still active; "logout.all" once per call).
  Status logout(const std::string& session_id, const ClientInfo& client);
  Result<std::size_t> logout_all(const std::string& user_id, const ClientInfo& client);
  // Ends one active session of the user; kNotFound when it is not theirs or not active.
  Status end_own(const std::string& user_id, const std::string& session_id,
                 const std::string& reason = "revoked_by_user");

 private:
  Result<Tokens> issue(const identity::User& user, const Session& session,
                       std::string refresh_token);
  // What a successful rotation hands to issue(), outside the unit of work.
  struct Grant {
    identity::User user;
    Session session;
    std::string token;
  };
  Result<Grant> rotate(std::string_view presented, const ClientInfo& client);
  Result<Grant> reuse_or_grace(const RefreshToken& row, std::string_view presented,
                               const ClientInfo& client);

  SessionRepository& sessions_;
  identity::UserRepository& users_;
  UnitOfWork& uow_;
  AccessTokenMinter& minter_;
  RevocationList& revocations_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  SessionOptions options_;
};

}  // namespace latchkey::sessions
