#pragma once
// A JWKS cache for API servers that verify Latchkey's access tokens themselves (part of
// latchkey::verify). The cache does no I/O of its own: it calls the fetch function it is given
// (typically an HTTPS GET of <issuer>/.well-known/jwks.json) and reads the time from a Clock.
//
//   JwksCache keys([&] { return http_get(jwks_url); }, clock,
//                  {.max_age = 5min, .min_refetch_interval = 30s});
//   Claims claims;
//   VerifyStatus s = keys.verify(bearer, {.issuer = iss, .audience = aud}, &claims);
//   if (s == VerifyStatus::kKidUnknown && !keys.state().last_fetch_ok) return unavailable();
//   if (s != VerifyStatus::kOk) return reject(401, to_string(s));
//
// Rules, in the order verify() applies them:
//   1. No keys yet: fetch (callers arriving meanwhile wait for that one fetch).
//   2. Keys older than max_age: refetch, unless another thread is already fetching (then the
//      current keys are used) or the last attempt is younger than min_refetch_interval.
//   3. verify_jwt with the cached KeySet; options.now is replaced by the clock's time.
//   4. kKidUnknown (the issuer may have rotated its key): refetch at most once per
//      min_refetch_interval, whatever the tokens say, so a flood of tokens with made-up kids
//      costs the issuer one request per interval; then verify once more.
// A failed fetch (fetch error, unparsable JWKS, or a JWKS with no usable key) keeps the last
// good keys: an issuer outage does not lock out holders of valid tokens. Every fetch attempt,
// good or bad, counts for the rate limit, and fetches never overlap.
// Thread-safe: verify() may be called from any number of threads.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "tokens/jose.hpp"
#include "tokens/jwk.hpp"

namespace latchkey::tokens {

// Returns the JWKS document ({"keys":[...]}) or an Error (e.g. kUnavailable when the issuer
// cannot be reached). Called without any lock of the cache held; never concurrently with itself.
using JwksFetch = std::function<Result<std::string>()>;

struct JwksCacheOptions {
  std::chrono::seconds max_age{300};              // keys older than this are refetched
  std::chrono::seconds min_refetch_interval{30};  // at most one fetch attempt per interval
};

// A snapshot for health checks, metrics and error mapping.
struct JwksCacheState {
  bool has_keys = false;                    // a fetch has succeeded at least once
  std::size_t key_count = 0;                // keys in the current set
  std::optional<TimePoint> fetched_at{};    // last successful fetch
  std::optional<TimePoint> attempted_at{};  // last fetch attempt, good or bad
  bool last_fetch_ok = false;               // the last attempt succeeded
  std::string last_error{};                 // why the last attempt failed (for logs), else ""
  std::uint64_t fetches = 0;                // attempts
  std::uint64_t failures = 0;               // failed attempts
};

class JwksCache {
 public:
  // Throws std::invalid_argument for an empty fetch function or non-positive durations.
  JwksCache(JwksFetch fetch, const Clock& clock, JwksCacheOptions options = {});
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // verify_jwt (jose.hpp, steps 1-12) with the cached keys and the rules above. *out as for
  // verify_jwt: the claims on kOk, empty otherwise. With no keys at all (every fetch failed so
  // far) the answer is kKidUnknown; state() tells that apart from a forged kid.
  VerifyStatus verify(std::string_view token, const VerifyOptions& options, Claims* out);

  // Rules 1 and 2 alone, without a token: fetches when there are no keys yet or they are older
  // than max_age, within the rate limit. For readiness probes and background warm-up, so that a
  // server that started before the issuer gets its keys without waiting for a request.
  // True when keys are loaded (possibly stale ones, if the issuer is unreachable).
  bool prefetch();

  // Fetches now, ignoring max_age and the rate limit (for start-up warm-up and operators); it
  // still waits for a fetch in progress. On failure the old keys stay and the Error is returned.
  Status refresh();

  // The current key set (never null; empty before the first good fetch).
  std::shared_ptr<const KeySet> keys() const;
  JwksCacheState state() const;

 private:
  enum class Why : std::uint8_t { kNoKeys, kStale, kKidUnknown };
  // Rules 1 and 2: the keys to verify with; *seen receives the fetch count they go with.
  std::shared_ptr<const KeySet> current_keys(std::uint64_t* seen);
  // Runs one fetch when the rules allow it; returns the keys to use afterwards.
  std::shared_ptr<const KeySet> maybe_fetch(Why why, std::uint64_t seen_attempts);
  // Fetches and installs (fetch_mu_ held by the caller).
  Status fetch_locked();

  JwksFetch fetch_;
  const Clock& clock_;
  JwksCacheOptions options_;

  std::mutex fetch_mu_;  // one fetch at a time; never held while state_mu_ waits on it
  mutable std::mutex state_mu_;
  std::shared_ptr<const KeySet> keys_;  // guarded by state_mu_
  JwksCacheState state_;                // guarded by state_mu_
};

}  // namespace latchkey::tokens
