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

Response mfa_status(const Context& ctx, MeApiDeps& deps) {
  auto st = deps.mfa.status(ctx.principal->user_id);
  if (!st) return problem(ctx, st.error());
  return json(
      ctx, HttpStatus::ok,
      {{"totp", st->totp}, {"sms", st->sms}, {"recovery_codes_left", st->recovery_codes_left}});
}

Response totp_start(const Context& ctx, MeApiDeps& deps) {
  auto e = deps.mfa.start_totp(ctx.principal->user_id);
  if (!e) return problem(ctx, e.error());
  auto res = json(ctx, HttpStatus::ok,
                  {{"secret", e->secret}, {"otpauth_uri", e->otpauth_uri}, {"qr_svg", e->qr_svg}});
  res.set(http::Field::cache_control, "no-store");
  return res;
}

Response totp_confirm(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto code = body->string("code", {.max = 16});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto codes = deps.mfa.confirm_totp(ctx.principal->user_id, code, client_of(ctx));
  if (!codes) return problem(ctx, codes.error());
  auto res = json(ctx, HttpStatus::ok, {{"status", "enabled"}, {"recovery_codes", *codes}});
  res.set(http::Field::cache_control, "no-store");
  return res;
}

Response totp_disable(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto password = body->string("password", {.max = 4096, .allow_control = true});
  auto code = body->string("code", {.max = 32});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto st = deps.mfa.disable_totp(ctx.principal->user_id, password, code, client_of(ctx));
  if (!st) return problem(ctx, st.error());
  return no_content(ctx);
}

Response recovery_codes(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto password = body->string("password", {.max = 4096, .allow_control = true});
  auto code = body->string("code", {.max = 32});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto codes =
      deps.mfa.regenerate_recovery_codes(ctx.principal->user_id, password, code, client_of(ctx));
  if (!codes) return problem(ctx, codes.error());
  auto res = json(ctx, HttpStatus::ok, {{"recovery_codes", *codes}});
  res.set(http::Field::cache_control, "no-store");
  return res;
}

Response phone_start(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto phone = body->string("phone", {.max = 64});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto number = deps.phone.start_verification(ctx.principal->user_id, phone, client_of(ctx));
  if (!number) return problem(ctx, number.error());
  return json(ctx, HttpStatus::accepted, {{"status", "code_sent"}, {"phone", *number}});
}

Response phone_verify(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto code = body->string("code", {.max = 16});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto number = deps.phone.confirm(ctx.principal->user_id, code, client_of(ctx));
  if (!number) return problem(ctx, number.error());
  return json(ctx, HttpStatus::ok, {{"phone", *number}, {"phone_verified", true}});
}

Response phone_delete(const Context& ctx, MeApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto password = body->string("password", {.max = 4096, .allow_control = true});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (auto st = deps.phone.remove(ctx.principal->user_id, password, client_of(ctx)); !st) {
    return problem(ctx, st.error());
  }
  return no_content(ctx);
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
    items.push_back(session_json(s, s.id == ctx.principal->session_id));
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
  router.add({Verb::get, "/api/me/mfa", Work::kBlocking, Auth::kBearer, bind(deps, mfa_status)});
  router.add(
      {Verb::post, "/api/me/mfa/totp", Work::kBlocking, Auth::kBearer, bind(deps, totp_start)});
  router.add({Verb::delete_, "/api/me/mfa/totp", Work::kBlocking, Auth::kBearer,
              bind(deps, totp_disable)});
  router.add({Verb::post, "/api/me/mfa/totp/confirm", Work::kBlocking, Auth::kBearer,
              bind(deps, totp_confirm)});
  router.add({Verb::post, "/api/me/mfa/recovery-codes", Work::kBlocking, Auth::kBearer,
              bind(deps, recovery_codes)});
  router.add(
      {Verb::post, "/api/me/phone", Work::kBlocking, Auth::kBearer, bind(deps, phone_start)});
  router.add(
      {Verb::delete_, "/api/me/phone", Work::kBlocking, Auth::kBearer, bind(deps, phone_delete)});
  router.add({Verb::post, "/api/me/phone/verify", Work::kBlocking, Auth::kBearer,
              bind(deps, phone_verify)});
  router.add(
      {Verb::get, "/api/me/sessions", Work::kBlocking, Auth::kBearer, bind(deps, list_sessions)});
  router.add({Verb::delete_, "/api/me/sessions/{id}", Work::kBlocking, Auth::kBearer,
              bind(deps, delete_session)});
}

}  // namespace latchkey::api
