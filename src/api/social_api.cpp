// Social login (issue 5): the provider list, the browser redirects of /start and /callback, and
// the signed-in user's linked accounts under /api/me/identities.
//
// /start and /callback are full-page navigations, so their failures are redirects to the web
// app's login (or, when linking, profile) page with a stable `error` code, never a problem page;
// only a bad return_to (400) and an unknown provider (404) are problem+json.
#include "api/api.hpp"
#include "api/responses.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http/cookies.hpp"
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

constexpr std::string_view kBindingPath = "/api/auth/social";

// The browser-binding cookie of a social login attempt. SameSite=Lax: it must come back on the
// provider's top-level redirect to /callback (Strict would not). Its path is not "/", so the
// __Host- prefix cannot be used; __Secure- still pins Secure.
std::string binding_cookie_name(const CookieOptions& o) {
  return o.secure ? "__Secure-latchkey_social" : "latchkey_social";
}

std::string binding_cookie(const CookieOptions& o, const std::string& value, long long max_age) {
  return http::set_cookie_header(
      {binding_cookie_name(o), value, true, o.secure, "Lax", std::string(kBindingPath), max_age});
}

Response redirect(const Context& ctx, const std::string& location) {
  Response res{HttpStatus::found, ctx.request.version()};
  res.set(http::Field::location, location);
  res.set(http::Field::cache_control, "no-store");
  res.prepare_payload();
  return res;
}

// The web app's error codes for a failed social login. Anything not meant for the user (a
// database outage, a bug) reads as a provider error there and is logged here.
std::string_view redirect_code(const Context& ctx, const Error& e) {
  switch (e.code) {
    case ErrorCode::kSocialCancelled:
    case ErrorCode::kSocialStateInvalid:
    case ErrorCode::kSocialTokenInvalid:
    case ErrorCode::kSocialLinkRequired:
    case ErrorCode::kSocialSignupClosed:
    case ErrorCode::kAccountDisabled:
    case ErrorCode::kIdentityAlreadyLinked:
      if (!e.log_detail.empty()) {
        log::info(
            "social login refused",
            {{"request_id", ctx.request_id}, {"code", code_id(e.code)}, {"detail", e.log_detail}});
      }
      return code_id(e.code);
    case ErrorCode::kAccountPending:
      return code_id(ErrorCode::kAccountDisabled);
    default:
      log::warn(
          "social login failed",
          {{"request_id", ctx.request_id}, {"code", code_id(e.code)}, {"detail", e.log_detail}});
      return code_id(ErrorCode::kSocialProviderError);
  }
}

Response failure_redirect(const Context& ctx, const SocialApiDeps& deps, bool link,
                          const Error& e) {
  return redirect(ctx, deps.public_url + (link ? "/profile" : "/login") +
                           "?error=" + std::string(redirect_code(ctx, e)));
}

std::map<std::string, std::string> query_of(const Context& ctx) {
  return parse_query(ctx.query).value_or(std::map<std::string, std::string>());
}

Response providers(const Context& ctx, SocialApiDeps& deps) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : deps.social.providers()) {
    list.push_back({{"id", p.id}, {"kind", p.kind}, {"name", p.name}});
  }
  return json(ctx, HttpStatus::ok, {{"providers", list}});
}

Response start(const Context& ctx, SocialApiDeps& deps) {
  const std::string& provider = ctx.params.at("provider");
  if (!deps.social.has_provider(provider)) {
    return problem(ctx, Error::make(ErrorCode::kNotFound, "no such provider"));
  }
  auto query = parse_query(ctx.query);
  if (!query) {
    return problem(ctx, Error::on_field(ErrorCode::kInvalidReturnTo, "return_to",
                                        "the query string is malformed"));
  }
  const auto it = query->find("return_to");
  auto started =
      deps.social.start(provider, it == query->end() ? std::string() : it->second, ctx.client_ip);
  if (!started) {
    const auto code = started.error().code;
    if (code == ErrorCode::kInvalidReturnTo || code == ErrorCode::kNotFound ||
        code == ErrorCode::kRateLimited) {
      return problem(ctx, started.error());
    }
    return failure_redirect(ctx, deps, /*link=*/false, started.error());
  }
  auto res = redirect(ctx, started->redirect_url);
  res.insert(http::Field::set_cookie, binding_cookie(deps.cookies, started->binding, 600));
  return res;
}

