#include "sessions/session_service.hpp"

#include <algorithm>

#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "sessions/successor_seal.hpp"

namespace latchkey::sessions {
namespace {

constexpr std::size_t kRefreshTokenBytes = 32;  // 256 bits
constexpr std::size_t kMaxRefreshTokenLength = 128;

// Failures of the database itself (as opposed to refusals of the request): they roll back.
bool is_storage_failure(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kInternal ||
         code == ErrorCode::kConflict;
}

Error invalid_refresh() {
  return Error::make(ErrorCode::kInvalidRefreshToken, "the refresh token is invalid or expired");
}

}  // namespace

audit::Event sign_in_event(const identity::User& user, const ClientInfo& client,
                           std::string method) {
  return {.type = "login",
          .outcome = "success",
          .actor_id = user.id,
          .subject_id = user.id,
          .ip = client.ip,
          .user_agent = client.user_agent,
          .details = {{"method", std::move(method)}}};
}

SessionService::SessionService(SessionRepository& sessions, identity::UserRepository& users,
                               UnitOfWork& uow, AccessTokenMinter& minter,
                               RevocationList& revocations, audit::AuditSink& audit,
                               const Clock& clock, Random& random, SessionOptions options)
    : sessions_(sessions),
      users_(users),
      uow_(uow),
      minter_(minter),
      revocations_(revocations),
      audit_(audit),
      clock_(clock),
      random_(random),
      options_(options) {}

Result<Tokens> SessionService::issue(const identity::User& user, const Session& session,
                                     std::string refresh_token) {
  AccessGrant grant{user.id,
                    session.id,
                    user.email,
                    user.email_verified,
                    user.roles,
                    session.amr,
                    to_unix(session.auth_time)};
  auto minted = minter_.mint(grant);
  if (!minted) return minted.error();
  return Tokens{std::move(minted->token), minted->expires_in, std::move(refresh_token), session.id,
                user.id};
}

Result<Tokens> SessionService::start(const identity::User& user, std::vector<std::string> amr,
                                     const ClientInfo& client,
                                     std::optional<audit::Event> started) {
  const auto now = clock_.now();
  Session s;
  s.id = new_uuid_v7(clock_, random_);
  s.user_id = user.id;
  s.created_at = s.last_used_at = s.auth_time = now;
  s.expires_at = now + options_.session_ttl;
  s.amr = std::move(amr);
  s.ip = client.ip.substr(0, 64);
  s.user_agent = client.user_agent.substr(0, 512);
  // A fresh, unguessable token at every login: nothing from before the login is reused.
  std::string token = random_.token(kRefreshTokenBytes);
  RefreshToken rt;
  rt.hash = sha256_hex(token);
  rt.session_id = s.id;
  rt.user_id = user.id;
  rt.created_at = now;
  rt.expires_at = std::min(now + options_.refresh_ttl, s.expires_at);
  if (started) started->details["session_id"] = s.id;
  auto stored = uow_.run([&]() -> Status {
    // The event first: where a failed statement fails the rest of the transaction
    // (PostgreSQL, whose COMMIT then quietly rolls back), the session fails with it, rather than
    // tokens being handed out for a session that was never stored.
    if (started) audit_.record(*started);
    return sessions_.create(s, rt);
  });
  if (!stored) return stored.error();
  return issue(user, s, std::move(token));
}

Result<std::string> SessionService::session_of(std::string_view refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > kMaxRefreshTokenLength) {
    return invalid_refresh();
  }
  auto row = sessions_.find_refresh(sha256_hex(refresh_token));
  if (!row) return row.error();
  if (!*row) return invalid_refresh();
  return (*row)->session_id;
}

Result<Tokens> SessionService::refresh(std::string_view presented, const ClientInfo& client) {
  if (presented.empty() || presented.size() > kMaxRefreshTokenLength) return invalid_refresh();
  // Reads and rotation in one unit of work (one transaction); the signature comes after it, so
  // the database is not held while the access token is signed. A refusal still commits what it
  // wrote (the revocation of a reused family), so only storage failures roll back.
  std::optional<Result<Grant>> outcome;
  auto st = uow_.run([&]() -> Status {
    outcome.emplace(rotate(presented, client));
    if (!*outcome && is_storage_failure(outcome->error().code)) return outcome->error();
    return {};
  });
  if (!st) return st.error();
  if (!*outcome) return outcome->error();
  Grant& grant = **outcome;
  return issue(grant.user, grant.session, std::move(grant.token));
}

