// JWKS parsing (tokens/jwk): hostile key sets must be refused or parsed into keys that survive a
// round trip through to_jwks unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "invariant.hpp"
#include "tokens/jwk.hpp"

namespace tokens = latchkey::tokens;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = tokens::parse_jwks(text);
  if (!parsed) return 0;
  std::vector<tokens::PublicKey> keys;
  for (const auto& [kid, key] : parsed->keys()) keys.push_back(key);
  auto again = tokens::parse_jwks(tokens::to_jwks(keys));
  if (!again || again->size() != parsed->size() || !again->rejected().empty()) {
    latchkey::fuzz::fail("jwks", "round trip changed the key set");
  }
  for (const auto& [kid, key] : parsed->keys()) {
    const auto* same = again->find(kid);
    if (same == nullptr || same->alg() != key.alg()) {
      latchkey::fuzz::fail(kid, "round trip lost or changed the key");
    }
  }
  return 0;
}
