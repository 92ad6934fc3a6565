// /api/me/*: the signed-in user's own account. Every route needs a bearer access token.
#include "api/api.hpp"
#include "api/responses.hpp"
#include "common/ids.hpp"
#include "http/json_body.hpp"

namespace latchkey::api {
namespace {

using http::Auth;
using http::Context;
using http::HttpStatus;
using http::JsonBody;
using http::Response;
using http::Verb;
using http::Work;

Response get_me(const Context& ctx, MeApiDeps& deps) {
  auto user = deps.settings.profile(ctx.principal->user_id);
  if (!user) return problem(ctx, user.error());
  return json(ctx, HttpStatus::ok, user_json(*user));
}

Response patch_me(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto name = body->string("name", {.max = 100});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto user = deps.settings.update_name(ctx.principal->user_id, name);
  if (!user) return problem(ctx, user.error());
  return json(ctx, HttpStatus::ok, user_json(*user));
}

Response change_password(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto current = body->string("current", {.max = 4096, .allow_control = true});
  auto next = body->string("new", {.max = 4096, .allow_control = true});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto st = deps.settings.change_password(ctx.principal->user_id, ctx.principal->session_id,
                                          current, next, client_of(ctx));
  if (!st) return problem(ctx, st.error());
  return no_content(ctx);
}

// Starts a change of address: confirmed by following the link mailed to the new address.
Response change_email(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto new_email = body->string("new_email", {.max = 320});
  auto password = body->string("password", {.max = 4096, .allow_control = true});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto pending =
      deps.email.start_change(ctx.principal->user_id, new_email, password, client_of(ctx));
  if (!pending) return problem(ctx, pending.error());
  return json(ctx, http::HttpStatus::accepted,
              {{"status", "verification_sent"},
               {"pending_email", *pending},
               {"message", "Follow the link we sent to the new address to finish the change."}});
}

Response delete_me(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto password = body->string("password", {.max = 4096, .allow_control = true});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto st = deps.settings.delete_account(ctx.principal->user_id, password, client_of(ctx));
  if (!st) return problem(ctx, st.error());
  return no_content(ctx);
}

Response list_sessions(const Context& ctx, MeApiDeps& deps) {
  auto list = deps.sessions.list(ctx.principal->user_id);
  if (!list) return problem(ctx, list.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& s : *list) {
    items.push_back({{"id", s.id},
                     {"created_at", iso8601(s.created_at)},
                     {"last_used_at", iso8601(s.last_used_at)},
                     {"expires_at", iso8601(s.expires_at)},
                     {"ip", s.ip},
                     {"user_agent", s.user_agent},
                     {"amr", s.amr},
                     {"current", s.id == ctx.principal->session_id}});
  }
  return json(ctx, HttpStatus::ok, {{"sessions", items}});
}

Response delete_session(const Context& ctx, MeApiDeps& deps) {
  const auto& id = ctx.params.at("id");
  if (!is_uuid(id)) return problem(ctx, Error::make(ErrorCode::kNotFound, "no such session"));
  auto st = deps.sessions.end_own(ctx.principal->user_id, id);
  if (!st) return problem(ctx, st.error());
  return no_content(ctx);
}

}  // namespace

void add_me_routes(http::Router& router, MeApiDeps d) {
  auto deps = std::make_shared<MeApiDeps>(std::move(d));
  router.add({Verb::get, "/api/me", Work::kBlocking, Auth::kBearer, bind(deps, get_me)});
  router.add({Verb::patch, "/api/me", Work::kBlocking, Auth::kBearer, bind(deps, patch_me)});
  router.add({Verb::delete_, "/api/me", Work::kBlocking, Auth::kBearer, bind(deps, delete_me)});
  router.add({Verb::post, "/api/me/password", Work::kBlocking, Auth::kBearer,
              bind(deps, change_password)});
  router.add(
      {Verb::post, "/api/me/email", Work::kBlocking, Auth::kBearer, bind(deps, change_email)});
  router.add(
      {Verb::get, "/api/me/sessions", Work::kBlocking, Auth::kBearer, bind(deps, list_sessions)});
  router.add({Verb::delete_, "/api/me/sessions/{id}", Work::kBlocking, Auth::kBearer,
              bind(deps, delete_session)});
}

}  // namespace latchkey::api
