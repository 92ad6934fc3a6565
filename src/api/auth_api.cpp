// /api/auth/*: sign-up, login, refresh, logout, logout everywhere, and the gateway check.
#include <algorithm>
#include <boost/algorithm/string/join.hpp>

#include "api/api.hpp"
#include "api/responses.hpp"
#include "common/encoding.hpp"
#include "common/random.hpp"
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

struct CookieNames {
  std::string refresh, csrf;
};

CookieNames cookie_names(const CookieOptions& o) {
  // The __Host- prefix pins the cookie to this host, path / and Secure (no cookie tossing from
  // subdomains). Plain http://localhost development cannot use it.
  return o.secure ? CookieNames{"__Host-latchkey_refresh", "__Host-latchkey_csrf"}
                  : CookieNames{"latchkey_refresh", "latchkey_csrf"};
}

// `mode` says where the refresh token goes: "cookie" (browsers) or "bearer" (apps, default).
Result<bool> read_cookie_mode(JsonBody& body) {
  auto mode = body.optional_string("mode", {.required = false, .max = 16});
  if (!mode) return false;
  if (*mode == "cookie") return true;
  if (*mode == "bearer") return false;
  return Error::on_field(ErrorCode::kInvalidField, "mode", "mode must be \"cookie\" or \"bearer\"");
}

Response token_response(const Context& ctx, const AuthApiDeps& deps, const sessions::Tokens& t,
                        bool cookie_mode) {
  nlohmann::json body = {
      {"access_token", t.access_token}, {"token_type", "Bearer"}, {"expires_in", t.expires_in}};
  if (!cookie_mode) body["refresh_token"] = t.refresh_token;
  auto res = json(ctx, HttpStatus::ok, body);
  res.set(http::Field::cache_control, "no-store");
  res.set(http::Field::pragma, "no-cache");
  if (cookie_mode) set_session_cookies(res, deps.cookies, t.refresh_token);
  return res;
}

// Tokens, or {mfa_required, mfa_token, methods, expires_in} when a second factor is needed (no
// tokens, no cookies).
Response login_response(const Context& ctx, const AuthApiDeps& deps,
                        const flows::LoginOutcome& outcome, bool cookie_mode) {
  if (outcome.tokens) return token_response(ctx, deps, *outcome.tokens, cookie_mode);
  const auto& c = *outcome.challenge;
  auto res = json(ctx, HttpStatus::ok,
                  {{"mfa_required", true},
                   {"mfa_token", c.mfa_token},
                   {"methods", c.methods},
                   {"expires_in", c.expires_in}});
  res.set(http::Field::cache_control, "no-store");
  return res;
}

void clear_cookies(Response& res, const CookieOptions& o) {
  const auto names = cookie_names(o);
  res.insert(http::Field::set_cookie,
             http::set_cookie_header({names.refresh, "", true, o.secure, "Strict", "/", 0}));
  res.insert(http::Field::set_cookie,
             http::set_cookie_header({names.csrf, "", false, o.secure, "Strict", "/", 0}));
}

// Requests that rely on the refresh cookie must prove they come from our own pages: the
// X-CSRF-Token header must equal the CSRF cookie (double submit; the cookie is SameSite=Strict).
Status check_csrf(const Context& ctx, const CookieOptions& o) {
  const auto names = cookie_names(o);
  auto cookie = http::cookie_value(ctx.request, names.csrf);
  auto header = ctx.request["X-CSRF-Token"];
  if (!cookie || cookie->empty() || header.empty() || !constant_time_equal(*cookie, header)) {
    return Error::make(ErrorCode::kCsrfFailed,
                       "missing or mismatched X-CSRF-Token header for a cookie-authenticated "
                       "request");
  }
  return {};
}

