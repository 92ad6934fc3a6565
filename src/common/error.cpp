#include "common/error.hpp"

namespace latchkey {

std::string_view code_id(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidRequest:
      return "invalid_request";
    case ErrorCode::kMalformedJson:
      return "malformed_json";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kHeadersTooLarge:
      return "headers_too_large";
    case ErrorCode::kInvalidField:
      return "invalid_field";
    case ErrorCode::kInvalidEmail:
      return "invalid_email";
    case ErrorCode::kWeakPassword:
      return "weak_password";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kInvalidToken:
      return "invalid_token";
    case ErrorCode::kTokenExpired:
      return "token_expired";
    case ErrorCode::kInvalidCredentials:
      return "invalid_credentials";
    case ErrorCode::kAccountPending:
      return "account_pending";
    case ErrorCode::kAccountDisabled:
      return "account_disabled";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kCsrfFailed:
      return "csrf_failed";
    case ErrorCode::kInvalidRefreshToken:
      return "invalid_refresh_token";
    case ErrorCode::kRefreshTokenReused:
      return "refresh_token_reused";
    case ErrorCode::kSessionRevoked:
      return "session_revoked";
    case ErrorCode::kInvalidMfaToken:
      return "invalid_mfa_token";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kVerificationTokenInvalid:
      return "verification_token_invalid";
    case ErrorCode::kVerificationTokenUnknown:
      return "verification_token_unknown";
    case ErrorCode::kVerificationTokenExpired:
      return "verification_token_expired";
    case ErrorCode::kVerificationTokenUsed:
      return "verification_token_used";
    case ErrorCode::kInvalidCode:
      return "invalid_code";
    case ErrorCode::kCodeAttemptsExceeded:
      return "code_attempts_exceeded";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kOverloaded:
      return "overloaded";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kInvalidReturnTo:
      return "invalid_return_to";
    case ErrorCode::kLastLoginMethod:
      return "last_login_method";
    case ErrorCode::kIdentityAlreadyLinked:
      return "identity_already_linked";
    case ErrorCode::kSocialCancelled:
      return "social_cancelled";
    case ErrorCode::kSocialProviderError:
      return "social_provider_error";
    case ErrorCode::kSocialStateInvalid:
      return "social_state_invalid";
    case ErrorCode::kSocialTokenInvalid:
      return "social_token_invalid";
    case ErrorCode::kSocialLinkRequired:
      return "social_link_required";
    case ErrorCode::kSocialSignupClosed:
      return "social_signup_closed";
    // Administration (issue 7).
    case ErrorCode::kReauthenticationRequired:
      return "reauthentication_required";
    case ErrorCode::kLastAdmin:
      return "last_admin";
    case ErrorCode::kRoleInUse:
      return "role_in_use";
  }
  return "internal";
}

}  // namespace latchkey
