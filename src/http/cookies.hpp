#pragma once
// Cookie header parsing and Set-Cookie building.

#include <optional>
#include <string>
#include <string_view>

#include "http/types.hpp"

namespace latchkey::http {

// The value of the cookie called `name` in the request's Cookie header(s), if any. Malformed
// pairs are skipped; values are returned as sent (no decoding). A name sent more than once with
// different values (cookie tossing) counts as absent.
std::optional<std::string> cookie_value(const Request& req, std::string_view name);

struct CookieSpec {
  std::string name;
  std::string value;
  bool http_only = true;
  bool secure = true;
  std::string same_site = "Strict";
  std::string path = "/";
  std::optional<long long> max_age;  // seconds; 0 deletes
};

std::string set_cookie_header(const CookieSpec& spec);

}  // namespace latchkey::http
