#pragma once
// Byte encodings and small crypto helpers shared by every domain: base64url, hex, SHA-256,
// HMAC-SHA256 and constant-time comparison. One place for each.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey {

using Bytes = std::vector<std::uint8_t>;

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// RFC 4648 section 5, no padding on output.
std::string base64url_encode(std::span<const std::uint8_t> data);
inline std::string base64url_encode(std::string_view s) {
  return base64url_encode(as_bytes(s));
}
// Strict: rejects padding, whitespace, characters outside the alphabet and non-canonical
// trailing bits.
std::optional<Bytes> base64url_decode(std::string_view text);

// RFC 4648 section 4 (standard alphabet, with padding).
std::string base64_encode(std::span<const std::uint8_t> data);
std::optional<Bytes> base64_decode(std::string_view text);

std::string hex_encode(std::span<const std::uint8_t> data);
std::optional<Bytes> hex_decode(std::string_view text);

Bytes sha256(std::span<const std::uint8_t> data);
inline Bytes sha256(std::string_view s) {
  return sha256(as_bytes(s));
}
// Lower-case hex SHA-256: how opaque secrets are stored.
std::string sha256_hex(std::string_view s);

Bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

// Constant-time equality. Lengths are not secret.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
inline bool constant_time_equal(std::string_view a, std::string_view b) {
  return constant_time_equal(as_bytes(a), as_bytes(b));
}

// True when s is well-formed UTF-8 (no overlongs, no surrogates, no code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Number of Unicode code points in valid UTF-8 (continuation bytes are not counted).
std::size_t utf8_length(std::string_view s);

// Text for HTML or XML, in element content and in quoted attribute values: & < > " ' become
// &amp; &lt; &gt; &quot; &#39; (the numeric form for ', which HTML 4 has no name for). Every
// other byte is copied as it is.
std::string xml_escape(std::string_view s);

// URL percent-decoding (RFC 3986; '+' stays '+'); nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);
// A form / query-string component: '+' is ' ', then %XX escapes; nullopt on a malformed escape.
std::optional<std::string> form_decode(std::string_view s);

// RFC 3986 percent-encoding of every byte outside the unreserved set A-Z a-z 0-9 - . _ ~
// (so ' ' is %20, never '+').                    percent_encode("a b&c") == "a%20b%26c"
std::string percent_encode(std::string_view s);

// application/x-www-form-urlencoded (WHATWG URL): unreserved bytes as they are, ' ' as '+',
// everything else %XX.          form_encode({{"Body", "1+1&"}}) == "Body=1%2B1%26"
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// A query string or form body ("a=1&b=x+y%21") -> {name: value}, '+' read as ' '. nullopt for
// malformed %-escapes and for a name given twice (OAuth 2.0 parameters must not repeat).
// Empty pairs ("a=1&&b=2") are skipped; a name without '=' has the value "".
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

}  // namespace latchkey
