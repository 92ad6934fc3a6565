// Every route that takes a JSON body, with the fuzzer's bytes as the body: the first byte picks the
// route, the rest is the body. Authenticated routes get the admin's bearer token, so the fuzzer
// reaches the body decoders behind authentication and authorisation too.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

#include "http_support.hpp"

namespace {

using latchkey::http::Verb;
enum class Caller { kAnonymous, kAdmin };

struct JsonRoute {
  Verb verb;
  const char* target;  // {id} is replaced by the admin's user id
  Caller caller;
};

constexpr JsonRoute kRoutes[] = {
    {Verb::post, "/api/auth/signup", Caller::kAnonymous},
    {Verb::post, "/api/auth/login", Caller::kAnonymous},
    {Verb::post, "/api/auth/refresh", Caller::kAnonymous},
    {Verb::post, "/api/auth/logout", Caller::kAnonymous},
    {Verb::post, "/api/auth/mfa/verify", Caller::kAnonymous},
    {Verb::post, "/api/auth/mfa/sms", Caller::kAnonymous},
    {Verb::post, "/api/auth/sms/start", Caller::kAnonymous},
    {Verb::post, "/api/auth/sms/verify", Caller::kAnonymous},
    {Verb::post, "/api/auth/verify-email", Caller::kAnonymous},
    {Verb::post, "/api/auth/verify-email/resend", Caller::kAnonymous},
    {Verb::post, "/api/auth/password/forgot", Caller::kAnonymous},
    {Verb::post, "/api/auth/password/reset", Caller::kAnonymous},
    {Verb::patch, "/api/me", Caller::kAdmin},
    {Verb::delete_, "/api/me", Caller::kAdmin},
    {Verb::post, "/api/me/password", Caller::kAdmin},
    {Verb::post, "/api/me/email", Caller::kAdmin},
    {Verb::post, "/api/me/mfa/totp", Caller::kAdmin},
    {Verb::delete_, "/api/me/mfa/totp", Caller::kAdmin},
    {Verb::post, "/api/me/mfa/totp/confirm", Caller::kAdmin},
    {Verb::post, "/api/me/mfa/recovery-codes", Caller::kAdmin},
    {Verb::post, "/api/me/phone", Caller::kAdmin},
    {Verb::post, "/api/me/phone/verify", Caller::kAdmin},
    {Verb::post, "/api/me/identities/oidc/link", Caller::kAdmin},
    {Verb::post, "/api/admin/users", Caller::kAdmin},
    {Verb::post, "/api/admin/users/import", Caller::kAdmin},
    {Verb::patch, "/api/admin/users/{id}", Caller::kAdmin},
    {Verb::post, "/api/admin/users/{id}/sessions/revoke", Caller::kAdmin},
    {Verb::post, "/api/admin/users/{id}/mfa/reset", Caller::kAdmin},
    {Verb::post, "/api/admin/users/{id}/password-reset", Caller::kAdmin},
    {Verb::post, "/api/admin/roles", Caller::kAdmin},
    {Verb::patch, "/api/admin/roles/support", Caller::kAdmin},
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  latchkey::fuzz::application();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& app = latchkey::fuzz::application();
  const JsonRoute& route = kRoutes[data[0] % std::size(kRoutes)];
  std::string target = route.target;
  if (auto at = target.find("{id}"); at != std::string::npos) {
    target.replace(at, 4, app.admin_id());
  }
  latchkey::http::Request req{route.verb, target, 11};
  req.set(latchkey::http::Field::host, "localhost:8080");
  req.set(latchkey::http::Field::content_type, "application/json");
  if (route.caller == Caller::kAdmin) {
    req.set(latchkey::http::Field::authorization, app.admin_bearer());
  }
  req.body().assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  req.prepare_payload();
  const auto res = app.send(std::move(req));
  latchkey::fuzz::check_response(target, res);
  // The input may have ended the admin's session (logout-all, revoking its own sessions): the
  // next input starts signed in again.
  if (route.caller == Caller::kAdmin && res.result() == latchkey::http::HttpStatus::unauthorized) {
    app.renew_admin();
  }
  return 0;
}
