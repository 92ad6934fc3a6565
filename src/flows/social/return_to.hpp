#pragma once
// Where a social login may send the browser back to: only under one of the configured URL
// prefixes (social.allowed_return_to), compared as parsed URLs, never as strings, so that
// "https://app.example.com.evil.com/" or "https://app.example.com@evil.com/" do not pass
// "https://app.example.com/".
//
//   return_to_allowed("https://app.example.com/settings?x=1", {"https://app.example.com/"})  //
//   true

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::flows {

struct ParsedHttpUrl {
  std::string scheme;  // "http" | "https", lower case
  std::string host;    // lower case, port included only when not the scheme's default
  std::string path;    // "/" when empty; query and fragment are not part of it
};

// Strict parse of an absolute http(s) URL: no user info, no backslashes, no control characters
// or spaces, no ".." / "." segments or encoded dots and slashes in the path. nullopt otherwise.
std::optional<ParsedHttpUrl> parse_http_url(std::string_view url);

// True when `url` parses and has the scheme and host of a prefix and a path under the prefix's
// path ("/app" allows "/app", "/app/x" and "/app?x", not "/application").
bool return_to_allowed(std::string_view url, const std::vector<std::string>& prefixes);

}  // namespace latchkey::flows
