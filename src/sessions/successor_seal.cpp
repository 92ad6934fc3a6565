#include "sessions/successor_seal.hpp"

#include <sodium.h>

#include "common/encoding.hpp"

namespace latchkey::sessions {
namespace {

Bytes derive_key(std::string_view old_token) {
  static constexpr std::string_view kContext = "latchkey/refresh-successor/v1";
  return hmac_sha256(as_bytes(kContext), as_bytes(old_token));
}

}  // namespace

std::string seal_successor(std::string_view successor, std::string_view old_token, Random& random) {
  const Bytes key = derive_key(old_token);
  Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + successor.size());
  random.fill(std::span(out.data(), crypto_secretbox_NONCEBYTES));
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(successor.data()), successor.size(),
                        out.data(), key.data());
  return base64url_encode(out);
}

std::optional<std::string> open_successor(std::string_view sealed, std::string_view old_token) {
  auto raw = base64url_decode(sealed);
  if (!raw || raw->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return std::nullopt;
  }
  const Bytes key = derive_key(old_token);
  std::string out(raw->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(
          reinterpret_cast<unsigned char*>(out.data()), raw->data() + crypto_secretbox_NONCEBYTES,
          raw->size() - crypto_secretbox_NONCEBYTES, raw->data(), key.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace latchkey::sessions
