#pragma once
// The one include for an API server that trusts Latchkey's access tokens (target latchkey::verify):
//
//   #include "tokens/verify.hpp"
//   using namespace latchkey::tokens;
//   Result<KeySet> keys = parse_jwks(jwks_json_fetched_from_latchkey);  // refresh it periodically
//   VerifyOptions options{.issuer = "https://id.example.com", .audience =
//   "https://api.example.com"}; options.now = unix_seconds_now; Claims claims; VerifyStatus status
//   = verify_jwt(bearer_token, *keys, options, &claims); if (status != VerifyStatus::kOk)
//   reject(401, to_string(status)); else if (revoked(claims.sid())) reject(401, "session_revoked");
//   else serve(claims.sub(), claims.roles());
//
// Most API servers want JwksCache (tokens/jwks_cache.hpp) instead of calling parse_jwks
// themselves: it fetches through a function you give it, refetches (rate-limited) on an unknown
// kid, refreshes stale keys and keeps the last good ones when the issuer is down:
//   JwksCache cache(fetch_jwks, clock, {}); VerifyStatus s = cache.verify(token, options, &claims);
// examples/api-server shows it in a running service.
//
// jose.hpp and jwk.hpp are pure: no I/O, no clock, no global state. JwksCache does I/O only
// through the fetch function it is given and reads time only from the Clock it is given. See
// jose.hpp for the order of checks and jwk.hpp for the rules a JWK must meet.

#include "tokens/jose.hpp"        // IWYU pragma: export
#include "tokens/jwk.hpp"         // IWYU pragma: export
#include "tokens/jwks_cache.hpp"  // IWYU pragma: export
