#pragma once
// Who is calling: the bearer token, verified locally against Latchkey's JWKS (latchkey::verify's
// JwksCache), then checked for revocation with Latchkey's /api/auth/check.
//
//   RevocationChecker revocations(client_check, clock, {.ttl = 1s});
//   Authenticator auth(jwks_cache, &revocations, {.issuer = iss, .audience = aud});
//   Outcome<Caller> who = auth.authenticate(request[http::field::authorization]);
//
// Order of checks (the first failure is the answer; every path ends in one refusal or a Caller):
//   1. an "Authorization: Bearer <token>" header          else 401 unauthenticated
//   2. signature, kid, alg, typ, iss, aud, exp/nbf/iat    else 401 invalid_token / token_expired,
//      (JwksCache::verify, leeway from AuthOptions)           503 unavailable if the keys cannot
//                                                             be fetched at all
//   3. sub present                                        else 401 invalid_token
//   4. revocation: /api/auth/check, answer cached per     else 401 token_revoked / token_expired /
//      token for AuthOptions' ttl (default 1 s)               invalid_token, 503 unavailable when
//                                                             Latchkey cannot answer (fail closed)
// Why ask /api/auth/check at all? A JWT stays valid until exp (minutes) even after its session
// is logged out or an admin disables the account. Latchkey knows the revoked session ids; asking
// it (cheap: no database on its side) and caching the answer for one second bounds the window in
// which a revoked token still works to about one second, instead of the token's whole lifetime.
// With no RevocationChecker (--revocation-check=none) the window is the token's TTL.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"
#include "notes.hpp"
#include "problem.hpp"
#include "tokens/verify.hpp"

namespace notes {

// Latchkey's answer about one token, as the API server needs it.
enum class CheckVerdict : std::uint8_t {
  kActive,       // 200
  kRevoked,      // 401 session_revoked: logged out, revoked, account disabled
  kExpired,      // 401 token_expired
  kInvalid,      // any other 401: Latchkey no longer accepts the token (e.g. a retired key)
  kUnavailable,  // no answer, or one we do not understand (5xx, 429, timeout)
};

// Asks Latchkey about `token` (an HTTP call in production, a fake in tests).
using CheckFn = std::function<CheckVerdict(std::string_view token)>;

struct RevocationOptions {
  std::chrono::milliseconds ttl{1000};  // how long an "active" answer is trusted; 0: never cached
  std::size_t max_entries = 100'000;    // cache bound; when full, expired entries go, then all
};

// Caches check answers by SHA-256 of the token (tokens themselves are never kept). "Active" is
// remembered for ttl; revoked/expired/invalid are final, so they are remembered until the
// token's exp (local verification refuses it after that anyway). kUnavailable is never cached.
class RevocationChecker {
 public:
  RevocationChecker(CheckFn check, const latchkey::Clock& clock, RevocationOptions options);
  // token_exp: the verified token's exp claim (unix seconds).
  CheckVerdict check(std::string_view token, std::int64_t token_exp);
  std::size_t cached() const;

 private:
  struct Entry {
    CheckVerdict verdict = CheckVerdict::kUnavailable;
    latchkey::TimePoint until{};
  };
  CheckFn check_;
  const latchkey::Clock& clock_;
  RevocationOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // sha256 hex -> answer; guarded by mu_
};

struct AuthOptions {
  std::string issuer{};    // the iss Latchkey writes (its tokens.issuer, default public_url)
  std::string audience{};  // the aud Latchkey writes (its tokens.audience)
  std::chrono::seconds leeway{30};
};

class Authenticator {
 public:
  // revocations may be null: then tokens are trusted until they expire.
  Authenticator(latchkey::tokens::JwksCache& keys, RevocationChecker* revocations,
                AuthOptions options);
  Outcome<Caller> authenticate(std::string_view authorization_header) const;

 private:
  latchkey::tokens::JwksCache& keys_;
  RevocationChecker* revocations_;
  AuthOptions options_;
};

// The token of "Bearer <token>" (scheme case-insensitive, RFC 6750 b64token characters only);
// empty when the header is missing or malformed.
std::string_view bearer_token(std::string_view authorization_header);

}  // namespace notes
