#pragma once
// In-process KeyValue for a single replica: 16 independently locked shards of hash maps, expiry
// by the injected Clock, and a hard cap on the number of entries so that an attacker who makes
// us create keys (one per e-mail or IP tried) cannot grow memory without bound.
//
//   kv::MemoryKeyValue kv(clock);                   // at most 1,000,000 entries
//   auto n = kv.incr("login:ip:203.0.113.7", 1, 15min);
//   kv.sweep();                                      // from a housekeeping thread, periodically
//
// Expiry: an entry set at time t with ttl d is live while now < t + d. Reads of an expired entry
// find nothing (and drop it); sweep() drops all expired entries. Expired entries still count
// towards the cap until dropped. When a new key would exceed the cap, the store sweeps (at most
// once per clock second, so a flood cannot turn every write into a full scan) and, if still
// full, refuses the write with kOverloaded (retry_after 1). Updates of live keys always work.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"
#include "kv/key_value.hpp"

namespace latchkey::kv {

class MemoryKeyValue final : public KeyValue {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 1'000'000;
  static constexpr std::size_t kShards = 16;

  // The hash seed (against hash-flooding with chosen keys) comes from libsodium's CSPRNG; it
  // does not affect behaviour, only bucket placement. Throws if libsodium cannot start.
  explicit MemoryKeyValue(const Clock& clock, std::size_t max_entries = kDefaultMaxEntries);
  MemoryKeyValue(const MemoryKeyValue&) = delete;
  MemoryKeyValue& operator=(const MemoryKeyValue&) = delete;

  // KeyValue. A non-positive ttl is a programming error (kInternal). incr of a value that is not
  // a decimal int64, or that would overflow, is kInternal and leaves the value as it was.
  Result<std::int64_t> incr(std::string_view key, std::int64_t delta,
                            std::chrono::seconds ttl) override;
  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  Status del(std::string_view key) override;
  // Whole seconds left, rounded up (a live key reports at least 1).
  Result<std::optional<std::int64_t>> ttl(std::string_view key) override;

  // Drops every expired entry; returns how many. Thread-safe; locks one shard at a time.
  std::size_t sweep();
  // Entries held, including expired ones not yet dropped.
  std::size_t size() const { return count_.load(); }
  std::size_t max_entries() const { return max_entries_; }

 private:
  struct Entry {
    std::string value;
    TimePoint expires_at;
  };
  // SipHash-2-4 with a per-process random key; transparent so lookups take string_view.
  struct KeyHash {
    using is_transparent = void;
    const unsigned char* key;
    std::size_t operator()(std::string_view s) const;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> map;
    explicit Shard(KeyHash hash) : map(16, hash) {}
  };

  Shard& shard_for(std::string_view key);
  // With the shard locked: the live entry for `key`, or an empty one (an expired entry reused,
  // or a new entry within the cap; `fresh` is then true). nullptr when the cap is reached.
  Entry* slot_for(Shard& shard, std::string_view key, TimePoint now, bool& fresh);
  void erase(Shard& shard,
             std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>::iterator it);
  bool try_reserve();
  void sweep_when_full();
  // Runs `write(entry, fresh, now)` on the key's slot under its shard's lock; when the store is
  // full, sweeps once and retries, then answers kOverloaded.
  template <typename R, typename F>
  R write_slot(std::string_view key, F&& write);

  const Clock& clock_;
  const std::size_t max_entries_;
  std::array<unsigned char, 16> hash_key_{};
  std::array<std::unique_ptr<Shard>, kShards> shards_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::int64_t> last_full_sweep_{-1};  // unix seconds
};

}  // namespace latchkey::kv
