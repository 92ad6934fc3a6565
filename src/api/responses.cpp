#include "api/responses.hpp"

#include <ctime>

namespace latchkey::api {

http::Response json(const http::Context& ctx, http::HttpStatus status, const nlohmann::json& body) {
  http::Response res{status, ctx.request.version()};
  res.set(http::Field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

http::Response no_content(const http::Context& ctx) {
  http::Response res{http::HttpStatus::no_content, ctx.request.version()};
  res.prepare_payload();
  return res;
}

std::string iso8601(TimePoint t) {
  const std::time_t secs = to_unix(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json user_json(const identity::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"state", identity::to_string(u.state)},
          {"email_verified", u.email_verified},
          {"phone", u.phone.empty() ? nlohmann::json(nullptr) : nlohmann::json(u.phone)},
          {"phone_verified", u.phone_verified},
          {"roles", u.roles},
          {"created_at", iso8601(u.created_at)},
          {"updated_at", iso8601(u.updated_at)}};
}

nlohmann::json session_json(const sessions::Session& s, bool current) {
  return {{"id", s.id},
          {"created_at", iso8601(s.created_at)},
          {"last_used_at", iso8601(s.last_used_at)},
          {"expires_at", iso8601(s.expires_at)},
          {"ip", s.ip},
          {"user_agent", s.user_agent},
          {"amr", s.amr},
          {"current", current}};
}

nlohmann::json admin_user_json(const identity::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"status", identity::to_string(u.state)},
          {"email_verified", u.email_verified},
          {"phone", u.phone},
          {"phone_verified", u.phone_verified},
          {"roles", u.roles},
          {"has_password", !u.password_hash.empty()},
          {"created_at", iso8601(u.created_at)},
          {"updated_at", iso8601(u.updated_at)}};
}

}  // namespace latchkey::api
