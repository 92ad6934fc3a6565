#include "http/query.hpp"

#include "common/encoding.hpp"

namespace latchkey::http {

namespace {

// A decoded component that must also be UTF-8 (names and values end up in JSON and SQL).
std::optional<std::string> decode_text(std::string_view s) {
  auto out = form_decode(s);
  if (!out || !is_valid_utf8(*out)) return std::nullopt;
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = decode_text(pair.substr(0, eq));
    auto value =
        decode_text(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) {
      return Error::make(ErrorCode::kInvalidRequest, "malformed query string");
    }
    if (!out.emplace(*key, *value).second) {
      return Error::on_field(ErrorCode::kInvalidField, *key, *key + " is given more than once");
    }
  }
  return out;
}

}  // namespace latchkey::http