Response callback(const Context& ctx, SocialApiDeps& deps) {
  const std::string& provider = ctx.params.at("provider");
  if (!deps.social.has_provider(provider)) {
    return problem(ctx, Error::make(ErrorCode::kNotFound, "no such provider"));
  }
  flows::SocialCallback cb;
  cb.query = query_of(ctx);
  cb.binding = http::cookie_value(ctx.request, binding_cookie_name(deps.cookies));
  cb.client = client_of(ctx);
  auto outcome = deps.social.callback(provider, cb);
  Response res = [&] {
    if (outcome.error) return failure_redirect(ctx, deps, outcome.link, *outcome.error);
    if (outcome.challenge) {
      // A second factor is due: the login page finishes it. The one-time token rides in the
      // fragment, which is never sent to a server or written to access logs.
      std::string methods;
      for (const auto& m : outcome.challenge->methods) methods += (methods.empty() ? "" : ",") + m;
      return redirect(ctx, deps.public_url +
                               "/login#mfa_token=" + percent_encode(outcome.challenge->mfa_token) +
                               "&methods=" + percent_encode(methods) +
                               "&expires_in=" + std::to_string(outcome.challenge->expires_in));
    }
    auto ok = redirect(ctx, outcome.return_to);
    if (outcome.tokens) {
      deps.metrics.count_login(true);
      set_session_cookies(ok, deps.cookies, outcome.tokens->refresh_token);
    }
    return ok;
  }();
  res.insert(http::Field::set_cookie, binding_cookie(deps.cookies, "", 0));
  return res;
}

Response list_identities(const Context& ctx, SocialApiDeps& deps) {
  auto rows = deps.social.list(ctx.principal->user_id);
  if (!rows) return problem(ctx, rows.error());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& row : *rows) {
    list.push_back({{"id", row.identity.id},
                    {"provider", row.identity.provider},
                    {"provider_name", row.provider_name},
                    {"email", row.identity.email},
                    {"created_at", iso8601(row.identity.created_at)}});
  }
  return json(ctx, HttpStatus::ok, {{"identities", list}});
}

Response link_identity(const Context& ctx, SocialApiDeps& deps) {
  const std::string& provider = ctx.params.at("provider");
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto return_to = body->string("return_to", {.max = 2048});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto started = deps.social.start(provider, return_to, ctx.client_ip, ctx.principal->user_id);
  if (!started) return problem(ctx, started.error());
  auto res = json(ctx, HttpStatus::ok, {{"redirect_url", started->redirect_url}});
  res.set(http::Field::cache_control, "no-store");
  res.insert(http::Field::set_cookie, binding_cookie(deps.cookies, started->binding, 600));
  return res;
}

Response unlink_identity(const Context& ctx, SocialApiDeps& deps) {
  auto st = deps.social.unlink(ctx.principal->user_id, ctx.params.at("id"), client_of(ctx));
  if (!st) return problem(ctx, st.error());
  return no_content(ctx);
}

}  // namespace

void add_social_routes(http::Router& router, SocialApiDeps d) {
  auto deps = std::make_shared<SocialApiDeps>(std::move(d));
  router.add({Verb::get, "/api/auth/providers", Work::kInline, Auth::kNone, bind(deps, providers)});
  router.add({Verb::get, "/api/auth/social/{provider}/start", Work::kBlocking, Auth::kNone,
              bind(deps, start)});
  router.add({Verb::get, "/api/auth/social/{provider}/callback", Work::kBlocking, Auth::kNone,
              bind(deps, callback)});
  router.add({Verb::get, "/api/me/identities", Work::kBlocking, Auth::kBearer,
              bind(deps, list_identities)});
  router.add({Verb::post, "/api/me/identities/{provider}/link", Work::kBlocking, Auth::kBearer,
              bind(deps, link_identity)});
  router.add({Verb::delete_, "/api/me/identities/{id}", Work::kBlocking, Auth::kBearer,
              bind(deps, unlink_identity)});
}

}  // namespace latchkey::api
