#include "flows/login/throttle.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>

namespace latchkey::flows {
namespace {

std::string fails_key(std::string_view key) {
  return "throttle:" + std::string(key) + ":fails";
}
std::string lock_key(std::string_view key) {
  return "throttle:" + std::string(key) + ":lock";
}

int clamp_to_int(std::int64_t v) {
  return static_cast<int>(std::clamp<std::int64_t>(v, 1, std::numeric_limits<int>::max()));
}

}  // namespace

Throttle::Throttle(kv::KeyValue& kv, const Clock& clock, ThrottleOptions options)
    : kv_(kv), clock_(clock), options_(options) {
  if (options_.free_attempts < 1) throw std::invalid_argument("free_attempts must be >= 1");
  if (options_.base_delay < std::chrono::seconds(1)) {
    throw std::invalid_argument("base_delay must be at least 1 second");
  }
  if (options_.max_delay < options_.base_delay) {
    throw std::invalid_argument("max_delay must be at least base_delay");
  }
  if (options_.window < std::chrono::seconds(1)) {
    throw std::invalid_argument("window must be at least 1 second");
  }
}

std::chrono::seconds Throttle::delay_after(std::int64_t failures) const {
  if (failures < options_.free_attempts) return std::chrono::seconds(0);
  // base * 2^(n - free), doubling step by step so nothing overflows.
  std::chrono::seconds delay = options_.base_delay;
  for (std::int64_t i = failures - options_.free_attempts; i > 0; --i) {
    if (delay >= options_.max_delay) break;
    delay *= 2;
  }
  return std::min(delay, options_.max_delay);
}

Result<std::optional<int>> Throttle::blocked_for(std::string_view key) {
  const std::string lock = lock_key(key);
  auto value = kv_.get(lock);
  if (!value) return value.error();
  if (!*value) return std::optional<int>();
  std::int64_t until_ms = 0;
  const std::string& v = **value;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), until_ms);
  if (ec != std::errc() || end != v.data() + v.size()) {
    // Not ours to read: fall back on the store's own expiry, still failing closed.
    auto left = kv_.ttl(lock);
    if (!left) return left.error();
    if (!*left) return std::optional<int>();
    return std::optional<int>(clamp_to_int(**left));
  }
  const std::int64_t left_ms = until_ms - to_unix_ms(clock_.now());
  if (left_ms <= 0) return std::optional<int>();
  return std::optional<int>(clamp_to_int((left_ms + 999) / 1000));
}

Status Throttle::record_failure(std::string_view key) {
  auto failures = kv_.incr(fails_key(key), 1, options_.window);
  if (!failures) return failures.error();
  const std::chrono::seconds delay = delay_after(*failures);
  if (delay.count() == 0) return {};
  const std::int64_t until_ms =
      to_unix_ms(clock_.now()) +
      std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
  return kv_.set(lock_key(key), std::to_string(until_ms), delay);
}

Status Throttle::reset(std::string_view key) {
  auto fails = kv_.del(fails_key(key));
  auto lock = kv_.del(lock_key(key));
  if (!fails) return fails;
  return lock;
}

}  // namespace latchkey::flows
