#include "common/sealed_box.hpp"

#include <sodium.h>

#include <stdexcept>

namespace latchkey {

std::string seal_box(std::span<const std::uint8_t> master_key,
                     std::span<const std::uint8_t> plaintext, Random& random) {
  if (master_key.size() != crypto_secretbox_KEYBYTES) {
    throw std::invalid_argument("master key must be 32 bytes");
  }
  Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  random.fill(std::span(out).first(crypto_secretbox_NONCEBYTES));
  if (crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plaintext.data(),
                            plaintext.size(), out.data(), master_key.data()) != 0) {
    throw std::runtime_error("crypto_secretbox_easy failed");
  }
  return base64_encode(out);
}

std::optional<Bytes> open_box(std::span<const std::uint8_t> master_key, std::string_view sealed) {
  if (master_key.size() != crypto_secretbox_KEYBYTES) return std::nullopt;
  auto raw = base64_decode(sealed);
  if (!raw || raw->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return std::nullopt;
  }
  const std::size_t cipher_len = raw->size() - crypto_secretbox_NONCEBYTES;
  Bytes plain(cipher_len - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(plain.data(), raw->data() + crypto_secretbox_NONCEBYTES,
                                 cipher_len, raw->data(), master_key.data()) != 0) {
    return std::nullopt;
  }
  return plain;
}

}  // namespace latchkey