std::optional<std::string> bearer_token(const Context& ctx) {
  auto h = ctx.request[http::Field::authorization];
  if (h.size() < 7 || !boost::beast::iequals(h.substr(0, 7), "Bearer ")) return std::nullopt;
  auto token = h.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

Response signup(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  flows::SignupRequest req;
  req.email = body->string("email", {.max = 320});
  req.password = body->string("password", {.max = 4096, .allow_control = true});
  req.name = body->string("name", {.required = false, .max = 100});
  req.client = client_of(ctx);
  req.locale = deps.locale_for(ctx.request[http::Field::accept_language]);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (auto st = flows::check_password_length(req.password); !st) return problem(ctx, st.error());
  auto outcome = deps.signup.run(req);
  if (!outcome) return problem(ctx, outcome.error());
  return json(ctx, HttpStatus::created,
              {{"status", "ok"},
               {"verification_required", outcome->verification_required},
               {"message", outcome->verification_required
                               ? "If the address can be used, we sent a link to verify it."
                               : "Account created. You can sign in now."}});
}

Response login(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  flows::LoginRequest req;
  req.email = body->string("email", {.max = 320});
  req.password = body->string("password", {.max = 4096, .allow_control = true});
  auto cookie_mode = read_cookie_mode(*body);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!cookie_mode) return problem(ctx, cookie_mode.error());
  req.client = client_of(ctx);
  auto outcome = deps.login.run(req);
  if (outcome) {
    deps.metrics.count_login(true);
    return login_response(ctx, deps, *outcome, *cookie_mode);
  }
  if (outcome.error().code == ErrorCode::kInvalidCredentials) deps.metrics.count_login(false);
  return problem(ctx, outcome.error());
}

Response refresh(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request, /*allow_empty=*/true);
  if (!body) return problem(ctx, body.error());
  auto given = body->optional_string("refresh_token", {.required = false, .max = 256});
  auto cookie_mode = read_cookie_mode(*body);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!cookie_mode) return problem(ctx, cookie_mode.error());
  std::string token;
  bool use_cookie = false;
  if (given) {
    token = *given;
  } else {
    auto cookie = http::cookie_value(ctx.request, cookie_names(deps.cookies).refresh);
    if (!cookie) {
      return problem(ctx, Error::make(ErrorCode::kUnauthenticated, "no refresh token given"));
    }
    if (auto st = check_csrf(ctx, deps.cookies); !st) return problem(ctx, st.error());
    token = *cookie;
    use_cookie = true;
  }
  auto tokens = deps.sessions.refresh(token, client_of(ctx));
  if (!tokens) {
    auto res = problem(ctx, tokens.error());
    // Only a dead session loses its cookies; a passing failure (database, overload) keeps them.
    const auto code = tokens.error().code;
    if (use_cookie &&
        (code == ErrorCode::kInvalidRefreshToken || code == ErrorCode::kRefreshTokenReused ||
         code == ErrorCode::kAccountDisabled || code == ErrorCode::kAccountPending)) {
      clear_cookies(res, deps.cookies);
    }
    return res;
  }
  return token_response(ctx, deps, *tokens, use_cookie || *cookie_mode);
}

Response logout(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request, /*allow_empty=*/true);
  if (!body) return problem(ctx, body.error());
  auto given = body->optional_string("refresh_token", {.required = false, .max = 256});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  std::optional<std::string> session_id;
  bool had_cookie = false;
  if (given) {
    if (auto sid = deps.sessions.session_of(*given)) session_id = *sid;
  } else if (auto cookie = http::cookie_value(ctx.request, cookie_names(deps.cookies).refresh)) {
    if (auto st = check_csrf(ctx, deps.cookies); !st) return problem(ctx, st.error());
    had_cookie = true;
    if (auto sid = deps.sessions.session_of(*cookie)) session_id = *sid;
  } else if (auto bearer = bearer_token(ctx)) {
    auto principal = deps.verify(*bearer);
    if (!principal) return problem(ctx, principal.error());
    session_id = principal->session_id;
  } else {
    return problem(ctx, Error::make(ErrorCode::kUnauthenticated,
                                    "give a refresh token, the session cookie or a bearer token"));
  }
  // Logging out an unknown or already-ended session succeeds: logout is idempotent.
  if (session_id) {
    if (auto st = deps.sessions.logout(*session_id, client_of(ctx)); !st) {
      return problem(ctx, st.error());
    }
  }
  auto res = no_content(ctx);
  if (had_cookie) clear_cookies(res, deps.cookies);
  return res;
}

Response logout_all(const Context& ctx, AuthApiDeps& deps) {
  auto ended = deps.sessions.logout_all(ctx.principal->user_id, client_of(ctx));
  if (!ended) return problem(ctx, ended.error());
  auto res = no_content(ctx);
  clear_cookies(res, deps.cookies);
  return res;
}

