#include "methods/totp/totp.hpp"

#include <oath.h>

#include <array>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/encoding.hpp"

namespace latchkey::methods::totp {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// liboath wants oath_init() before any other call. A function-local static is initialised
// exactly once even when several threads arrive together (C++11 [stmt.dcl]/4), and every later
// caller sees the finished initialisation. oath_done() is never called: the library holds no
// resources worth releasing at exit.
void ensure_oath() {
  static const bool ready = [] {
    int rc = oath_init();
    if (rc != OATH_OK) {
      throw std::runtime_error(std::string("liboath initialisation failed: ") + oath_strerror(rc));
    }
    return true;
  }();
  (void)ready;
}

void require_secret(std::span<const std::uint8_t> secret) {
  if (secret.empty()) throw std::invalid_argument("TOTP secret is empty");
}

// The code for time step `step` (>= 0); params already validated.
std::string code_for_step(std::span<const std::uint8_t> secret, std::int64_t step,
                          const TotpParams& params) {
  ensure_oath();
  const auto period = static_cast<std::int64_t>(params.period.count());
  std::array<char, 16> out{};  // digits <= 8, plus the terminating NUL
  int rc = oath_totp_generate2(reinterpret_cast<const char*>(secret.data()), secret.size(),
                               static_cast<time_t>(step * period), static_cast<unsigned>(period),
                               OATH_TOTP_DEFAULT_START_TIME, static_cast<unsigned>(params.digits),
                               0 /* HMAC-SHA1 */, out.data());
  if (rc != OATH_OK) {
    throw std::runtime_error(std::string("oath_totp_generate2 failed: ") + oath_strerror(rc));
  }
  return std::string(out.data());
}

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

void validate(const TotpParams& params) {
  if (params.digits < 6 || params.digits > 8) {
    throw std::invalid_argument("TOTP digits must be 6, 7 or 8");
  }
  if (params.period < std::chrono::seconds(1) || params.period > std::chrono::hours(1)) {
    throw std::invalid_argument("TOTP period must be between 1 second and 1 hour");
  }
  if (params.window < 0 || params.window > 10) {
    throw std::invalid_argument("TOTP window must be between 0 and 10 steps");
  }
}

std::vector<std::uint8_t> new_totp_secret(Random& random) {
  return random.bytes(kTotpSecretBytes);
}

std::string base32_encode(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 0x1f]);
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text) {
  // Drop separators; padding only at the end.
  std::string symbols;
  symbols.reserve(text.size());
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '-') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding) return std::nullopt;  // a symbol after '='
    if (base32_value(c) < 0) return std::nullopt;
    symbols.push_back(c);
  }
  // A final group of 8 symbols holds 5 bytes; 2, 4, 5 and 7 symbols hold 1..4 bytes. 1, 3 and 6
  // symbols cannot come from any byte string.
  switch (symbols.size() % 8) {
    case 1:
    case 3:
    case 6:
      return std::nullopt;
    default:
      break;
  }
  std::vector<std::uint8_t> out;
  out.reserve(symbols.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : symbols) {
    buffer = (buffer << 5) | static_cast<std::uint32_t>(base32_value(c));
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits (< 5) must be zero: otherwise two texts would decode to the same bytes.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::span<const std::uint8_t> secret, TotpParams params) {
  validate(params);
  require_secret(secret);
  if (issuer.empty() || !is_valid_utf8(issuer)) {
    throw std::invalid_argument("otpauth issuer must be non-empty UTF-8");
  }
  if (account.empty() || !is_valid_utf8(account)) {
    throw std::invalid_argument("otpauth account must be non-empty UTF-8");
  }
  const std::string enc_issuer = percent_encode(issuer);
  std::string uri = "otpauth://totp/";
  uri += enc_issuer;
  uri += ':';
  uri += percent_encode(account);
  uri += "?secret=";
  uri += base32_encode(secret);
  uri += "&issuer=";
  uri += enc_issuer;
  uri += "&algorithm=SHA1&digits=";
  uri += std::to_string(params.digits);
  uri += "&period=";
  uri += std::to_string(params.period.count());
  return uri;
}

std::int64_t totp_step(TimePoint at, TotpParams params) {
  validate(params);
  const std::int64_t t = to_unix(at);
  const std::int64_t period = params.period.count();
  // Floor division, so a time just before the epoch is step -1, not 0.
  return t >= 0 ? t / period : -((-t + period - 1) / period);
}

std::string totp_code_at_step(std::span<const std::uint8_t> secret, std::int64_t step,
                              TotpParams params) {
  validate(params);
  require_secret(secret);
  if (step < 0) throw std::invalid_argument("TOTP time before the Unix epoch");
  if (step > std::numeric_limits<std::int64_t>::max() / params.period.count()) {
    throw std::invalid_argument("TOTP time step out of range");
  }
  return code_for_step(secret, step, params);
}

std::string totp_code(std::span<const std::uint8_t> secret, TimePoint at, TotpParams params) {
  return totp_code_at_step(secret, totp_step(at, params), params);
}

std::optional<std::int64_t> totp_verify(std::span<const std::uint8_t> secret, std::string_view code,
                                        TimePoint now, std::optional<std::int64_t> last_used_step,
                                        TotpParams params) {
  validate(params);
  require_secret(secret);
  if (code.size() != static_cast<std::size_t>(params.digits)) return std::nullopt;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  const std::int64_t current = totp_step(now, params);
  std::optional<std::int64_t> accepted;
  // Every step of the window is computed and compared, in constant time, whether or not an
  // earlier one matched: the time taken says nothing about the code.
  for (std::int64_t step = current - params.window; step <= current + params.window; ++step) {
    if (step < 0) continue;  // before the epoch: no such step
    const bool matches = constant_time_equal(code_for_step(secret, step, params), code);
    // Invariant (replay protection): a step at or before the last one used is never accepted.
    const bool fresh = !last_used_step || step > *last_used_step;
    if (matches && fresh && !accepted) accepted = step;
  }
  return accepted;
}

}  // namespace latchkey::methods::totp
