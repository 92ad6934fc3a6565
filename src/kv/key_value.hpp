#pragma once
// Shared fast state: counters, flags with a time to live. The in-process implementation serves a
// single replica; the Redis implementation (scale-out issue) shares it between replicas.
// Implementations are thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::kv {

class KeyValue {
 public:
  virtual ~KeyValue() = default;

  // Adds `delta` to the integer at `key` (missing = 0) and returns the new value. When the key
  // is created by this call it expires after `ttl`; later increments keep the first expiry.
  virtual Result<std::int64_t> incr(std::string_view key, std::int64_t delta,
                                    std::chrono::seconds ttl) = 0;
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  // Sets `key` to `value`, expiring after `ttl`.
  virtual Status set(std::string_view key, std::string_view value, std::chrono::seconds ttl) = 0;
  virtual Status del(std::string_view key) = 0;
  // Seconds until `key` expires; nullopt when the key does not exist.
  virtual Result<std::optional<std::int64_t>> ttl(std::string_view key) = 0;
};

}  // namespace latchkey::kv