// For nginx auth_request and other gateways. Never touches the database.
Response check(const Context& ctx, AuthApiDeps& deps) {
  auto token = bearer_token(ctx);
  if (!token) {
    return problem(ctx, Error::make(ErrorCode::kUnauthenticated, "no bearer token given"));
  }
  auto principal = deps.verify(*token);
  if (!principal) return problem(ctx, principal.error());
  auto res = no_content(ctx);
  res.result(HttpStatus::ok);
  res.set("X-Auth-Subject", principal->user_id);
  res.set("X-Auth-Email", principal->email);
  res.set("X-Auth-Roles", boost::algorithm::join(principal->roles, ","));
  res.set("X-Auth-Session", principal->session_id);
  res.prepare_payload();
  return res;
}

// A 6-digit code, exactly.
Status check_code(const std::string& code) {
  const bool ok = code.size() == 6 && std::all_of(code.begin(), code.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) return Error::on_field(ErrorCode::kInvalidField, "code", "the code is 6 digits");
  return {};
}

// Answers that must not tell whether the address has an account.
Response accepted(const Context& ctx, std::string_view message) {
  return json(ctx, HttpStatus::accepted, {{"status", "accepted"}, {"message", message}});
}

// {token} from the link, or {email, code} from an app.
Response verify_email(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  flows::VerifyEmailRequest req;
  auto token = body->optional_string("token", {.required = false, .max = 256});
  auto email = body->optional_string("email", {.required = false, .max = 320});
  auto code = body->optional_string("code", {.required = false, .max = 16});
  auto cookie_mode = read_cookie_mode(*body);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!cookie_mode) return problem(ctx, cookie_mode.error());
  if (token && (email || code)) {
    return problem(ctx, Error::on_field(ErrorCode::kInvalidField, "token",
                                        "give either a token or an e-mail address and a code"));
  }
  if (token) {
    if (token->empty()) {
      return problem(ctx, Error::on_field(ErrorCode::kInvalidField, "token", "token is empty"));
    }
    req.token = *token;
  } else {
    if (!email) {
      return problem(ctx, Error::on_field(ErrorCode::kInvalidField, "email",
                                          "give a token, or an e-mail address and a code"));
    }
    if (!code) {
      return problem(ctx, Error::on_field(ErrorCode::kInvalidField, "code", "code is required"));
    }
    if (auto st = check_code(*code); !st) return problem(ctx, st.error());
    req.email = *email;
    req.code = *code;
  }
  req.client = client_of(ctx);
  auto done = deps.email.verify(req);
  if (!done) return problem(ctx, done.error());
  const char* purpose =
      done->purpose == flows::Purpose::kChangeEmail ? "change_email" : "verify_email";
  if (done->tokens) {
    auto res = token_response(ctx, deps, *done->tokens, *cookie_mode);
    auto payload = nlohmann::json::parse(res.body());
    payload["status"] = "verified";
    payload["email"] = done->email;
    payload["purpose"] = purpose;
    res.body() = payload.dump();
    res.prepare_payload();
    return res;
  }
  return json(ctx, HttpStatus::ok,
              {{"status", "verified"}, {"email", done->email}, {"purpose", purpose}});
}

Response resend_verification(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto email = body->string("email", {.max = 320});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (auto st = deps.email.resend(email, client_of(ctx)); !st) return problem(ctx, st.error());
  return accepted(ctx,
                  "If the address has an account waiting for verification, we sent a new link.");
}

Response forgot_password(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto email = body->string("email", {.max = 320});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (auto st = deps.recovery.forgot(email, client_of(ctx)); !st) {
    return problem(ctx, st.error());
  }
  return accepted(ctx, "If the address has an account, we sent a link to reset the password.");
}

Response reset_password(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto token = body->string("token", {.max = 256});
  auto password = body->string("password", {.max = 4096, .allow_control = true});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (auto st = deps.recovery.reset(token, password, client_of(ctx)); !st) {
    return problem(ctx, st.error());
  }
  return json(ctx, HttpStatus::ok,
              {{"status", "password_reset"},
               {"message", "Your password was changed and every session was signed out."}});
}

Response mfa_verify(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto token = body->string("mfa_token", {.max = 128});
  auto method = body->string("method", {.max = 32});
  auto code = body->string("code", {.max = 32});
  auto cookie_mode = read_cookie_mode(*body);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!cookie_mode) return problem(ctx, cookie_mode.error());
  auto tokens = deps.mfa.verify(token, method, code, client_of(ctx));
  if (!tokens) return problem(ctx, tokens.error());
  deps.metrics.count_login(true);
  return token_response(ctx, deps, *tokens, *cookie_mode);
}

