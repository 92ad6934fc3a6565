#pragma once
// Sessions (one per login) and the refresh tokens that keep them alive.

#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace latchkey::sessions {

struct Session {
  std::string id;  // UUIDv7; the `sid` claim
  std::string user_id;
  TimePoint created_at{};
  TimePoint last_used_at{};
  TimePoint expires_at{};        // absolute end of the session (refresh stops working)
  TimePoint auth_time{};         // when the user last proved who they are
  std::vector<std::string> amr;  // e.g. {"pwd"}
  std::string ip;
  std::string user_agent;
  std::optional<TimePoint> revoked_at;
  std::string revoke_reason;  // "logout", "logout_all", "password_change", "reuse", ...

  bool active(TimePoint now) const { return !revoked_at && now < expires_at; }
};

// A refresh token as stored: only its SHA-256 hash. The session is its family: presenting a
// rotated token again (outside the grace window) revokes the session.
struct RefreshToken {
  std::string hash;  // lower-case hex SHA-256 of the opaque token
  std::string session_id;
  std::string user_id;
  TimePoint created_at{};
  TimePoint expires_at{};
  std::optional<TimePoint> rotated_at;  // set when a successor was issued
  std::string successor_sealed;  // successor token encrypted under a key derived from this one
};

}  // namespace latchkey::sessions
