#include "tokens/key_ring.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "common/ids.hpp"
#include "common/sealed_box.hpp"

namespace latchkey::tokens {
namespace {

using Json = nlohmann::json;

Error ring_error(std::string message) {
  return Error::make(ErrorCode::kInternal, std::move(message));
}

bool signs_at(const StoredKey& k, TimePoint now) {
  return k.signs_from <= now && (!k.retired_at || now < *k.retired_at);
}

}  // namespace

std::string_view to_string(KeyState state) noexcept {
  switch (state) {
    case KeyState::kNext:
      return "next";
    case KeyState::kActive:
      return "active";
    case KeyState::kRetired:
      return "retired";
  }
  return "unknown";
}

KeyRing::KeyRing(KeyRepository& repo, const Clock& clock, Random& random,
                 std::span<const std::uint8_t> master_key, KeyRingOptions options)
    : repo_(repo), clock_(clock), random_(random), options_(options) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (master_key.size() != kMasterKeyBytes) {
    throw std::invalid_argument("the master key must be exactly 32 bytes");
  }
  std::copy(master_key.begin(), master_key.end(), master_.begin());
  snapshot_.store(std::make_shared<const KeySnapshot>());
}

KeyRing::~KeyRing() {
  sodium_memzero(master_.data(), master_.size());
}

Status KeyRing::reload_locked() {
  auto listed = repo_.list();
  if (!listed) return std::move(listed).error();
  std::vector<Entry> fresh;
  fresh.reserve(listed->size());
  for (StoredKey& stored : *listed) {
    auto known = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.stored.kid == stored.kid && e.stored.private_sealed == stored.private_sealed;
    });
    if (known != entries_.end()) {
      fresh.push_back({std::move(stored), known->key});
      continue;
    }
    auto alg = parse_alg(stored.alg);
    if (!alg) return ring_error("signing key " + stored.kid + " has unknown alg " + stored.alg);
    auto der = open_box(master_, stored.private_sealed);
    if (!der) {
      return ring_error("cannot unseal signing key " + stored.kid +
                        ": the master key is wrong or the stored key is corrupted");
    }
    auto key = SigningKey::from_pkcs8(*alg, stored.kid, *der);
    sodium_memzero(der->data(), der->size());
    if (!key) return ring_error("signing key " + stored.kid + ": " + key.error().message);
    Json published = Json::parse(stored.public_jwk, nullptr, /*allow_exceptions=*/false);
    if (published != key->public_key().to_jwk()) {
      return ring_error("signing key " + stored.kid +
                        ": public JWK does not match the private key");
    }
    fresh.push_back({std::move(stored), std::make_shared<const SigningKey>(std::move(*key))});
  }
  std::stable_sort(fresh.begin(), fresh.end(), [](const Entry& a, const Entry& b) {
    return a.stored.created_at < b.stored.created_at;
  });
  entries_ = std::move(fresh);
  rebuild_locked();
  return {};
}

void KeyRing::prune_locked() {
  const TimePoint now = clock_.now();
  std::vector<Entry> kept;
  for (Entry& e : entries_) {
    if (e.stored.retired_at && now >= *e.stored.retired_at + retention()) {
      // Another replica may have removed it already; a failed remove is retried next time and
      // the key is out of JWKS either way (rebuild_locked skips it).
      if (repo_.remove(e.stored.kid)) continue;
    }
    kept.push_back(std::move(e));
  }
  entries_ = std::move(kept);
  rebuild_locked();
}

