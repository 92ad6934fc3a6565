#include "identity/email.hpp"

#include <cctype>

namespace latchkey::identity {
namespace {

bool atext(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

Error invalid(std::string msg) {
  return Error::on_field(ErrorCode::kInvalidEmail, "email", std::move(msg));
}

}  // namespace

Result<std::string> normalize_email(std::string_view input) {
  while (!input.empty() && std::isspace(static_cast<unsigned char>(input.front()))) {
    input.remove_prefix(1);
  }
  while (!input.empty() && std::isspace(static_cast<unsigned char>(input.back()))) {
    input.remove_suffix(1);
  }
  if (input.empty()) return invalid("email is required");
  if (input.size() > 254) return invalid("email is too long");
  const auto at = input.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == input.size()) {
    return invalid("email must look like name@example.com");
  }
  const auto local = input.substr(0, at);
  const auto domain = input.substr(at + 1);
  if (local.size() > 64) return invalid("the part before @ is too long");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return invalid("email has misplaced dots");
  }
  for (unsigned char c : local) {
    if (c != '.' && !atext(c)) return invalid("email contains characters that are not allowed");
  }
  if (domain.size() > 253 || domain.find('.') == std::string_view::npos) {
    return invalid("email domain must be a full domain name");
  }
  std::string out(local);
  out += '@';
  std::size_t label_len = 0;
  char prev = '.';
  for (unsigned char c : domain) {
    if (c == '.') {
      if (label_len == 0 || prev == '-') return invalid("email domain is not valid");
      label_len = 0;
    } else if (std::isalnum(c) || c == '-') {
      if (label_len == 0 && c == '-') return invalid("email domain is not valid");
      if (++label_len > 63) return invalid("email domain is not valid");
    } else {
      return invalid("email domain contains characters that are not allowed");
    }
    prev = static_cast<char>(c);
    out += static_cast<char>(std::tolower(c));
  }
  if (label_len == 0 || prev == '-') return invalid("email domain is not valid");
  // The top-level domain is not all digits (that would be an IP address).
  auto tld = domain.substr(domain.rfind('.') + 1);
  bool digits = true;
  for (unsigned char c : tld) digits = digits && std::isdigit(c);
  if (digits) return invalid("email domain is not valid");
  return out;
}

std::string_view local_part(std::string_view email) {
  return email.substr(0, email.rfind('@'));
}

}  // namespace latchkey::identity
