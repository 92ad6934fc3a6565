#include "common/random.hpp"

#include <sodium.h>

#include <pthread.h>

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

namespace {

// Bytes from the OS CSPRNG fetched ahead, a block per thread: a refresh draws four small values
// (token, seal nonce, jti, request id), and a system call for each was a measurable share of it.
// Each byte is handed out once and wiped from the block as it goes.
struct Prefetched {
  static constexpr std::size_t kBlock = 256;
  std::uint8_t bytes[kBlock];
  std::size_t left = 0;  // the last `left` bytes of `bytes` are unused

  ~Prefetched() { sodium_memzero(bytes, sizeof bytes); }
};
thread_local Prefetched t_prefetched;

void os_random(std::uint8_t* out, std::size_t n) {
  static const bool ready = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    // A forked child must not hand out the bytes its parent will hand out too: it starts with
    // an empty block (the forking thread is the only thread in the child).
    pthread_atfork(nullptr, nullptr, [] {
      sodium_memzero(t_prefetched.bytes, sizeof t_prefetched.bytes);
      t_prefetched.left = 0;
    });
    return true;
  }();
  (void)ready;
  randombytes_buf(out, n);
}

}  // namespace

void OsRandom::fill(std::span<std::uint8_t> out) {
  Prefetched& p = t_prefetched;
  if (out.size() > Prefetched::kBlock / 4) {
    os_random(out.data(), out.size());
    return;
  }
  if (p.left < out.size()) {
    os_random(p.bytes, sizeof p.bytes);
    p.left = sizeof p.bytes;
  }
  std::uint8_t* from = p.bytes + (sizeof p.bytes - p.left);
  std::memcpy(out.data(), from, out.size());
  sodium_memzero(from, out.size());
  p.left -= out.size();
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