void KeyRing::rebuild_locked() const {
  const TimePoint now = clock_.now();
  auto snap = std::make_shared<KeySnapshot>();
  std::vector<PublicKey> published;
  const Entry* signer = nullptr;
  auto consider = [&](TimePoint t) {
    if (t > now) snap->valid_until = std::min(snap->valid_until, t);
  };
  for (const Entry& e : entries_) {
    const StoredKey& k = e.stored;
    consider(k.signs_from);
    if (k.retired_at) {
      consider(*k.retired_at);
      consider(*k.retired_at + retention());
      if (now >= *k.retired_at + retention()) continue;  // past its JWKS lifetime
    }
    published.push_back(e.key->public_key());
    snap->keys.add(e.key->public_key());
    if (signs_at(k, now) && (signer == nullptr || signer->stored.signs_from <= k.signs_from)) {
      signer = &e;
    }
  }
  if (signer != nullptr) snap->signing = signer->key;
  snap->jwks_json = to_jwks(published);
  snapshot_.store(std::move(snap), std::memory_order_release);
}

StoredKey KeyRing::new_key(Alg alg, TimePoint signs_from) {
  SigningKey key = generate_signing_key(alg, new_uuid_v7(clock_, random_));
  Bytes der = key.to_pkcs8();
  StoredKey stored{key.kid(),
                   std::string(to_string(key.alg())),
                   seal_box(master_, der, random_),
                   key.public_key().to_jwk().dump(),
                   clock_.now(),
                   signs_from,
                   std::nullopt};
  sodium_memzero(der.data(), der.size());
  return stored;
}

Status KeyRing::load() {
  std::lock_guard lock(mu_);
  if (Status s = reload_locked(); !s) return s;
  const TimePoint now = clock_.now();
  const bool can_sign = std::any_of(entries_.begin(), entries_.end(),
                                    [&](const Entry& e) { return signs_at(e.stored, now); });
  if (!can_sign) {
    if (Status s = repo_.insert(new_key(options_.alg, now)); !s) return s;
    if (Status s = reload_locked(); !s) return s;
  }
  prune_locked();
  return {};
}

Status KeyRing::refresh() {
  std::lock_guard lock(mu_);
  if (Status s = reload_locked(); !s) return s;
  prune_locked();
  return {};
}

Result<std::string> KeyRing::rotate(std::optional<Alg> alg, std::chrono::seconds publish_delay) {
  std::lock_guard lock(mu_);
  if (Status s = reload_locked(); !s) return std::move(s).error();
  const TimePoint now = clock_.now();
  const TimePoint signs_from = now + std::max(publish_delay, std::chrono::seconds(0));
  const StoredKey stored = new_key(alg.value_or(options_.alg), signs_from);
  if (Status s = repo_.insert(stored); !s) return std::move(s).error();
  for (const Entry& e : entries_) {
    if (e.stored.retired_at) continue;
    if (Status s = repo_.retire(e.stored.kid, signs_from); !s) return std::move(s).error();
  }
  if (Status s = reload_locked(); !s) return std::move(s).error();
  prune_locked();
  return stored.kid;
}

std::shared_ptr<const KeySnapshot> KeyRing::snapshot() const {
  auto snap = snapshot_.load(std::memory_order_acquire);
  if (clock_.now() < snap->valid_until) return snap;
  std::lock_guard lock(mu_);
  snap = snapshot_.load(std::memory_order_acquire);
  if (clock_.now() >= snap->valid_until) {
    rebuild_locked();
    snap = snapshot_.load(std::memory_order_acquire);
  }
  return snap;
}

std::vector<KeyInfo> KeyRing::list() const {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  std::vector<KeyInfo> out;
  for (const Entry& e : entries_) {
    const StoredKey& k = e.stored;
    KeyInfo info;
    info.kid = k.kid;
    info.alg = e.key->alg();
    info.created_at = k.created_at;
    info.signs_from = k.signs_from;
    info.retired_at = k.retired_at;
    if (k.retired_at) info.leaves_jwks_at = *k.retired_at + retention();
    if (k.retired_at && now >= *k.retired_at) {
      info.state = KeyState::kRetired;
    } else if (now >= k.signs_from) {
      info.state = KeyState::kActive;
    } else {
      info.state = KeyState::kNext;
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace latchkey::tokens
