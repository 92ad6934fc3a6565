#include "http/cookies.hpp"

namespace latchkey::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> cookie_value(const Request& req, std::string_view name) {
  std::optional<std::string> found;
  for (auto it = req.find(Field::cookie); it != req.end() && it->name() == Field::cookie; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim(pair.substr(0, eq)) != name) continue;
      auto value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      // The same name twice with different values is ambiguous: a cookie tossed in by a
      // sibling domain or a more specific path could win. Trust neither.
      if (found && *found != value) return std::nullopt;
      found = std::string(value);
    }
  }
  return found;
}

std::string set_cookie_header(const CookieSpec& spec) {
  std::string out = spec.name + "=" + spec.value + "; Path=" + spec.path;
  if (spec.max_age) out += "; Max-Age=" + std::to_string(*spec.max_age);
  if (spec.secure) out += "; Secure";
  if (spec.http_only) out += "; HttpOnly";
  if (!spec.same_site.empty()) out += "; SameSite=" + spec.same_site;
  return out;
}

}  // namespace latchkey::http
