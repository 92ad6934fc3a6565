#include "http/problem.hpp"

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace latchkey::http {

HttpStatus status_of(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kMalformedJson:
    case ErrorCode::kInvalidField:
    case ErrorCode::kInvalidEmail:
    case ErrorCode::kWeakPassword:
    case ErrorCode::kVerificationTokenInvalid:
    case ErrorCode::kVerificationTokenUnknown:
    case ErrorCode::kInvalidCode:
      return HttpStatus::bad_request;
    case ErrorCode::kVerificationTokenExpired:
    case ErrorCode::kVerificationTokenUsed:
    case ErrorCode::kCodeAttemptsExceeded:
      return HttpStatus::gone;
    case ErrorCode::kUnsupportedMediaType:
      return HttpStatus::unsupported_media_type;
    case ErrorCode::kPayloadTooLarge:
      return HttpStatus::payload_too_large;
    case ErrorCode::kHeadersTooLarge:
      return HttpStatus::request_header_fields_too_large;
    case ErrorCode::kNotFound:
      return HttpStatus::not_found;
    case ErrorCode::kMethodNotAllowed:
      return HttpStatus::method_not_allowed;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInvalidToken:
    case ErrorCode::kTokenExpired:
    case ErrorCode::kInvalidCredentials:
    case ErrorCode::kInvalidRefreshToken:
    case ErrorCode::kRefreshTokenReused:
    case ErrorCode::kSessionRevoked:
    case ErrorCode::kInvalidMfaToken:
      return HttpStatus::unauthorized;
    case ErrorCode::kAccountPending:
    case ErrorCode::kAccountDisabled:
    case ErrorCode::kForbidden:
    case ErrorCode::kCsrfFailed:
      return HttpStatus::forbidden;
    case ErrorCode::kConflict:
      return HttpStatus::conflict;
    case ErrorCode::kRateLimited:
      return HttpStatus::too_many_requests;
    case ErrorCode::kOverloaded:
    case ErrorCode::kUnavailable:
      return HttpStatus::service_unavailable;
    case ErrorCode::kInternal:
      return HttpStatus::internal_server_error;
    case ErrorCode::kInvalidReturnTo:
    case ErrorCode::kSocialCancelled:
    case ErrorCode::kSocialStateInvalid:
      return HttpStatus::bad_request;
    case ErrorCode::kSocialTokenInvalid:
      return HttpStatus::unauthorized;
    case ErrorCode::kSocialSignupClosed:
      return HttpStatus::forbidden;
    case ErrorCode::kLastLoginMethod:
    case ErrorCode::kIdentityAlreadyLinked:
    case ErrorCode::kSocialLinkRequired:
      return HttpStatus::conflict;
    case ErrorCode::kSocialProviderError:
      return HttpStatus::bad_gateway;
    // Administration (issue 7).
    case ErrorCode::kReauthenticationRequired:
      return HttpStatus::unauthorized;
    case ErrorCode::kLastAdmin:
    case ErrorCode::kRoleInUse:
      return HttpStatus::conflict;
  }
  return HttpStatus::internal_server_error;
}

Response problem(const Request& req, const Error& error, const std::string& request_id) {
  const HttpStatus status = status_of(error.code);
  const auto id = code_id(error.code);
  // What went wrong inside stays in the log, under the request id the client sees.
  if (error.code == ErrorCode::kInternal || error.code == ErrorCode::kUnavailable) {
    nlohmann::json fields = {{"request_id", request_id}, {"code", id}};
    if (!error.log_detail.empty()) fields["detail"] = error.log_detail;
    if (error.code == ErrorCode::kInternal) {
      log::error("request failed", fields);
    } else {
      log::warn("request failed", fields);
    }
  }
  nlohmann::json body = {
      {"type", "https://latchkey.dev/problems/" + std::string(id)},
      {"title", std::string(boost::beast::http::obsolete_reason(status))},
      {"status", static_cast<int>(status)},
      {"code", id},
      {"detail", error.message},
  };
  if (!error.field.empty()) body["field"] = error.field;
  if (!request_id.empty()) body["request_id"] = request_id;
  Response res{status, req.version()};
  res.set(Field::content_type, "application/problem+json");
  res.set(Field::cache_control, "no-store");
  if (error.retry_after) res.set(Field::retry_after, std::to_string(*error.retry_after));
  // RFC 6750: a challenge only where a bearer token was wanted; none for wrong passwords or
  // refresh tokens, which are not bearer credentials.
  if (error.code == ErrorCode::kUnauthenticated) {
    res.set(Field::www_authenticate, "Bearer");
  } else if (error.code == ErrorCode::kInvalidToken || error.code == ErrorCode::kTokenExpired ||
             error.code == ErrorCode::kSessionRevoked) {
    res.set(Field::www_authenticate, "Bearer error=\"invalid_token\"");
  }
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

}  // namespace latchkey::http
