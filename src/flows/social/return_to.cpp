#include "flows/social/return_to.hpp"

#include <algorithm>
#include <cctype>

namespace latchkey::flows {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains_ci(std::string_view haystack, std::string_view needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
         c == '[' || c == ']';
}

}  // namespace

std::optional<ParsedHttpUrl> parse_http_url(std::string_view url) {
  if (url.empty() || url.size() > 2048) return std::nullopt;
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') return std::nullopt;
  }
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  ParsedHttpUrl out;
  out.scheme = lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  const auto end_authority = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end_authority);
  rest = end_authority == std::string_view::npos ? std::string_view() : rest.substr(end_authority);
  if (authority.empty() || !std::all_of(authority.begin(), authority.end(), host_char)) {
    return std::nullopt;  // '@' (user info), '%' and anything else odd in the host
  }
  out.host = lower(authority);
  const auto colon = out.host.rfind(':');
  if (colon != std::string::npos && out.host.find(']', colon) == std::string::npos) {
    const std::string port = out.host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    if ((out.scheme == "https" && port == "443") || (out.scheme == "http" && port == "80")) {
      out.host.resize(colon);
    }
  }
  if (out.host.empty() || out.host.front() == ':') return std::nullopt;
  const auto end_path = rest.find_first_of("?#");
  const std::string_view path = rest.substr(0, end_path);
  out.path = path.empty() ? std::string(1, '/') : std::string(path);
  // Segments that a browser or proxy could rewrite to climb out of the allowed prefix.
  if (out.path.find("/./") != std::string::npos || out.path.find("/../") != std::string::npos ||
      out.path.ends_with("/.") || out.path.ends_with("/..") || out.path.find("//") == 0 ||
      contains_ci(out.path, "%2e") || contains_ci(out.path, "%2f") ||
      contains_ci(out.path, "%5c")) {
    return std::nullopt;
  }
  return out;
}

bool return_to_allowed(std::string_view url, const std::vector<std::string>& prefixes) {
  const auto target = parse_http_url(url);
  if (!target) return false;
  for (const auto& prefix : prefixes) {
    const auto allowed = parse_http_url(prefix);
    if (!allowed || allowed->scheme != target->scheme || allowed->host != target->host) continue;
    const std::string& p = allowed->path;
    if (target->path.rfind(p, 0) != 0) continue;
    // "/app" allows "/app" and "/app/...", not "/application".
    if (p.back() == '/' || target->path.size() == p.size() || target->path[p.size()] == '/') {
      return true;
    }
  }
  return false;
}

}  // namespace latchkey::flows
