// The Cookie header parser (http/cookies): one or more Cookie header lines (split at '\n' in the
// input) and the cookie names the server reads. A value found never spans a pair separator.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/cookies.hpp"
#include "invariant.hpp"

namespace {
constexpr std::string_view kNames[] = {"__Host-latchkey_refresh", "latchkey_refresh",
                                       "__Host-latchkey_csrf", "latchkey_csrf", "lk_social"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  latchkey::http::Request req{latchkey::http::Verb::get, "/", 11};
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    req.insert(latchkey::http::Field::cookie, rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  for (auto name : kNames) {
    const auto value = latchkey::http::cookie_value(req, name);
    if (value && value->find(';') != std::string::npos) {
      latchkey::fuzz::fail(name, "cookie value spans a ';'");
    }
  }
  return 0;
}
