// Discovery and operations: JWKS, OpenID configuration, health, readiness, metrics.
#include "api/api.hpp"
#include "api/responses.hpp"

namespace latchkey::api {
namespace {

using http::Auth;
using http::Context;
using http::HttpStatus;
using http::Response;
using http::Verb;
using http::Work;

}  // namespace

void add_well_known_routes(http::Router& router, WellKnownDeps d) {
  auto deps = std::make_shared<WellKnownDeps>(std::move(d));
  router.add(
      {Verb::get, "/.well-known/jwks.json", Work::kInline, Auth::kNone, [deps](Context& ctx) {
         Response res{HttpStatus::ok, ctx.request.version()};
         res.set(http::Field::content_type, "application/jwk-set+json");
         res.set(http::Field::cache_control, "public, max-age=300");
         res.body() = deps->jwks_json();
         res.prepare_payload();
         return res;
       }});
  router.add({Verb::get, "/.well-known/openid-configuration", Work::kInline, Auth::kNone,
              [deps](Context& ctx) {
                auto res =
                    json(ctx, HttpStatus::ok,
                         {{"issuer", deps->issuer},
                          {"jwks_uri", deps->public_url + "/.well-known/jwks.json"},
                          {"token_endpoint", deps->public_url + "/api/auth/login"},
                          {"grant_types_supported", {"password", "refresh_token"}},
                          {"response_types_supported", nlohmann::json::array()},
                          {"subject_types_supported", {"public"}},
                          {"id_token_signing_alg_values_supported", {"RS256", "ES256", "EdDSA"}},
                          {"claims_supported",
                           {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "roles", "amr",
                            "auth_time", "email", "email_verified"}}});
                res.set(http::Field::cache_control, "public, max-age=300");
                return res;
              }});
  router.add({Verb::get, "/healthz", Work::kInline, Auth::kNone, [](Context& ctx) {
                return json(ctx, HttpStatus::ok, {{"status", "ok"}});
              }});
  router.add({Verb::get, "/readyz", Work::kBlocking, Auth::kNone, [deps](Context& ctx) {
                auto st = deps->ready();
                if (!st) {
                  // Says which dependency is missing (database or key-value store).
                  Error e = st.error();
                  if (e.code != ErrorCode::kUnavailable) {
                    e = Error::make(ErrorCode::kUnavailable, "a dependency is not reachable");
                  }
                  return problem(ctx, e);
                }
                return json(ctx, HttpStatus::ok, {{"status", "ready"}});
              }});
  router.add({Verb::get, "/metrics", Work::kInline, Auth::kNone, [deps](Context& ctx) {
                Response res{HttpStatus::ok, ctx.request.version()};
                res.set(http::Field::content_type, "text/plain; version=0.0.4");
                res.body() = deps->metrics.render();
                res.prepare_payload();
                return res;
              }});
}

}  // namespace latchkey::api
