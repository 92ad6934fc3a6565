#pragma once
// Rendering helpers shared by the handlers.

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "http/problem.hpp"
#include "http/types.hpp"
#include "identity/user.hpp"

namespace latchkey::api {

http::Response json(const http::Context& ctx, http::HttpStatus status, const nlohmann::json& body);
http::Response no_content(const http::Context& ctx);
inline http::Response problem(const http::Context& ctx, const Error& error) {
  return http::problem(ctx.request, error, ctx.request_id);
}
std::string iso8601(TimePoint t);
nlohmann::json user_json(const identity::User& user);

}  // namespace latchkey::api