Response mfa_sms(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto token = body->string("mfa_token", {.max = 128});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (auto st = deps.mfa.send_sms(token, client_of(ctx)); !st) return problem(ctx, st.error());
  return json(ctx, HttpStatus::accepted, {{"status", "code_sent"}});
}

Response sms_start(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto phone = body->string("phone", {.max = 64});
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto st = deps.phone.start_login(
      phone, deps.locale_for(ctx.request[http::Field::accept_language]), client_of(ctx));
  if (!st) return problem(ctx, st.error());
  return accepted(ctx, "If the number can sign in, we sent it a code.");
}

Response sms_verify(const Context& ctx, AuthApiDeps& deps) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto phone = body->string("phone", {.max = 64});
  auto code = body->string("code", {.max = 16});
  auto cookie_mode = read_cookie_mode(*body);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!cookie_mode) return problem(ctx, cookie_mode.error());
  if (auto st = check_code(code); !st) return problem(ctx, st.error());
  auto outcome = deps.phone.finish_login(
      phone, code, deps.locale_for(ctx.request[http::Field::accept_language]), client_of(ctx));
  if (!outcome) return problem(ctx, outcome.error());
  deps.metrics.count_login(true);
  return login_response(ctx, deps, *outcome, *cookie_mode);
}

}  // namespace

void set_session_cookies(http::Response& res, const CookieOptions& cookies,
                         const std::string& refresh_token) {
  const auto names = cookie_names(cookies);
  const auto max_age = cookies.refresh_max_age.count();
  thread_local OsRandom random;
  res.insert(http::Field::set_cookie,
             http::set_cookie_header(
                 {names.refresh, refresh_token, true, cookies.secure, "Strict", "/", max_age}));
  res.insert(http::Field::set_cookie,
             http::set_cookie_header(
                 {names.csrf, random.token(24), false, cookies.secure, "Strict", "/", max_age}));
}

http::Authenticator bearer_authenticator(AccessVerifier verify) {
  return [verify = std::move(verify)](const Context& ctx) -> Result<http::Principal> {
    auto token = bearer_token(ctx);
    if (!token) {
      return Error::make(ErrorCode::kUnauthenticated, "this endpoint needs a bearer access token");
    }
    return verify(*token);
  };
}

void add_auth_routes(http::Router& router, AuthApiDeps d) {
  auto deps = std::make_shared<AuthApiDeps>(std::move(d));
  router.add({Verb::post, "/api/auth/signup", Work::kHashing, Auth::kNone, bind(deps, signup)});
  router.add({Verb::post, "/api/auth/login", Work::kHashing, Auth::kNone, bind(deps, login)});
  router.add({Verb::post, "/api/auth/refresh", Work::kBlocking, Auth::kNone, bind(deps, refresh)});
  router.add({Verb::post, "/api/auth/logout", Work::kBlocking, Auth::kNone, bind(deps, logout)});
  router.add(
      {Verb::post, "/api/auth/logout-all", Work::kBlocking, Auth::kBearer, bind(deps, logout_all)});
  router.add({Verb::get, "/api/auth/check", Work::kInline, Auth::kNone, bind(deps, check)});
  router.add(
      {Verb::post, "/api/auth/mfa/verify", Work::kBlocking, Auth::kNone, bind(deps, mfa_verify)});
  router.add({Verb::post, "/api/auth/mfa/sms", Work::kBlocking, Auth::kNone, bind(deps, mfa_sms)});
  router.add(
      {Verb::post, "/api/auth/sms/start", Work::kBlocking, Auth::kNone, bind(deps, sms_start)});
  router.add(
      {Verb::post, "/api/auth/sms/verify", Work::kBlocking, Auth::kNone, bind(deps, sms_verify)});
  router.add({Verb::post, "/api/auth/verify-email", Work::kBlocking, Auth::kNone,
              bind(deps, verify_email)});
  router.add({Verb::post, "/api/auth/verify-email/resend", Work::kBlocking, Auth::kNone,
              bind(deps, resend_verification)});
  router.add({Verb::post, "/api/auth/password/forgot", Work::kBlocking, Auth::kNone,
              bind(deps, forgot_password)});
  router.add({Verb::post, "/api/auth/password/reset", Work::kBlocking, Auth::kNone,
              bind(deps, reset_password)});
}

}  // namespace latchkey::api
