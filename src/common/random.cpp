#include "common/random.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "common/encoding.hpp"

namespace latchkey {

std::vector<std::uint8_t> Random::bytes(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  fill(out);
  return out;
}

std::string Random::token(std::size_t n) {
  return base64url_encode(bytes(n));
}

std::uint32_t Random::uniform(std::uint32_t bound) {
  if (bound < 2) return 0;
  // Rejection sampling: no modulo bias.
  const std::uint32_t limit = UINT32_MAX - (UINT32_MAX % bound);
  while (true) {
    std::uint8_t b[4];
    fill(b);
    std::uint32_t v;
    std::memcpy(&v, b, sizeof v);
    if (v < limit) return v % bound;
  }
}

void OsRandom::fill(std::span<std::uint8_t> out) {
  static const bool ready = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    return true;
  }();
  (void)ready;
  randombytes_buf(out.data(), out.size());
}

void SeededRandom::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    std::uint8_t input[16];
    std::memcpy(input, &seed_, 8);
    std::memcpy(input + 8, &counter_, 8);
    ++counter_;
    auto block = sha256(std::span<const std::uint8_t>(input, sizeof input));
    std::size_t take = std::min(block.size(), out.size() - done);
    std::memcpy(out.data() + done, block.data(), take);
    done += take;
  }
}

}  // namespace latchkey
