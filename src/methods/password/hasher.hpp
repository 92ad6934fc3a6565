#pragma once
// Password hashing: argon2id (libsodium) for new hashes; argon2id, argon2i (libsodium) and
// bcrypt $2a$/$2b$/$2y$ (libcrypt) understood when verifying, so that hashes imported from other
// systems log in and are then upgraded.
//
//   PasswordHasher hasher(random);                    // OWASP: m=19 MiB, t=2, p=1
//   std::string phc = hasher.hash("correct horse");   // "$argon2id$v=19$m=19456,t=2,p=1$...$..."
//   switch (hasher.verify(typed, phc)) {
//     case PasswordHasher::Verdict::kMismatch: ...            // wrong password (or unusable hash)
//     case PasswordHasher::Verdict::kMatch: ...               // right password
//     case PasswordHasher::Verdict::kMatchNeedsRehash: ...    // right; store hasher.hash(typed)
//   }
//
// Hashing costs `memory_kib` KiB of memory and real CPU time: callers run it behind a
// HashPool. Passwords are bytes; the policy limits their length in characters, and the hasher
// itself refuses (kMismatch, without hashing) anything over kMaxPasswordBytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/random.hpp"

namespace latchkey::methods::password {

// libsodium's argon2id always uses one lane (parallelism 1).
struct Argon2Params {
  std::uint64_t memory_kib = 19456;  // 19 MiB
  std::uint64_t iterations = 2;
};

class PasswordHasher {
 public:
  enum class Verdict { kMismatch, kMatch, kMatchNeedsRehash };

  // Longer inputs are refused by verify() without hashing, and hash() throws.
  static constexpr std::size_t kMaxPasswordBytes = 4096;
  // Stored hashes that ask for more work than this are treated as unusable (kMismatch), so a
  // corrupt or hostile row cannot make one verification take gigabytes or hours. The memory
  // bound is raised to the configured memory_kib when that is larger.
  static constexpr std::uint64_t kMaxVerifyMemoryKib = 256 * 1024;  // libsodium "moderate"
  static constexpr std::uint64_t kMaxVerifyIterations = 16;
  static constexpr int kMaxBcryptCost = 16;

  // Precomputes one hash of a random password (for dummy_verify). Throws std::invalid_argument
  // when `params` are outside libsodium's limits, std::runtime_error when libsodium cannot start.
  explicit PasswordHasher(Random& random, Argon2Params params = {});

  // An argon2id PHC string with the configured parameters and a fresh 16-byte salt. Throws
  // std::length_error for passwords over kMaxPasswordBytes (the policy rejects them first) and
  // std::runtime_error when libsodium fails (out of memory).
  std::string hash(std::string_view password) const;

  // kMatchNeedsRehash when the password matches but `stored` is bcrypt, argon2i, or argon2id
  // with parameters other than the configured ones. Unknown or malformed hashes, hashes over the
  // work limits above and passwords over kMaxPasswordBytes give kMismatch. Never throws.
  Verdict verify(std::string_view password, std::string_view stored) const;

  // True when `stored` is in a format verify() can check (argon2id/argon2i PHC with version 19,
  // bcrypt $2a$/$2b$/$2y$) and within the work limits.
  bool understands(std::string_view stored) const;

  // Does the work of verify() against a precomputed hash of a random password and discards the
  // result: for unknown users, so that response time does not reveal whether an account exists.
  void dummy_verify(std::string_view password) const;

  const Argon2Params& params() const { return params_; }
  // The precomputed hash dummy_verify() checks against (exposed for tests).
  std::string_view dummy_hash() const { return dummy_hash_; }

 private:
  Argon2Params params_;
  std::string dummy_hash_;
};

}  // namespace latchkey::methods::password
