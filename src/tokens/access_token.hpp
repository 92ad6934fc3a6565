#pragma once
// Access tokens: RFC 9068 JWTs (typ "at+jwt") signed by the KeyRing's current key.
//
//   AccessTokenIssuer issuer(ring, clock, random, {.issuer = iss, .audience = aud, .ttl = 15min});
//   Result<IssuedAccessToken> t = issuer.issue({.sub = user_id, .sid = session_id, .roles =
//   {"user"}}); AccessTokenVerifier verifier(ring, clock, {.issuer = iss, .audience = aud});
//   VerifiedAccessToken v = verifier.verify(bearer);
//   if (!v) return to_error(v.status);          // kTokenExpired or kInvalidToken
//   use(v.claims->sub(), v.claims->sid());
//
// Claims written: iss, sub, aud, exp, iat, nbf (= iat), jti (128 random bits), sid, roles, amr,
// email_verified, and email / auth_time when known. No client_id: tokens are first-party.
// Revocation is NOT checked here: the caller checks claims->sid() against its revocation set.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "tokens/jose.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::tokens {

struct AccessTokenConfig {
  std::string issuer{};    // "iss", e.g. https://id.example.com
  std::string audience{};  // "aud", the API the tokens are for
  std::chrono::seconds ttl{900};
};

struct AccessClaims {
  std::string sub{};    // user id (required)
  std::string sid{};    // session id
  std::string email{};  // omitted when empty
  std::vector<std::string> roles{};
  std::vector<std::string> amr{};  // RFC 8176 values: "pwd", "otp", "mfa", ...
  std::optional<TimePoint> auth_time{};
  bool email_verified = false;
};

struct IssuedAccessToken {
  std::string token;
  std::int64_t expires_in = 0;  // seconds, for the token response
  std::string jti;
  TimePoint expires_at{};
};

class AccessTokenIssuer {
 public:
  // Throws std::invalid_argument for an empty issuer/audience or a non-positive ttl (start-up).
  AccessTokenIssuer(KeyRing& ring, const Clock& clock, Random& random, AccessTokenConfig config);
  // Error{kInternal} only when the ring has no signing key (load() not called or failed).
  // An empty sub is a programming error (std::invalid_argument).
  Result<IssuedAccessToken> issue(const AccessClaims& claims) const;

 private:
  KeyRing& ring_;
  const Clock& clock_;
  Random& random_;
  AccessTokenConfig config_;
};

struct AccessTokenVerifierConfig {
  std::string issuer{};
  std::string audience{};
  std::chrono::seconds leeway{30};
  std::size_t cache_capacity = 10'000;  // verified tokens remembered; 0 disables the cache
  std::size_t max_token_size = 8 * 1024;
};

// The outcome of AccessTokenVerifier::verify: claims iff status == kOk.
struct VerifiedAccessToken {
  VerifyStatus status = VerifyStatus::kMalformed;
  std::shared_ptr<const Claims> claims;
  bool ok() const noexcept { return status == VerifyStatus::kOk; }
  explicit operator bool() const noexcept { return ok(); }
};

class AccessTokenVerifier {
 public:
  // Throws std::invalid_argument for an empty issuer or audience (start-up).
  AccessTokenVerifier(KeyRing& ring, const Clock& clock, AccessTokenVerifierConfig config);
  // Full verify_jwt against the ring's published keys (typ at+jwt, iss, aud, exp/nbf/iat with
  // leeway). A cache hit (keyed by SHA-256 of the token) skips the signature but still checks
  // exp against the clock and that the token's kid is still published.
  VerifiedAccessToken verify(std::string_view token) const;
  std::size_t cache_size() const;

 private:
  struct CacheEntry {
    std::shared_ptr<const Claims> claims;
    std::int64_t exp = 0;
    std::string kid;
  };

  KeyRing& ring_;
  const Clock& clock_;
  AccessTokenVerifierConfig config_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, CacheEntry> cache_;  // guarded by cache_mu_
};

// kExpired -> kTokenExpired, every other failure -> kInvalidToken; log_detail names the status.
ErrorCode error_code_for(VerifyStatus status) noexcept;
Error to_error(VerifyStatus status);

}  // namespace latchkey::tokens
