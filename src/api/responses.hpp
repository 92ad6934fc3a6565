#pragma once
// Rendering helpers shared by the handlers.

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "http/problem.hpp"
#include "http/router.hpp"
#include "http/types.hpp"
#include "identity/user.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::api {

http::Response json(const http::Context& ctx, http::HttpStatus status, const nlohmann::json& body);
http::Response no_content(const http::Context& ctx);
inline http::Response problem(const http::Context& ctx, const Error& error) {
  return http::problem(ctx.request, error, ctx.request_id);
}
std::string iso8601(TimePoint t);
nlohmann::json user_json(const identity::User& user);

// A user as the admin API and `latchkey user ... --json` show it (no hash).
nlohmann::json admin_user_json(const identity::User& user);
// A session as /api/me/sessions and the admin API list it; `current` marks the caller's own.
nlohmann::json session_json(const sessions::Session& s, bool current);

// The caller's IP and user agent, as sessions and audit events record them.
inline sessions::ClientInfo client_of(const http::Context& ctx) {
  return {ctx.client_ip, std::string(ctx.request[http::Field::user_agent])};
}

// A route handler from a free function over a resource's shared dependencies.
template <typename Deps>
http::Handler bind(std::shared_ptr<Deps> deps, http::Response (*fn)(const http::Context&, Deps&)) {
  return [deps = std::move(deps), fn](http::Context& ctx) { return fn(ctx, *deps); };
}

}  // namespace latchkey::api
