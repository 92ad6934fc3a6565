#pragma once
// Recovery codes: single-use second factors, shown to the user once at enrolment and stored
// only as keyed hashes.
//
//   auto codes = new_recovery_codes(random);            // {"7kq3m-xw2fa", ...}: show once
//   for (auto& c : codes) store(recovery_code_hash(key, normalize_recovery_code(c)));
//   ...
//   std::string n = normalize_recovery_code(typed);     // "" when it cannot be a code
//   if (n.empty()) return Error::make(ErrorCode::kInvalidCode, "...");
//   consume_if_present(recovery_code_hash(key, n));     // then the code is spent
//
// A code is 10 symbols from a 31-symbol alphabet without look-alikes (no 0/O, 1/I/l), about
// 49.5 bits each, displayed lower case as "xxxxx-xxxxx". Entry is forgiving about case, spaces
// and dashes. The HMAC key (a server secret) keeps a stolen table of hashes from being
// brute-forced offline.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.hpp"

namespace latchkey::methods::recovery_code {

inline constexpr std::string_view kRecoveryCodeAlphabet = "23456789abcdefghjkmnpqrstuvwxyz";
inline constexpr std::size_t kRecoveryCodeLength = 10;  // symbols, without the dash

// `n` distinct codes in display form "xxxxx-xxxxx". Throws std::invalid_argument unless
// 1 <= n <= 100.
std::vector<std::string> new_recovery_codes(Random& random, int n = 10);

// The canonical form used for hashing: the 10 symbols in lower case, without separators.
// Case-insensitive; spaces, tabs and '-' anywhere are ignored. Returns "" when what is left is
// not exactly 10 symbols of the alphabet (including any 0, o, 1, i or l, and input over 64
// bytes).
std::string normalize_recovery_code(std::string_view input);

// Lower-case hex HMAC-SHA256(key, normalized): what is stored and looked up. Throws
// std::invalid_argument when the key is empty or `normalized` is not a non-empty result of
// normalize_recovery_code (callers check for "" first and answer kInvalidCode).
std::string recovery_code_hash(std::span<const std::uint8_t> key, std::string_view normalized);

}  // namespace latchkey::methods::recovery_code
