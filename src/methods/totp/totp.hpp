#pragma once
// Time-based one-time passwords (RFC 6238, HMAC-SHA1, as every authenticator app supports) on
// top of liboath, plus the pieces an enrolment needs: a fresh secret, its base32 form and the
// otpauth:// URI that authenticator apps scan. Pure: no I/O, the time is an argument.
//
//   Bytes secret = new_totp_secret(random);                      // store it (encrypted)
//   std::string uri = otpauth_uri("Latchkey", "jane@example.com", secret);   // show as QR
//   auto step = totp_verify(secret, "123456", clock.now(), user.totp_last_step);
//   if (!step) return Error::make(ErrorCode::kInvalidCode, "...");
//   user.totp_last_step = *step;   // store it: the same code is refused from now on

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"

namespace latchkey::methods::totp {

struct TotpParams {
  int digits = 6;                   // 6, 7 or 8 (what liboath supports)
  std::chrono::seconds period{30};  // 1 s .. 1 h
  int window = 1;                   // steps accepted either side of now, 0 .. 10
};

// Throws std::invalid_argument when a field is outside the ranges above. Every function below
// calls it, so a bad config value fails at its first use; config validation should call it at
// start-up.
void validate(const TotpParams& params);

inline constexpr std::size_t kTotpSecretBytes = 20;  // 160 bits, as RFC 4226 section 4 advises

// kTotpSecretBytes random bytes.
std::vector<std::uint8_t> new_totp_secret(Random& random);

// RFC 4648 section 6 base32 (A-Z2-7), upper case, without padding.
std::string base32_encode(std::span<const std::uint8_t> data);
// Tolerant of what people type or paste: lower case, spaces/tabs/dashes anywhere and trailing
// '=' padding are accepted. Refuses other characters, impossible lengths (1, 3 or 6 symbols
// in the last group) and non-zero trailing bits (so every byte string has one encoding).
std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text);

// The Key Uri Format of Google Authenticator, understood by every authenticator app:
//   otpauth://totp/{issuer}:{account}?secret={base32}&issuer={issuer}&algorithm=SHA1
//       &digits={digits}&period={seconds}
// issuer and account are percent-encoded byte by byte (RFC 3986: everything except
// A-Z a-z 0-9 - . _ ~), so UTF-8 survives and a ':' in the issuer becomes %3A and cannot be
// mistaken for the label separator. Throws std::invalid_argument when issuer or account is
// empty or not valid UTF-8, or the secret is empty (programming errors: both come from config
// and a normalised user record).
std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::span<const std::uint8_t> secret, TotpParams params = {});

// The code for the time step that contains `at` (zero-padded to params.digits). Throws
// std::invalid_argument for an empty secret or a time before the Unix epoch.
std::string totp_code(std::span<const std::uint8_t> secret, TimePoint at, TotpParams params = {});

// The time step that contains `at`: floor(unix_time / period).
std::int64_t totp_step(TimePoint at, TotpParams params = {});

// The code for time step `step` (>= 0), i.e. for unix times [step * period, (step + 1) * period).
// Reaches times that TimePoint (nanoseconds, up to the year 2262) cannot, such as the last RFC
// 6238 test vector. Throws std::invalid_argument for an empty secret or a negative step.
std::string totp_code_at_step(std::span<const std::uint8_t> secret, std::int64_t step,
                              TotpParams params = {});

// Checks `code` (exactly params.digits ASCII digits, nothing else) against every time step in
// [step(now) - window, step(now) + window]. Returns the matching step, or nullopt.
// Replay protection: steps <= last_used_step are never accepted, even when the code matches;
// the caller stores the returned step as the new last_used_step. When a code matches several
// acceptable steps (a 10^-digits coincidence) the earliest is returned.
// Every candidate is computed and compared in constant time, whatever matches.
std::optional<std::int64_t> totp_verify(std::span<const std::uint8_t> secret, std::string_view code,
                                        TimePoint now, std::optional<std::int64_t> last_used_step,
                                        TotpParams params = {});

}  // namespace latchkey::methods::totp
