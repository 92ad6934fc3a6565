#include "methods/password/hasher.hpp"

#include <crypt.h>
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "common/encoding.hpp"

namespace latchkey::methods::password {
namespace {

enum class Format { kArgon2id, kArgon2i, kBcrypt };

struct Parsed {
  Format format;
  std::uint64_t memory_kib = 0;  // argon2 only
  std::uint64_t iterations = 0;  // argon2 only
  int cost = 0;                  // bcrypt only
};

// Longest stored hash we look at; real ones are 60 (bcrypt) to ~100 (argon2) characters.
constexpr std::size_t kMaxStoredBytes = 512;

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// 1 to 10 decimal digits.
std::optional<std::uint64_t> consume_number(std::string_view& s) {
  std::size_t n = 0;
  std::uint64_t value = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
    if (n == 10) return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(s[n] - '0');
    ++n;
  }
  if (n == 0) return std::nullopt;
  s.remove_prefix(n);
  return value;
}

bool is_b64_char(char c) {  // the unpadded standard alphabet used by PHC strings
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}
bool is_bcrypt_b64_char(char c) {  // bcrypt's own alphabet: ./A-Za-z0-9
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

// A non-empty run of PHC base64 characters, ended by `end` (or by the end of the string when
// `end` is 0).
bool consume_b64(std::string_view& s, char end) {
  std::size_t n = 0;
  while (n < s.size() && is_b64_char(s[n])) ++n;
  if (n == 0) return false;
  s.remove_prefix(n);
  if (end == 0) return s.empty();
  return consume(s, std::string_view(&end, 1));
}

// $argon2id$v=19$m=<kib>,t=<iterations>,p=1$<salt>$<hash>  (and the same for argon2i).
std::optional<Parsed> parse_argon2(std::string_view s) {
  Parsed p{Format::kArgon2id};
  if (consume(s, "$argon2id$")) {
    p.format = Format::kArgon2id;
  } else if (consume(s, "$argon2i$")) {
    p.format = Format::kArgon2i;
  } else {
    return std::nullopt;
  }
  if (!consume(s, "v=19$") || !consume(s, "m=")) return std::nullopt;
  const auto m = consume_number(s);
  if (!m || !consume(s, ",t=")) return std::nullopt;
  const auto t = consume_number(s);
  if (!t || !consume(s, ",p=")) return std::nullopt;
  const auto lanes = consume_number(s);
  // libsodium implements one lane only.
  if (!lanes || *lanes != 1 || !consume(s, "$")) return std::nullopt;
  if (!consume_b64(s, '$') || !consume_b64(s, 0)) return std::nullopt;
  p.memory_kib = *m;
  p.iterations = *t;
  return p;
}

// $2b$<cost:2 digits>$<22 salt chars><31 hash chars>, also $2a$ and $2y$.
std::optional<Parsed> parse_bcrypt(std::string_view s) {
  if (s.size() != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$') {
    return std::nullopt;
  }
  if (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') return std::nullopt;
  if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9') return std::nullopt;
  if (!std::all_of(s.begin() + 7, s.end(), is_bcrypt_b64_char)) return std::nullopt;
  return Parsed{Format::kBcrypt, 0, 0, (s[4] - '0') * 10 + (s[5] - '0')};
}

const char* bytes_of(std::string_view password) {
  // libsodium wants a valid pointer even for an empty password.
  return password.empty() ? "" : password.data();
}

void check_params(const Argon2Params& p) {
  if (p.iterations < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      p.iterations > crypto_pwhash_argon2id_OPSLIMIT_MAX) {
    throw std::invalid_argument("argon2 iterations out of range");
  }
  if (p.memory_kib > crypto_pwhash_argon2id_MEMLIMIT_MAX / 1024 ||
      p.memory_kib * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    throw std::invalid_argument("argon2 memory_kib out of range");
  }
}

}  // namespace

PasswordHasher::PasswordHasher(Random& random, Argon2Params params) : params_(params) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  check_params(params_);
  std::string dummy_password = random.token(32);
  dummy_hash_ = hash(dummy_password);
  sodium_memzero(dummy_password.data(), dummy_password.size());
}

std::string PasswordHasher::hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    throw std::length_error("password longer than PasswordHasher::kMaxPasswordBytes");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, bytes_of(password), password.size(), params_.iterations,
                            static_cast<std::size_t>(params_.memory_kib) * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool PasswordHasher::understands(std::string_view stored) const {
  if (stored.size() > kMaxStoredBytes) return false;
  if (auto b = parse_bcrypt(stored)) return b->cost >= 4 && b->cost <= kMaxBcryptCost;
  const auto a = parse_argon2(stored);
  if (!a) return false;
  const std::uint64_t max_memory = std::max(kMaxVerifyMemoryKib, params_.memory_kib);
  const std::uint64_t max_iterations = std::max(kMaxVerifyIterations, params_.iterations);
  return a->memory_kib >= 8 && a->memory_kib <= max_memory && a->iterations >= 1 &&
         a->iterations <= max_iterations;
}

PasswordHasher::Verdict PasswordHasher::verify(std::string_view password,
                                               std::string_view stored) const {
  // Fail closed: every path that is not a positive check of the password ends in kMismatch.
  if (password.size() > kMaxPasswordBytes || !understands(stored)) return Verdict::kMismatch;

  const std::string stored_z(stored);  // NUL-terminated for the C APIs
  if (auto b = parse_bcrypt(stored)) {
    // crypt() reads a C string: a password with a NUL byte would be cut short there.
    if (password.find('\0') != std::string_view::npos) return Verdict::kMismatch;
    std::string password_z(password);
    thread_local crypt_data data{};
    const char* out = crypt_rn(password_z.c_str(), stored_z.c_str(), &data, sizeof data);
    const bool match = out != nullptr && constant_time_equal(std::string_view(out), stored);
    sodium_memzero(&data, sizeof data);
    sodium_memzero(password_z.data(), password_z.size());
    return match ? Verdict::kMatchNeedsRehash : Verdict::kMismatch;
  }

  // libsodium picks argon2id or argon2i from the prefix and compares in constant time.
  if (crypto_pwhash_str_verify(stored_z.c_str(), bytes_of(password), password.size()) != 0) {
    return Verdict::kMismatch;
  }
  if (!stored.starts_with("$argon2id$")) return Verdict::kMatchNeedsRehash;
  // 0 = same algorithm and parameters; 1 = different; -1 = unparsable (not reached: verified).
  const int needs = crypto_pwhash_str_needs_rehash(
      stored_z.c_str(), params_.iterations, static_cast<std::size_t>(params_.memory_kib) * 1024);
  return needs == 0 ? Verdict::kMatch : Verdict::kMatchNeedsRehash;
}

void PasswordHasher::dummy_verify(std::string_view password) const {
  (void)verify(password, dummy_hash_);
}

}  // namespace latchkey::methods::password
