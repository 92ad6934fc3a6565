#pragma once
// Injected randomness. Production uses the OS CSPRNG (getrandom via libsodium); tests may use a
// deterministic source. Every secret (tokens, codes, keys, salts) comes from a Random.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace latchkey {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;

  std::vector<std::uint8_t> bytes(std::size_t n);
  // n random bytes, base64url without padding (for opaque tokens: 32 bytes = 256 bits).
  std::string token(std::size_t n = 32);
  // A uniformly distributed integer in [0, bound).
  std::uint32_t uniform(std::uint32_t bound);
};

// The OS CSPRNG (getrandom). Small values come from a block of its bytes fetched ahead per
// thread (each byte used once and then wiped; a forked child starts empty). Safe to share.
class OsRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Deterministic bytes for tests (a counter run through SHA-256). Never for production.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed = 42) : seed_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace latchkey
