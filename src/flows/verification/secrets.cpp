#include "flows/verification/secrets.hpp"

#include "common/encoding.hpp"

namespace latchkey::flows {

namespace {

constexpr std::size_t kSelectorBytes = 12;  // 16 base64url characters
constexpr std::size_t kVerifierBytes = 32;  // 43 base64url characters
constexpr std::size_t kSelectorChars = 16;
constexpr std::size_t kVerifierChars = 43;

bool is_base64url(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Error invalid_token() {
  return Error::make(ErrorCode::kVerificationTokenInvalid, "the link or token is not valid");
}

}  // namespace

Error unknown_token_error() {
  return Error::make(ErrorCode::kVerificationTokenUnknown, "the link or token is not known");
}

Error used_token_error() {
  return Error::make(ErrorCode::kVerificationTokenUsed, "the link or token was already used");
}

std::string link_to(const std::string& public_url, std::string_view page, std::string_view token) {
  std::string base = public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + std::string(page) + "?token=" + std::string(token);
}

std::string_view to_string(Purpose p) noexcept {
  switch (p) {
    case Purpose::kVerifyEmail:
      return "verify_email";
    case Purpose::kResetPassword:
      return "reset_password";
    case Purpose::kChangeEmail:
      return "change_email";
  }
  return "verify_email";
}

std::optional<Purpose> parse_purpose(std::string_view s) noexcept {
  if (s == "verify_email") return Purpose::kVerifyEmail;
  if (s == "reset_password") return Purpose::kResetPassword;
  if (s == "change_email") return Purpose::kChangeEmail;
  return std::nullopt;
}

VerificationSecrets::VerificationSecrets(const Clock& clock, Random& random,
                                         std::vector<std::uint8_t> code_key)
    : clock_(clock), random_(random), code_key_(std::move(code_key)) {}

IssuedSecret VerificationSecrets::issue(const std::string& user_id, Purpose purpose,
                                        const std::string& email, std::chrono::seconds ttl,
                                        bool with_code) {
  IssuedSecret out;
  const auto now = clock_.now();
  out.row.id = random_.token(kSelectorBytes);
  const std::string verifier = random_.token(kVerifierBytes);
  out.token = out.row.id + "." + verifier;
  out.row.user_id = user_id;
  out.row.purpose = purpose;
  out.row.email = email;
  out.row.secret_hash = sha256_hex(verifier);
  if (with_code) {
    const std::uint32_t n = random_.uniform(1'000'000);
    out.code = std::to_string(n);
    out.code.insert(0, 6 - out.code.size(), '0');
    out.row.code_hash = code_hash(out.row.id, out.code);
  }
  out.row.created_at = now;
  out.row.expires_at = now + ttl;
  return out;
}

Result<std::string> VerificationSecrets::selector_of(std::string_view token) {
  const auto dot = token.find('.');
  if (token.size() != kSelectorChars + 1 + kVerifierChars || dot != kSelectorChars) {
    return invalid_token();
  }
  const auto selector = token.substr(0, dot);
  const auto verifier = token.substr(dot + 1);
  if (!is_base64url(selector) || !is_base64url(verifier)) return invalid_token();
  return std::string(selector);
}

Status VerificationSecrets::check_token(const Verification& row, std::string_view token,
                                        std::initializer_list<Purpose> accepted) const {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || token.substr(0, dot) != row.id ||
      !constant_time_equal(sha256_hex(token.substr(dot + 1)), row.secret_hash)) {
    return invalid_token();
  }
  bool purpose_ok = false;
  for (Purpose p : accepted) purpose_ok = purpose_ok || p == row.purpose;
  if (!purpose_ok) return unknown_token_error();
  if (row.used_at) return used_token_error();
  if (clock_.now() >= row.expires_at) {
    return Error::make(ErrorCode::kVerificationTokenExpired, "the link or token has expired");
  }
  return {};
}

bool VerificationSecrets::code_matches(const Verification& row, std::string_view code) const {
  if (row.code_hash.empty()) return false;
  return constant_time_equal(code_hash(row.id, code), row.code_hash);
}

std::string VerificationSecrets::code_hash(std::string_view selector, std::string_view code) const {
  const std::string data = std::string(selector) + ":" + std::string(code);
  return hex_encode(hmac_sha256(code_key_, as_bytes(data)));
}

}  // namespace latchkey::flows
