#include "flows/verification/quota.hpp"

#include "common/encoding.hpp"

namespace latchkey::flows {

namespace {
constexpr std::chrono::seconds kHour{3600};
constexpr std::chrono::seconds kDay{24 * 3600};
}  // namespace

Status SendQuota::allow_ip(const std::string& ip) {
  const std::string key = options_.name + "q:ip:" + ip;
  auto n = kv_.incr(key, 1, kHour);
  if (!n) return n.error();
  if (*n > options_.ip_hourly_cap) {
    auto left = kv_.ttl(key);
    Error e = Error::make(ErrorCode::kRateLimited, "too many requests; try again later");
    e.retry_after = left && *left ? static_cast<int>(std::max<std::int64_t>(1, **left))
                                  : static_cast<int>(kHour.count());
    return e;
  }
  return {};
}

Result<bool> SendQuota::allow_address(const std::string& kind, const std::string& address) {
  // Keys hold a hash, not the address: the KV store (Redis) need not learn addresses.
  const std::string id = kind + ":" + sha256_hex(address);
  auto cooling = kv_.get(options_.name + "q:cool:" + id);
  if (!cooling) return cooling.error();
  if (*cooling) return false;
  auto today = kv_.incr(options_.name + "q:day:" + id, 1, kDay);
  if (!today) return today.error();
  if (*today > options_.daily_cap) return false;
  if (options_.cooldown.count() > 0) {
    if (auto st = kv_.set(options_.name + "q:cool:" + id, "1", options_.cooldown); !st) {
      return st.error();
    }
  }
  return true;
}

}  // namespace latchkey::flows
