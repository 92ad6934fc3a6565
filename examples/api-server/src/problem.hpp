#pragma once
// The notes API's errors: a closed enum, one stable `code` string and one HTTP status per value,
// rendered as RFC 9457 application/problem+json. The one place that maps errors to HTTP.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/beast/http/status.hpp>

namespace notes {

enum class Problem : std::uint8_t {
  kInvalidRequest,        // 400: a body that is not the JSON we expect, a bad query
  kUnsupportedMediaType,  // 415: a body that is not application/json
  kPayloadTooLarge,       // 413: over the body limit
  kUnauthenticated,       // 401: no bearer token
  kInvalidToken,          // 401: the token failed verification (signature, iss, aud, kid...)
  kTokenExpired,          // 401: the token's exp has passed: refresh and retry
  kTokenRevoked,          // 401: Latchkey says the session behind the token has ended
  kForbidden,             // 403: authenticated, but the role is missing
  kNotFound,              // 404: no such note (or not the caller's: we never say which)
  kMethodNotAllowed,      // 405
  kTooManyNotes,          // 409: the per-user note limit is reached
  kUnavailable,           // 503: Latchkey (JWKS or check) cannot be reached: fail closed
  kInternal,              // 500: a bug
};

// "invalid_token", "token_revoked", ...
std::string_view code_of(Problem p) noexcept;
boost::beast::http::status status_of(Problem p) noexcept;

// What a handler returns when it refuses: the code, and a detail that is safe for the client.
struct ApiError {
  Problem problem = Problem::kInternal;
  std::string detail;
};

// A value or the reason there is none.   if (auto* e = std::get_if<ApiError>(&outcome)) ...
template <typename T>
using Outcome = std::variant<T, ApiError>;

// {"type","title","status","code","detail"} as JSON text.
std::string problem_body(const ApiError& error);

}  // namespace notes
