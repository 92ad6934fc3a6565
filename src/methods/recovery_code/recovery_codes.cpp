#include "methods/recovery_code/recovery_codes.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/encoding.hpp"

namespace latchkey::methods::recovery_code {
namespace {

constexpr std::size_t kMaxInput = 64;

bool in_alphabet(char c) {
  return kRecoveryCodeAlphabet.find(c) != std::string_view::npos;
}

bool is_normalized(std::string_view s) {
  return s.size() == kRecoveryCodeLength && std::all_of(s.begin(), s.end(), in_alphabet);
}

}  // namespace

std::vector<std::string> new_recovery_codes(Random& random, int n) {
  if (n < 1 || n > 100) throw std::invalid_argument("recovery code count must be 1..100");
  std::vector<std::string> codes;
  codes.reserve(static_cast<std::size_t>(n));
  while (codes.size() < static_cast<std::size_t>(n)) {
    std::string code;
    code.reserve(kRecoveryCodeLength + 1);
    for (std::size_t i = 0; i < kRecoveryCodeLength; ++i) {
      if (i == kRecoveryCodeLength / 2) code.push_back('-');
      // uniform() rejects biased draws, so every symbol is equally likely.
      code.push_back(kRecoveryCodeAlphabet[random.uniform(
          static_cast<std::uint32_t>(kRecoveryCodeAlphabet.size()))]);
    }
    // A repeat within one set (odds ~ n^2 / 2^50) would make a code count twice: draw again.
    if (std::find(codes.begin(), codes.end(), code) == codes.end()) {
      codes.push_back(std::move(code));
    }
  }
  return codes;
}

std::string normalize_recovery_code(std::string_view input) {
  if (input.size() > kMaxInput) return {};
  std::string out;
  out.reserve(kRecoveryCodeLength);
  for (char c : input) {
    if (c == ' ' || c == '\t' || c == '-') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!in_alphabet(c)) return {};
    out.push_back(c);
  }
  if (out.size() != kRecoveryCodeLength) return {};
  return out;
}

std::string recovery_code_hash(std::span<const std::uint8_t> key, std::string_view normalized) {
  if (key.empty()) throw std::invalid_argument("recovery code HMAC key is empty");
  if (!is_normalized(normalized)) {
    throw std::invalid_argument("recovery_code_hash needs a normalized recovery code");
  }
  return hex_encode(hmac_sha256(key, as_bytes(normalized)));
}

}  // namespace latchkey::methods::recovery_code
