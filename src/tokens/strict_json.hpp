#pragma once
// Internal to latchkey::tokens: strict JSON parsing for untrusted token parts and JWKS. Refuses
// duplicate member names at any depth (RFC 7515 section 5.2: a JOSE header with duplicate names
// must be rejected; claims get the same rule so "sub" cannot mean two things), invalid UTF-8 and
// nesting deeper than kMaxJsonDepth. Never throws.

#include <string_view>

#include <nlohmann/json.hpp>

namespace latchkey::tokens::detail {

inline constexpr int kMaxJsonDepth = 32;

enum class JsonParse { kOk, kNotJson, kNotObject, kDuplicateKey, kTooDeep };

// Parses text into *out; *out is a JSON object when the result is kOk.
JsonParse parse_json_object(std::string_view text, nlohmann::json* out);

}  // namespace latchkey::tokens::detail
