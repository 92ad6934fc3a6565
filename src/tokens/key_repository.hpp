#pragma once
// Persistence port for signing keys. The private key is stored sealed (libsodium secretbox under
// the master key); replicas share keys through the database.

#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace latchkey::tokens {

struct StoredKey {
  std::string kid;
  std::string alg;             // "RS256" | "ES256" | "EdDSA"
  std::string private_sealed;  // base64(nonce || secretbox(PKCS#8 DER))
  std::string public_jwk;      // JSON text of the public JWK (with kid, alg, use)
  TimePoint created_at{};
  TimePoint signs_from{};               // published in JWKS from created_at, signs from here on
  std::optional<TimePoint> retired_at;  // stops signing; stays in JWKS until tokens expire
};

class KeyRepository {
 public:
  virtual ~KeyRepository() = default;
  virtual Result<std::vector<StoredKey>> list() = 0;  // ordered by created_at
  virtual Status insert(const StoredKey& key) = 0;
  virtual Status retire(const std::string& kid, TimePoint at) = 0;
  virtual Status remove(const std::string& kid) = 0;
};

}  // namespace latchkey::tokens
