#include "problem.hpp"

#include <nlohmann/json.hpp>

namespace notes {

using Status = boost::beast::http::status;

std::string_view code_of(Problem p) noexcept {
  switch (p) {
    case Problem::kInvalidRequest:
      return "invalid_request";
    case Problem::kUnsupportedMediaType:
      return "unsupported_media_type";
    case Problem::kPayloadTooLarge:
      return "payload_too_large";
    case Problem::kUnauthenticated:
      return "unauthenticated";
    case Problem::kInvalidToken:
      return "invalid_token";
    case Problem::kTokenExpired:
      return "token_expired";
    case Problem::kTokenRevoked:
      return "token_revoked";
    case Problem::kForbidden:
      return "forbidden";
    case Problem::kNotFound:
      return "not_found";
    case Problem::kMethodNotAllowed:
      return "method_not_allowed";
    case Problem::kTooManyNotes:
      return "too_many_notes";
    case Problem::kUnavailable:
      return "unavailable";
    case Problem::kInternal:
      return "internal";
  }
  return "internal";
}

Status status_of(Problem p) noexcept {
  switch (p) {
    case Problem::kInvalidRequest:
      return Status::bad_request;
    case Problem::kUnsupportedMediaType:
      return Status::unsupported_media_type;
    case Problem::kPayloadTooLarge:
      return Status::payload_too_large;
    case Problem::kUnauthenticated:
    case Problem::kInvalidToken:
    case Problem::kTokenExpired:
    case Problem::kTokenRevoked:
      return Status::unauthorized;
    case Problem::kForbidden:
      return Status::forbidden;
    case Problem::kNotFound:
      return Status::not_found;
    case Problem::kMethodNotAllowed:
      return Status::method_not_allowed;
    case Problem::kTooManyNotes:
      return Status::conflict;
    case Problem::kUnavailable:
      return Status::service_unavailable;
    case Problem::kInternal:
      return Status::internal_server_error;
  }
  return Status::internal_server_error;
}

std::string problem_body(const ApiError& error) {
  const auto code = code_of(error.problem);
  const auto status = status_of(error.problem);
  nlohmann::json body = {
      {"type", "https://latchkey.dev/problems/notes/" + std::string(code)},
      {"title", std::string(boost::beast::http::obsolete_reason(status))},
      {"status", static_cast<int>(status)},
      {"code", code},
      {"detail", error.detail},
  };
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace notes
