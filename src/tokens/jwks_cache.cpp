#include "tokens/jwks_cache.hpp"

#include <stdexcept>
#include <utility>

namespace latchkey::tokens {
namespace {

std::string describe(const Error& e) {
  std::string out(code_id(e.code));
  if (!e.message.empty()) out += ": " + e.message;
  if (!e.log_detail.empty()) out += " (" + e.log_detail + ")";
  return out;
}

}  // namespace

JwksCache::JwksCache(JwksFetch fetch, const Clock& clock, JwksCacheOptions options)
    : fetch_(std::move(fetch)),
      clock_(clock),
      options_(options),
      keys_(std::make_shared<const KeySet>()) {
  if (!fetch_) throw std::invalid_argument("JwksCache: no fetch function");
  if (options_.max_age.count() <= 0) throw std::invalid_argument("JwksCache: max_age must be > 0");
  if (options_.min_refetch_interval.count() <= 0) {
    throw std::invalid_argument("JwksCache: min_refetch_interval must be > 0");
  }
}

std::shared_ptr<const KeySet> JwksCache::keys() const {
  std::lock_guard lock(state_mu_);
  return keys_;
}

JwksCacheState JwksCache::state() const {
  std::lock_guard lock(state_mu_);
  return state_;
}

Status JwksCache::refresh() {
  std::lock_guard fetching(fetch_mu_);
  return fetch_locked();
}

Status JwksCache::fetch_locked() {
  const TimePoint started = clock_.now();
  Result<std::string> body = fetch_();  // no state lock held: verify() keeps using the old keys
  std::optional<Error> failure;
  std::optional<KeySet> parsed;
  if (!body) {
    failure = body.error();
  } else if (auto set = parse_jwks(*body); !set) {
    failure = set.error();
  } else if (set->empty()) {
    // Installing an empty set would reject every token; keep the last good keys instead.
    failure = Error::make(ErrorCode::kInvalidField, "the JWKS holds no usable key");
    if (!set->rejected().empty()) failure->log_detail = set->rejected().front();
  } else {
    parsed = std::move(*set);
  }

  std::lock_guard lock(state_mu_);
  ++state_.fetches;
  state_.attempted_at = started;
  if (failure) {
    ++state_.failures;
    state_.last_fetch_ok = false;
    state_.last_error = describe(*failure);
    return *failure;
  }
  keys_ = std::make_shared<const KeySet>(std::move(*parsed));
  state_.has_keys = true;
  state_.key_count = keys_->size();
  state_.fetched_at = started;
  state_.last_fetch_ok = true;
  state_.last_error.clear();
  return {};
}

std::shared_ptr<const KeySet> JwksCache::maybe_fetch(Why why, std::uint64_t seen_attempts) {
  std::unique_lock fetching(fetch_mu_, std::defer_lock);
  if (why == Why::kStale) {
    // Someone is already fetching: serve with the current keys rather than queue up.
    if (!fetching.try_lock()) return keys();
  } else {
    fetching.lock();  // the caller needs the outcome of the fetch in progress, if any
  }
  {
    std::lock_guard lock(state_mu_);
    // Another caller fetched after we looked at the keys: use what it got.
    if (state_.fetches != seen_attempts) return keys_;
    // The rate limit: at most one attempt per min_refetch_interval, whatever the reason.
    if (state_.attempted_at &&
        clock_.now() - *state_.attempted_at < options_.min_refetch_interval) {
      return keys_;
    }
  }
  (void)fetch_locked();  // a failure keeps the old keys; state() records why
  return keys();
}

std::shared_ptr<const KeySet> JwksCache::current_keys(std::uint64_t* seen) {
  std::shared_ptr<const KeySet> keys;
  bool stale = false;
  bool have = false;
  {
    std::lock_guard lock(state_mu_);
    keys = keys_;
    *seen = state_.fetches;
    have = state_.has_keys;
    stale = have && clock_.now() - *state_.fetched_at >= options_.max_age;
  }
  if (have && !stale) return keys;
  auto fresh = maybe_fetch(have ? Why::kStale : Why::kNoKeys, *seen);
  if (fresh != keys) {
    std::lock_guard lock(state_mu_);
    *seen = state_.fetches;
  }
  return fresh;
}

bool JwksCache::prefetch() {
  std::uint64_t seen = 0;
  (void)current_keys(&seen);
  std::lock_guard lock(state_mu_);
  return state_.has_keys;
}

VerifyStatus JwksCache::verify(std::string_view token, const VerifyOptions& options, Claims* out) {
  std::uint64_t seen = 0;
  std::shared_ptr<const KeySet> keys = current_keys(&seen);

  VerifyOptions pinned = options;
  pinned.now = to_unix(clock_.now());
  const VerifyStatus status = verify_jwt(token, *keys, pinned, out);
  if (status != VerifyStatus::kKidUnknown) return status;

  // The issuer may have rotated to a key we have not seen yet: one more look, rate-limited.
  auto fresh = maybe_fetch(Why::kKidUnknown, seen);
  if (fresh == keys) return status;
  pinned.now = to_unix(clock_.now());
  return verify_jwt(token, *fresh, pinned, out);
}

}  // namespace latchkey::tokens