Result<SessionService::Grant> SessionService::rotate(std::string_view presented,
                                                     const ClientInfo& client) {
  const auto now = clock_.now();
  const std::string hash = sha256_hex(presented);
  auto found = sessions_.find_refresh(hash);
  if (!found) return found.error();
  if (!*found) return invalid_refresh();
  const RefreshToken row = **found;
  if (now >= row.expires_at) return invalid_refresh();
  if (row.rotated_at) return reuse_or_grace(row, presented, client);

  auto session = sessions_.find(row.session_id);
  if (!session) return session.error();
  if (!*session || !(*session)->active(now)) return invalid_refresh();
  auto user = users_.find_by_id(row.user_id);
  if (!user) return user.error();
  if (!*user) return invalid_refresh();
  if ((*user)->state != identity::AccountState::kActive) {
    if (auto ended = end(row.session_id, "account_inactive"); !ended) return ended.error();
    return Error::make((*user)->state == identity::AccountState::kDisabled
                           ? ErrorCode::kAccountDisabled
                           : ErrorCode::kAccountPending,
                       "the account cannot sign in");
  }

  std::string next_token = random_.token(kRefreshTokenBytes);
  RefreshToken next;
  next.hash = sha256_hex(next_token);
  next.session_id = row.session_id;
  next.user_id = row.user_id;
  next.created_at = now;
  next.expires_at = std::min(now + options_.refresh_ttl, (*session)->expires_at);
  const std::string sealed = seal_successor(next_token, presented, random_);
  const std::string ip = client.ip.substr(0, 64);
  const std::string user_agent = client.user_agent.substr(0, 512);
  const Session& current = **session;
  // The session's last use is written at most once per kTouchInterval while the client's IP and
  // user agent stay the same: a refresh writes one row less, and the sessions list is still
  // right to the minute.
  const bool touch = now - current.last_used_at >= kTouchInterval || current.ip != ip ||
                     current.user_agent != user_agent;
  auto rotated = sessions_.rotate(hash, sealed, next, now, ip, user_agent, touch);
  if (!rotated) return rotated.error();
  if (!*rotated) {
    // Another request rotated this token a moment ago: treat it as a concurrent refresh.
    auto again = sessions_.find_refresh(hash);
    if (!again) return again.error();
    if (!*again || !(*again)->rotated_at) return invalid_refresh();
    return reuse_or_grace(**again, presented, client);
  }
  return Grant{std::move(**user), std::move(**session), std::move(next_token)};
}

Result<SessionService::Grant> SessionService::reuse_or_grace(const RefreshToken& row,
                                                             std::string_view presented,
                                                             const ClientInfo& client) {
  const auto now = clock_.now();
  // Invariant: a rotated token yields its successor only within the grace window, only while
  // the session is active, and only if the successor itself is still current.
  if (now - *row.rotated_at <= options_.refresh_grace && !row.successor_sealed.empty()) {
    auto successor = open_successor(row.successor_sealed, presented);
    if (successor) {
      auto next = sessions_.find_refresh(sha256_hex(*successor));
      if (!next) return next.error();
      auto session = sessions_.find(row.session_id);
      if (!session) return session.error();
      if (*next && !(*next)->rotated_at && *session && (*session)->active(now)) {
        auto user = users_.find_by_id(row.user_id);
        if (!user) return user.error();
        if (*user && (*user)->state == identity::AccountState::kActive) {
          return Grant{std::move(**user), std::move(**session), std::move(*successor)};
        }
      }
    }
  }
  // Reuse outside the grace window: someone holds a stolen copy. End the whole family.
  auto was_active = sessions_.revoke(row.session_id, now, "refresh_reuse");
  if (!was_active) return was_active.error();
  revocations_.revoke(row.session_id);
  audit_.record({.type = "refresh.reuse_detected",
                 .outcome = "failure",
                 .subject_id = row.user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent,
                 .details = {{"session_id", row.session_id}}});
  return Error::make(ErrorCode::kRefreshTokenReused,
                     "this refresh token was already used; the session has been ended");
}

Status SessionService::end(const std::string& session_id, const std::string& reason) {
  auto r = sessions_.revoke(session_id, clock_.now(), reason);
  if (!r) return r.error();
  revocations_.revoke(session_id);
  return {};
}

Result<std::size_t> SessionService::end_all(const std::string& user_id, const std::string& reason,
                                            const std::optional<std::string>& except) {
  auto ids = sessions_.revoke_all(user_id, clock_.now(), reason, except);
  if (!ids) return ids.error();
  for (const auto& id : *ids) revocations_.revoke(id);
  return ids->size();
}

Status SessionService::logout(const std::string& session_id, const ClientInfo& client) {
  auto s = sessions_.find(session_id);
  if (!s) return s.error();
  auto revoked = sessions_.revoke(session_id, clock_.now(), "logout");
  if (!revoked) return revoked.error();
  revocations_.revoke(session_id);
  if (*revoked && *s) {
    audit_.record({.type = "logout",
                   .outcome = "success",
                   .actor_id = (*s)->user_id,
                   .subject_id = (*s)->user_id,
                   .ip = client.ip,
                   .user_agent = client.user_agent,
                   .details = {{"session_id", session_id}}});
  }
  return {};
}

Result<std::size_t> SessionService::logout_all(const std::string& user_id,
                                               const ClientInfo& client) {
  auto ended = end_all(user_id, "logout_all");
  if (!ended) return ended;
  audit_.record({.type = "logout.all",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent,
                 .details = {{"sessions", *ended}}});
  return ended;
}

Result<std::vector<Session>> SessionService::list(const std::string& user_id) {
  return sessions_.list_active(user_id, clock_.now());
}

Status SessionService::end_own(const std::string& user_id, const std::string& session_id,
                               const std::string& reason) {
  auto s = sessions_.find(session_id);
  if (!s) return s.error();
  if (!*s || (*s)->user_id != user_id || !(*s)->active(clock_.now())) {
    return Error::make(ErrorCode::kNotFound, "no such session");
  }
  return end(session_id, reason);
}

}  // namespace latchkey::sessions
