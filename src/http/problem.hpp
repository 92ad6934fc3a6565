#pragma once
// The single mapping from ErrorCode to HTTP status and RFC 9457 problem+json body.

#include "common/error.hpp"
#include "http/types.hpp"

namespace latchkey::http {

HttpStatus status_of(ErrorCode code) noexcept;

// application/problem+json with type, title, status, detail, code, (field), request_id.
// Adds Retry-After for kRateLimited/kOverloaded and WWW-Authenticate for 401s.
Response problem(const Request& req, const Error& error, const std::string& request_id);

}  // namespace latchkey::http
