#pragma once
// The HTTP API: thin handlers (parse -> one service call -> render), registered into the router
// with their method, path, work kind and authentication requirement in one table per resource.

#include <functional>
#include <string>

#include "flows/admin/admin_flow.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/mfa/mfa_flow.hpp"
#include "flows/phone/phone_flow.hpp"
#include "flows/recovery/recovery_flow.hpp"
#include "flows/settings/settings_flow.hpp"
#include "flows/signup/signup_flow.hpp"
#include "flows/social/social_flow.hpp"
#include "flows/verification/email_flow.hpp"
#include "http/metrics.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::api {

struct CookieOptions {
  bool secure = true;  // Secure + __Host- prefix; false only for http://localhost development
  std::chrono::seconds refresh_max_age{30 * 24 * 3600};
};

// Verifies a bearer access token (signature, claims, revocation) into a Principal.
using AccessVerifier = std::function<Result<http::Principal>(std::string_view token)>;

struct AuthApiDeps {
  flows::SignupFlow& signup;
  flows::LoginFlow& login;
  sessions::SessionService& sessions;
  flows::EmailFlow& email;
  flows::RecoveryFlow& recovery;
  flows::MfaFlow& mfa;
  flows::PhoneFlow& phone;
  AccessVerifier verify;
  http::Metrics& metrics;
  CookieOptions cookies;
  // The supported mail locale that best matches an Accept-Language header value.
  std::function<std::string(std::string_view)> locale_for;
};

struct MeApiDeps {
  flows::SettingsFlow& settings;
  sessions::SessionService& sessions;
  flows::EmailFlow& email;
  flows::MfaFlow& mfa;
  flows::PhoneFlow& phone;
};

struct WellKnownDeps {
  std::function<std::string()> jwks_json;  // current JWKS document
  std::string issuer;
  std::string public_url;
  std::function<Status()> ready;  // database reachable
  http::Metrics& metrics;
};

void add_auth_routes(http::Router& router, AuthApiDeps deps);
void add_me_routes(http::Router& router, MeApiDeps deps);
void add_well_known_routes(http::Router& router, WellKnownDeps deps);

// /api/admin/*, each route checked against its permission (admin_api.cpp).
struct AdminApiDeps {
  flows::AdminFlow& admin;
};
void add_admin_routes(http::Router& router, AdminApiDeps deps);

// The Authenticator for Auth::kBearer routes: reads `Authorization: Bearer`.
http::Authenticator bearer_authenticator(AccessVerifier verify);

// Cookie-mode sign-in: the refresh token and CSRF cookies, as /api/auth/login sets them.
void set_session_cookies(http::Response& res, const CookieOptions& cookies,
                         const std::string& refresh_token);

// Social login (issue 5): /api/auth/providers, /api/auth/social/{provider}/start|callback and
// /api/me/identities.
struct SocialApiDeps {
  flows::SocialFlow& social;
  CookieOptions cookies;
  std::string public_url;
  http::Metrics& metrics;
};

void add_social_routes(http::Router& router, SocialApiDeps deps);

}  // namespace latchkey::api
