#pragma once
// The key ring: Latchkey's signing keys, shared by all replicas through the KeyRepository, with
// private keys sealed under the master key (libsodium crypto_secretbox).
//
//   KeyRing ring(repo, clock, random, master_key, {.alg = Alg::kRS256, .access_token_ttl = 15min});
//   if (Status s = ring.load(); !s) fail_startup(s.error().message);   // wrong master key, DB down
//   auto snap = ring.snapshot();            // lock-free; snap->signing, snap->keys,
//   snap->jwks_json ring.rotate(std::nullopt, std::chrono::hours(1));   // publish now, sign from
//   now + 1 h ring.refresh();                          // pick up other replicas' rotations (call
//   periodically)
//
// Lifecycle of a key (times are stored, the state is derived from the clock):
//   next     created_at <= now < signs_from        in JWKS, does not sign yet
//   active   signs_from <= now < retired_at        in JWKS, signs (the latest signs_from wins)
//   retired  retired_at <= now                     in JWKS until retired_at + ttl + leeway, so
//                                                  every token it signed can still be verified;
//                                                  after that it leaves JWKS and the repository.
// The publish delay given to rotate() should exceed how long verifiers cache the JWKS.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "tokens/jwk.hpp"
#include "tokens/key_repository.hpp"

namespace latchkey::tokens {

inline constexpr std::size_t kMasterKeyBytes = 32;

enum class KeyState : std::uint8_t { kNext, kActive, kRetired };
std::string_view to_string(KeyState state) noexcept;  // "next", "active", "retired"

// One row of `latchkey keys list`.
struct KeyInfo {
  std::string kid;
  Alg alg = Alg::kRS256;
  TimePoint created_at{};
  TimePoint signs_from{};
  std::optional<TimePoint> retired_at;
  std::optional<TimePoint> leaves_jwks_at;  // retired_at + ttl + leeway
  KeyState state = KeyState::kNext;
};

// An immutable view of the ring at one moment; hold the shared_ptr for as long as you use it.
struct KeySnapshot {
  std::shared_ptr<const SigningKey> signing;  // the key that signs now; null only before load()
  KeySet keys;                                // every key published in JWKS, for verification
  std::string jwks_json;                      // {"keys":[...]} for /.well-known/jwks.json
  TimePoint valid_until = TimePoint::max();   // the next instant a key changes state
};

struct KeyRingOptions {
  Alg alg = Alg::kRS256;  // for the first key and for rotate(std::nullopt, ...)
  std::chrono::seconds access_token_ttl{900};
  std::chrono::seconds leeway{30};
};

class KeyRing {
 public:
  // master_key must be exactly kMasterKeyBytes (std::invalid_argument otherwise: a start-up error).
  KeyRing(KeyRepository& repo, const Clock& clock, Random& random,
          std::span<const std::uint8_t> master_key, KeyRingOptions options);
  ~KeyRing();  // wipes the master key
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // Reads every key and unseals it. When no key can sign now (empty repository), generates one
  // that signs immediately. Fails with a clear message when a key cannot be unsealed (wrong
  // master key) or the repository fails; the previous snapshot, if any, stays in place.
  Status load();
  // Re-reads the repository (other replicas' rotations) and drops keys past their JWKS lifetime.
  Status refresh();
  // Adds a key of alg (default: options.alg) published at once and signing from
  // now + publish_delay; every unretired key retires at that instant. Returns the new kid.
  Result<std::string> rotate(std::optional<Alg> alg, std::chrono::seconds publish_delay);

  // Hot path: an atomic load; rebuilt (without I/O) only when a key changes state.
  std::shared_ptr<const KeySnapshot> snapshot() const;
  // Every key known to this replica, oldest first, with its state now.
  std::vector<KeyInfo> list() const;

 private:
  struct Entry {
    StoredKey stored;
    std::shared_ptr<const SigningKey> key;
  };

  // A freshly generated key, sealed under the master key, published now, signing from
  // `signs_from`. The plaintext private key is wiped before returning.
  StoredKey new_key(Alg alg, TimePoint signs_from);
  Status reload_locked();
  void prune_locked();
  void rebuild_locked() const;
  std::chrono::seconds retention() const { return options_.access_token_ttl + options_.leeway; }

  KeyRepository& repo_;
  const Clock& clock_;
  Random& random_;
  std::array<std::uint8_t, kMasterKeyBytes> master_{};
  KeyRingOptions options_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_
  mutable std::atomic<std::shared_ptr<const KeySnapshot>> snapshot_;
};

}  // namespace latchkey::tokens
