#pragma once
// Keys for JOSE: the three signature algorithms we support, signing keys (private), public keys,
// JWK / JWKS conversion and the KeySet a verifier looks keys up in. Pure: no I/O, no clock.
//
//   SigningKey key = generate_signing_key(Alg::kES256, "2026-11-a");     // new key pair
//   Bytes der = key.to_pkcs8();                                         // secret! wipe after use
//   Result<SigningKey> back = SigningKey::from_pkcs8(Alg::kES256, "2026-11-a", der);
//   nlohmann::json jwk = key.public_key().to_jwk();                     // {"kty":"EC",...}
//   Result<PublicKey> pub = parse_jwk(jwk);                             // strict validation
//   Result<KeySet> keys = parse_jwks(R"({"keys":[...]})");              // kid -> key, alg pinned
//
// Every key carries exactly one algorithm ("alg is pinned to the key"): a token is only ever
// checked with the algorithm of the key its kid names, never with the one its header asks for.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "common/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace latchkey::tokens {

// The only algorithms Latchkey signs or accepts. Anything else (none, HS*, PS*, ES384...) is
// refused by the verifier.
enum class Alg : std::uint8_t { kRS256, kES256, kEdDSA };

// "RS256", "ES256", "EdDSA" — the JOSE names.
std::string_view to_string(Alg alg) noexcept;
// Exact, case-sensitive JOSE name -> Alg; nullopt for anything else.   parse_alg("ES256")
std::optional<Alg> parse_alg(std::string_view name) noexcept;

class SigningKey;

// A verification key: an immutable, cheaply copyable handle (shared ownership of the EVP_PKEY).
class PublicKey {
 public:
  PublicKey() = default;
  Alg alg() const noexcept { return alg_; }
  const std::string& kid() const noexcept { return kid_; }
  bool valid() const noexcept { return pkey_ != nullptr; }
  // The public JWK with kid, alg and "use":"sig". Never contains private members.
  nlohmann::json to_jwk() const;
  // For this library's crypto code (and tests): the underlying OpenSSL key.
  evp_pkey_st* native() const noexcept { return pkey_.get(); }

 private:
  friend class SigningKey;
  friend SigningKey generate_signing_key(Alg alg, std::string kid);
  friend Result<PublicKey> parse_jwk(const nlohmann::json& jwk);
  PublicKey(Alg alg, std::string kid, std::shared_ptr<evp_pkey_st> pkey)
      : alg_(alg), kid_(std::move(kid)), pkey_(std::move(pkey)) {}

  Alg alg_ = Alg::kRS256;
  std::string kid_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// A private signing key (RSA 2048, P-256 or Ed25519) with its kid and pinned algorithm.
class SigningKey {
 public:
  Alg alg() const noexcept { return public_.alg(); }
  const std::string& kid() const noexcept { return public_.kid(); }
  const PublicKey& public_key() const noexcept { return public_; }
  // PKCS#8 PrivateKeyInfo DER. Secret: the caller wipes it (sodium_memzero) after use.
  Bytes to_pkcs8() const;
  // Reads PKCS#8 DER; refuses a key whose type does not fit alg (RSA < 2048 bits, not P-256...).
  static Result<SigningKey> from_pkcs8(Alg alg, std::string kid, std::span<const std::uint8_t> der);
  evp_pkey_st* native() const noexcept { return public_.native(); }

 private:
  friend SigningKey generate_signing_key(Alg alg, std::string kid);
  explicit SigningKey(PublicKey pub) : public_(std::move(pub)) {}
  PublicKey public_;  // shares the private EVP_PKEY; only the public half is ever exported
};

// A fresh key pair from OpenSSL's CSPRNG: RS256 -> RSA 2048 (e = 65537), ES256 -> P-256,
// EdDSA -> Ed25519. Throws std::runtime_error if OpenSSL fails (a broken installation).
SigningKey generate_signing_key(Alg alg, std::string kid);

// One public JWK -> PublicKey, strictly:
//  - "alg" is required and must be RS256, ES256 or EdDSA (the key's algorithm is pinned to it);
//  - "kty"/"crv" must fit alg (RSA; EC + P-256; OKP + Ed25519);
//  - "use", when present, must be "sig"; "key_ops", when present, must contain "verify";
//  - private members (d, p, q, dp, dq, qi, oth, k) are refused: a public key set never carries
//  them;
//  - base64url must be canonical (no padding); EC x/y must be 32 bytes and a point on P-256;
//    Ed25519 x must be 32 bytes; RSA n must be 2048..8192 bits without leading zero octets,
//    e odd, >= 3 and at most 64 bits; RSA moduli with the ROCA fingerprint (CVE-2017-15361) are
//    refused.
//  - "kid", when present, must be a string (it may be absent here; KeySet requires it).
// Failures are Error{kInvalidField} whose message says which rule failed.
Result<PublicKey> parse_jwk(const nlohmann::json& jwk);

// kid -> PublicKey. A kid that occurs twice is ambiguous and is dropped entirely.
class KeySet {
 public:
  // Adds key; false (and the kid becomes unusable) when the kid is empty or already present.
  bool add(PublicKey key);
  const PublicKey* find(std::string_view kid) const noexcept;
  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }
  const std::map<std::string, PublicKey, std::less<>>& keys() const noexcept { return keys_; }
  // Why keys of a parsed JWKS were left out (one line per key); for logs.
  const std::vector<std::string>& rejected() const noexcept { return rejected_; }
  void note_rejected(std::string why) { rejected_.push_back(std::move(why)); }

 private:
  std::map<std::string, PublicKey, std::less<>> keys_;
  std::set<std::string, std::less<>> ambiguous_;
  std::vector<std::string> rejected_;
};

// JWKS text {"keys":[...]} -> KeySet. Keys that fail parse_jwk, lack a kid or share a kid are
// left out (see KeySet::rejected) so that one odd key never blocks the others; the document itself
// must be a JSON object (no duplicate member names) with a "keys" array, else Error{kInvalidField}.
Result<KeySet> parse_jwks(std::string_view jwks_text);

// {"keys":[jwk, ...]} for /.well-known/jwks.json.
std::string to_jwks(std::span<const PublicKey> keys);

}  // namespace latchkey::tokens
