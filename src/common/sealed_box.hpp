#pragma once
// Secrets at rest under the master key (signing keys, TOTP secrets): libsodium crypto_secretbox
// (XSalsa20-Poly1305), stored as base64(nonce || ciphertext+MAC) with a fresh random nonce.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.hpp"
#include "common/random.hpp"

namespace latchkey {

// Throws std::invalid_argument when `key` is not 32 bytes (a programming error).
std::string seal_box(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext,
                     Random& random);
// The plaintext, or nullopt when the text is malformed or was sealed under another key.
std::optional<Bytes> open_box(std::span<const std::uint8_t> key, std::string_view sealed);

}  // namespace latchkey
