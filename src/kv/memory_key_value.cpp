#include "kv/memory_key_value.hpp"

#include <sodium.h>

#include <charconv>
#include <stdexcept>

namespace latchkey::kv {
namespace {

Error overloaded() {
  Error e = Error::make(ErrorCode::kOverloaded, "the server is busy; try again shortly");
  e.retry_after = 1;
  e.log_detail = "in-memory key-value store is full";
  return e;
}

Error bad_ttl() {
  return Error::internal("kv: ttl must be positive");
}

}  // namespace

std::size_t MemoryKeyValue::KeyHash::operator()(std::string_view s) const {
  std::uint64_t h = 0;
  crypto_shorthash_siphash24(reinterpret_cast<unsigned char*>(&h),
                             reinterpret_cast<const unsigned char*>(s.data()), s.size(), key);
  return static_cast<std::size_t>(h);
}

MemoryKeyValue::MemoryKeyValue(const Clock& clock, std::size_t max_entries)
    : clock_(clock), max_entries_(max_entries) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  randombytes_buf(hash_key_.data(), hash_key_.size());
  for (auto& shard : shards_) shard = std::make_unique<Shard>(KeyHash{hash_key_.data()});
}

MemoryKeyValue::Shard& MemoryKeyValue::shard_for(std::string_view key) {
  // The top bits pick the shard; the map's buckets use the whole hash.
  return *shards_[(KeyHash{hash_key_.data()}(key) >> 32) % kShards];
}

bool MemoryKeyValue::try_reserve() {
  std::size_t n = count_.load();
  while (n < max_entries_) {
    if (count_.compare_exchange_weak(n, n + 1)) return true;
  }
  return false;
}

void MemoryKeyValue::erase(
    Shard& shard, std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>::iterator it) {
  shard.map.erase(it);
  count_.fetch_sub(1);
}

MemoryKeyValue::Entry* MemoryKeyValue::slot_for(Shard& shard, std::string_view key, TimePoint now,
                                                bool& fresh) {
  if (auto it = shard.map.find(key); it != shard.map.end()) {
    fresh = !(now < it->second.expires_at);
    if (fresh) it->second.value.clear();  // expired: reuse its slot
    return &it->second;
  }
  if (!try_reserve()) return nullptr;
  try {
    fresh = true;
    return &shard.map.emplace(std::string(key), Entry{}).first->second;
  } catch (...) {
    count_.fetch_sub(1);
    throw;
  }
}

void MemoryKeyValue::sweep_when_full() {
  const std::int64_t now = to_unix(clock_.now());
  std::int64_t last = last_full_sweep_.load();
  if (last == now || !last_full_sweep_.compare_exchange_strong(last, now)) return;
  (void)sweep();
}

template <typename R, typename F>
R MemoryKeyValue::write_slot(std::string_view key, F&& write) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt > 0) sweep_when_full();
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const TimePoint now = clock_.now();
    bool fresh = false;
    Entry* entry = slot_for(shard, key, now, fresh);
    if (entry == nullptr) continue;
    return write(*entry, fresh, now);
  }
  return overloaded();
}

Result<std::int64_t> MemoryKeyValue::incr(std::string_view key, std::int64_t delta,
                                          std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return bad_ttl();
  return write_slot<Result<std::int64_t>>(
      key, [&](Entry& entry, bool fresh, TimePoint now) -> Result<std::int64_t> {
        std::int64_t current = 0;
        if (!fresh) {
          const std::string& v = entry.value;
          const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), current);
          if (ec != std::errc() || end != v.data() + v.size()) {
            return Error::internal("kv: incr of a value that is not an integer");
          }
        }
        std::int64_t next = 0;
        if (__builtin_add_overflow(current, delta, &next)) {
          return Error::internal("kv: incr overflow");
        }
        entry.value = std::to_string(next);
        if (fresh) entry.expires_at = now + ttl;  // later increments keep the first expiry
        return next;
      });
}

Result<std::optional<std::string>> MemoryKeyValue::get(std::string_view key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return std::optional<std::string>();
  if (!(clock_.now() < it->second.expires_at)) {
    erase(shard, it);
    return std::optional<std::string>();
  }
  return std::optional<std::string>(it->second.value);
}

Status MemoryKeyValue::set(std::string_view key, std::string_view value, std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return bad_ttl();
  return write_slot<Status>(key, [&](Entry& entry, bool, TimePoint now) -> Status {
    entry.value.assign(value);
    entry.expires_at = now + ttl;
    return {};
  });
}

Status MemoryKeyValue::del(std::string_view key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.map.find(key); it != shard.map.end()) erase(shard, it);
  return {};
}

Result<std::optional<std::int64_t>> MemoryKeyValue::ttl(std::string_view key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return std::optional<std::int64_t>();
  const TimePoint now = clock_.now();
  if (!(now < it->second.expires_at)) {
    erase(shard, it);
    return std::optional<std::int64_t>();
  }
  return std::optional<std::int64_t>(
      std::chrono::ceil<std::chrono::seconds>(it->second.expires_at - now).count());
}

std::size_t MemoryKeyValue::sweep() {
  std::size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    const TimePoint now = clock_.now();
    for (auto it = shard->map.begin(); it != shard->map.end();) {
      if (now < it->second.expires_at) {
        ++it;
      } else {
        it = shard->map.erase(it);
        count_.fetch_sub(1);
        ++removed;
      }
    }
  }
  return removed;
}

}  // namespace latchkey::kv
