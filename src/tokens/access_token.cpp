#include "tokens/access_token.hpp"

#include <stdexcept>

#include "common/encoding.hpp"

namespace latchkey::tokens {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kJtiBytes = 16;

// The kid of a token that has already been verified (so the header is known to be well formed).
std::string kid_of(std::string_view token) {
  auto header = base64url_decode(token.substr(0, token.find('.')));
  if (!header) return {};
  Json h = Json::parse(latchkey::to_string(*header), nullptr, /*allow_exceptions=*/false);
  if (!h.is_object() || !h.contains("kid") || !h["kid"].is_string()) return {};
  return h["kid"].get<std::string>();
}

}  // namespace

AccessTokenIssuer::AccessTokenIssuer(KeyRing& ring, const Clock& clock, Random& random,
                                     AccessTokenConfig config)
    : ring_(ring), clock_(clock), random_(random), config_(std::move(config)) {
  if (config_.issuer.empty()) throw std::invalid_argument("access token issuer is empty");
  if (config_.audience.empty()) throw std::invalid_argument("access token audience is empty");
  if (config_.ttl <= std::chrono::seconds(0)) throw std::invalid_argument("access token ttl <= 0");
}

Result<IssuedAccessToken> AccessTokenIssuer::issue(const AccessClaims& claims) const {
  if (claims.sub.empty()) throw std::invalid_argument("access token without sub");
  auto snap = ring_.snapshot();
  if (!snap->signing) return Error::internal("no signing key: KeyRing::load() has not succeeded");
  const TimePoint now = clock_.now();
  const std::int64_t iat = to_unix(now);
  const std::int64_t exp = iat + config_.ttl.count();
  std::string jti = random_.token(kJtiBytes);

  Json payload = {{"iss", config_.issuer},
                  {"sub", claims.sub},
                  {"aud", config_.audience},
                  {"exp", exp},
                  {"iat", iat},
                  {"nbf", iat},
                  {"jti", jti},
                  {"roles", claims.roles},
                  {"amr", claims.amr},
                  {"email_verified", claims.email_verified}};
  if (!claims.sid.empty()) payload["sid"] = claims.sid;
  if (!claims.email.empty()) payload["email"] = claims.email;
  if (claims.auth_time) payload["auth_time"] = to_unix(*claims.auth_time);

  IssuedAccessToken out;
  out.token = sign_compact(*snap->signing, {{"typ", "at+jwt"}}, payload);
  out.expires_in = config_.ttl.count();
  out.jti = std::move(jti);
  out.expires_at = from_unix(exp);
  return out;
}

AccessTokenVerifier::AccessTokenVerifier(KeyRing& ring, const Clock& clock,
                                         AccessTokenVerifierConfig config)
    : ring_(ring), clock_(clock), config_(std::move(config)) {
  if (config_.issuer.empty()) throw std::invalid_argument("access token issuer is empty");
  if (config_.audience.empty()) throw std::invalid_argument("access token audience is empty");
}

VerifiedAccessToken AccessTokenVerifier::verify(std::string_view token) const {
  const std::int64_t now = to_unix(clock_.now());
  const auto snap = ring_.snapshot();
  const bool caching = config_.cache_capacity > 0 && token.size() <= config_.max_token_size;
  std::string cache_key;
  if (caching) {
    const Bytes digest = sha256(token);
    cache_key.assign(digest.begin(), digest.end());
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end()) {
      // A hit skips the signature only: expiry and the key's presence are checked every time.
      if (now - config_.leeway.count() < it->second.exp &&
          snap->keys.find(it->second.kid) != nullptr) {
        return {VerifyStatus::kOk, it->second.claims};
      }
      cache_.erase(it);  // and verify in full below, which names the failure
    }
  }

  VerifyOptions options;
  options.issuer = config_.issuer;
  options.audience = config_.audience;
  options.now = now;
  options.leeway = config_.leeway.count();
  options.max_token_size = config_.max_token_size;
  Claims claims;
  const VerifyStatus status = verify_jwt(token, snap->keys, options, &claims);
  if (status != VerifyStatus::kOk) return {status, nullptr};

  auto shared = std::make_shared<const Claims>(std::move(claims));
  if (caching) {
    CacheEntry entry{shared, shared->exp(), kid_of(token)};
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= config_.cache_capacity) cache_.erase(cache_.begin());  // bounded
    cache_.insert_or_assign(std::move(cache_key), std::move(entry));
  }
  return {VerifyStatus::kOk, std::move(shared)};
}

std::size_t AccessTokenVerifier::cache_size() const {
  std::lock_guard lock(cache_mu_);
  return cache_.size();
}

ErrorCode error_code_for(VerifyStatus status) noexcept {
  return status == VerifyStatus::kExpired ? ErrorCode::kTokenExpired : ErrorCode::kInvalidToken;
}

Error to_error(VerifyStatus status) {
  Error e = Error::make(error_code_for(status), status == VerifyStatus::kExpired
                                                    ? "the access token has expired"
                                                    : "the access token is not valid");
  e.log_detail = std::string(to_string(status));
  return e;
}

}  // namespace latchkey::tokens
