#pragma once
// Social ("SNS") login providers: the built-in kinds as data (endpoints, scopes, how a profile
// is read) plus small strategy code. Domain code: network through the HttpClient port, time
// through Clock; no curl, no HTTP server types.
//
//   Provider google(settings, http, clock);
//   auto url = google.authorize_url({.state = s, .nonce = n, .code_challenge = c,
//                                    .redirect_uri = cb});          // 302 the browser there
//   auto profile = google.exchange({.code = code, .code_verifier = v, .nonce = n,
//                                   .redirect_uri = cb, .state = s}); // {subject, email, ...}
//
// OpenID Connect kinds (google, kakao when configured with an issuer, oidc) validate the
// id_token: signature with the provider's JWKS (algorithm pinned to the key), iss, aud (and azp
// when there are several audiences), exp, iat with leeway, nonce. Discovery and JWKS are cached;
// an unknown kid refetches the JWKS, at most once a minute. OAuth 2.0 kinds (github, kakao,
// naver) read the user API with the access token.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "methods/social/http_client.hpp"
#include "tokens/jose.hpp"
#include "tokens/jwk.hpp"

namespace latchkey::methods::social {

enum class Kind : std::uint8_t { kGoogle, kGithub, kKakao, kNaver, kOidc };

std::optional<Kind> parse_kind(std::string_view name) noexcept;
std::string_view to_string(Kind kind) noexcept;

// What the configuration says about one provider (social.<id>.*). Empty fields take the kind's
// defaults.
struct ProviderSettings {
  std::string id;
  std::string kind;
  std::string name;
  std::string client_id;
  std::string client_secret;
  std::string issuer;
  std::vector<std::string> scopes;
  std::string authorize_url;
  std::string token_url;
  std::string userinfo_url;
};

// The normalised person a provider vouches for.
struct Profile {
  std::string subject;  // stable provider user id
  std::string email;    // may be empty
  bool email_verified = false;
  std::string name;
};

// --- Pure parts (unit-tested from documented response shapes) ----------------------------------

// GitHub: GET /user and GET /user/emails. The e-mail is the primary verified one from
// /user/emails (a public /user email is only used when /user/emails lists it as verified).
Result<Profile> map_github(const nlohmann::json& user, const nlohmann::json& emails);
// Kakao: GET /v2/user/me. Verified only when kakao_account.is_email_valid and
// is_email_verified are both true.
Result<Profile> map_kakao(const nlohmann::json& me);
// Naver: GET /v1/nid/me ({resultcode "00", response {id, email, name, nickname}}). Naver does
// not say whether the address was verified: email_verified is always false.
Result<Profile> map_naver(const nlohmann::json& me);
// OpenID Connect: validated id_token claims, then userinfo claims (only when their sub is the
// id_token's) fill in what the id_token lacks. email_verified accepts true or "true".
Result<Profile> map_oidc(const nlohmann::json& id_claims, const nlohmann::json* userinfo);

struct IdTokenRules {
  std::string issuer;
  std::string client_id;
  std::string nonce;
  std::int64_t now = 0;
  std::int64_t leeway = 60;
};

// Why an id_token was refused: a jose VerifyStatus id ("signature_invalid", "expired",
// "audience_mismatch", "kid_unknown"...) or "nonce_mismatch" / "azp_mismatch".
struct IdTokenResult {
  std::optional<tokens::Claims> claims;  // set when valid
  std::string failure;                   // set when not
  bool kid_unknown = false;              // a JWKS refetch may help
};

// Validates an OpenID Connect id_token (Core 1.0 section 3.1.3.7) against `keys`: the jose
// pipeline (typ not checked; sub and iat required) plus nonce and azp.
IdTokenResult validate_id_token(std::string_view id_token, const tokens::KeySet& keys,
                                const IdTokenRules& rules);

// A provider JWKS -> KeySet. Keys without "alg" get the one algorithm their type allows here
// (RSA -> RS256, EC P-256 -> ES256, OKP Ed25519 -> EdDSA), so each key stays pinned to one
// algorithm; keys with "use" other than "sig" are left out.
Result<tokens::KeySet> parse_provider_jwks(std::string_view jwks_text);

// --- A configured provider ---------------------------------------------------------------------

struct AuthorizeRequest {
  std::string state;
  std::string nonce;           // OpenID Connect kinds only
  std::string code_challenge;  // PKCE S256
  std::string redirect_uri;
};

struct CodeExchange {
  std::string code;
  std::string code_verifier;
  std::string nonce;
  std::string redirect_uri;
  std::string state;  // Naver wants it again at the token endpoint
};

class Provider {
 public:
  // Throws std::invalid_argument for an unknown kind (config validation catches it first).
  Provider(ProviderSettings settings, HttpClient& http, const Clock& clock);

  const std::string& id() const noexcept { return settings_.id; }
  const std::string& name() const noexcept { return settings_.name; }
  Kind kind() const noexcept { return kind_; }
  bool openid() const noexcept { return openid_; }

  // The authorization endpoint URL with the request's parameters. Fetches the discovery
  // document when the endpoint is not known yet (kSocialProviderError when that fails).
  Result<std::string> authorize_url(const AuthorizeRequest& request);

  // Code -> tokens -> profile. Errors: kSocialProviderError (provider down, error answer,
  // unusable response; log_detail says what), kSocialTokenInvalid (id_token refused).
  Result<Profile> exchange(const CodeExchange& request);

 private:
  struct Endpoints {
    std::string authorize, token, userinfo, jwks;
    bool basic_auth = false;  // the token endpoint wants client_secret_basic
  };
  Result<Endpoints> endpoints();
  Result<nlohmann::json> get_json(const std::string& url, const std::string& access_token,
                                  std::string_view what);
  Result<tokens::Claims> check_id_token(const std::string& id_token, const Endpoints& ep,
                                        const std::string& nonce);
  Result<std::shared_ptr<const tokens::KeySet>> jwks(const Endpoints& ep, bool refetch);

  ProviderSettings settings_;
  Kind kind_;
  bool openid_ = false;
  HttpClient& http_;
  const Clock& clock_;

  std::mutex mutex_;  // guards the caches below
  std::optional<Endpoints> endpoints_;
  std::shared_ptr<const tokens::KeySet> keys_;
  std::optional<TimePoint> keys_fetched_;
};

}  // namespace latchkey::methods::social
