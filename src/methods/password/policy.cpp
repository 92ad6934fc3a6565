#include "methods/password/policy.hpp"

#include <zxcvbn.h>

#include <cmath>
#include <stdexcept>

#include "common/encoding.hpp"

namespace latchkey::methods::password {
namespace {

constexpr const char* kField = "password";

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Error weak(std::string message) {
  return Error::on_field(ErrorCode::kWeakPassword, kField, std::move(message));
}

}  // namespace

PasswordPolicy::PasswordPolicy(PolicyOptions options) : options_(options) {
  if (options_.min_length < 1 || options_.max_length < options_.min_length ||
      options_.max_length > 1024) {
    throw std::invalid_argument("password length limits out of range");
  }
  if (options_.min_score < 0 || options_.min_score > 4) {
    throw std::invalid_argument("password min_score must be between 0 and 4");
  }
}

int PasswordPolicy::score_from_entropy(double bits) {
  // log10(guesses) = bits * log10(2); comparing logarithms avoids overflow for long passwords.
  const double log10_guesses = bits * std::log10(2.0);
  if (!(log10_guesses >= 3)) return 0;  // also NaN
  if (log10_guesses < 6) return 1;
  if (log10_guesses < 8) return 2;
  if (log10_guesses < 10) return 3;
  return 4;
}

int PasswordPolicy::score(std::string_view password, const std::vector<std::string>& user_inputs) {
  const std::string password_z(password);  // NUL-terminated for the C API
  std::vector<const char*> dict;
  dict.reserve(user_inputs.size() + 1);
  for (const auto& word : user_inputs) {
    if (!word.empty()) dict.push_back(word.c_str());
  }
  dict.push_back(nullptr);
  return score_from_entropy(ZxcvbnMatch(password_z.c_str(), dict.data(), nullptr));
}

Status PasswordPolicy::check(std::string_view password, std::string_view email) const {
  if (!is_valid_utf8(password)) {
    return Error::on_field(ErrorCode::kInvalidField, kField, "Password must be valid UTF-8 text.");
  }
  if (password.find('\0') != std::string_view::npos) {
    return Error::on_field(ErrorCode::kInvalidField, kField,
                           "Password must not contain NUL characters.");
  }
  const std::size_t length = utf8_length(password);
  if (length < options_.min_length) {
    return weak("Password must be at least " + std::to_string(options_.min_length) +
                " characters long.");
  }
  if (length > options_.max_length) {
    return weak("Password must be at most " + std::to_string(options_.max_length) +
                " characters long.");
  }

  std::vector<std::string> user_inputs;
  if (!email.empty() && email.find('\0') == std::string_view::npos) {
    const auto at = email.rfind('@');
    const std::string_view local = at == std::string_view::npos ? email : email.substr(0, at);
    if (utf8_length(local) >= 3 &&
        ascii_lower(password).find(ascii_lower(local)) != std::string::npos) {
      return weak("Password must not contain your e-mail address.");
    }
    user_inputs.emplace_back(local);
    user_inputs.emplace_back(email);
  }

  if (score(password, user_inputs) < options_.min_score) {
    return weak(
        "Password is too common or easy to guess. Try a longer passphrase of unrelated words.");
  }
  return {};
}

}  // namespace latchkey::methods::password
