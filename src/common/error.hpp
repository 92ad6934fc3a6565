#pragma once
// Expected failures as values: a closed ErrorCode with a stable string id, and a message that is
// safe to show to the client. The HTTP layer maps each code to a status in exactly one place.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace latchkey {

enum class ErrorCode : std::uint8_t {
  kInvalidRequest,            // malformed request shape
  kMalformedJson,             // body is not valid JSON (or not UTF-8)
  kUnsupportedMediaType,      // wrong Content-Type
  kPayloadTooLarge,           // body over the limit
  kHeadersTooLarge,           // request header fields over the limit
  kInvalidField,              // a field is missing, of the wrong type, too long or unknown
  kInvalidEmail,              // not a usable e-mail address
  kWeakPassword,              // rejected by the password policy
  kNotFound,                  // no such resource (or not the caller's)
  kMethodNotAllowed,          // route exists, method does not
  kUnauthenticated,           // no credentials given
  kInvalidToken,              // access token failed verification
  kTokenExpired,              // access token expired
  kInvalidCredentials,        // wrong e-mail or password (never says which)
  kAccountPending,            // e-mail not verified yet
  kAccountDisabled,           // account disabled by an admin
  kForbidden,                 // authenticated but not allowed
  kCsrfFailed,                // cookie-authenticated request without a matching CSRF token
  kInvalidRefreshToken,       // unknown, expired or revoked refresh token
  kRefreshTokenReused,        // a rotated refresh token was presented again; family revoked
  kSessionRevoked,            // the session behind the token was revoked
  kInvalidMfaToken,           // unknown, expired or used second-step token of a login
  kConflict,                  // state conflict (e.g. concurrent update)
  kVerificationTokenInvalid,  // malformed or tampered verification/reset token
  kVerificationTokenUnknown,  // no such token (or not one for this purpose)
  kVerificationTokenExpired,  // the token's time ran out
  kVerificationTokenUsed,     // the token was already used (or superseded by a newer one)
  kInvalidCode,               // wrong or unknown one-time code
  kCodeAttemptsExceeded,      // too many wrong codes: this code is dead, ask for a new one
  kRateLimited,               // throttled; retry_after says when
  kOverloaded,                // a bounded queue is full; retry_after says when
  kUnavailable,               // a dependency (database) is unreachable
  kInternal,                  // a bug or unexpected failure; details go to the log only
  // Social login (issue 5). The kSocial* ids are also the `error` of the login page redirect.
  kInvalidReturnTo,        // return_to is not under one of social.allowed_return_to
  kLastLoginMethod,        // removing it would leave the account no way to log in
  kIdentityAlreadyLinked,  // the provider account is linked to another user
  kSocialCancelled,        // the user cancelled at the provider (access_denied)
  kSocialProviderError,    // the provider failed or answered something unusable
  kSocialStateInvalid,     // missing, unknown, replayed or foreign state
  kSocialTokenInvalid,     // the provider's id_token failed validation
  kSocialLinkRequired,     // an account with the address exists: log in and link from settings
  kSocialSignupClosed,     // no account for the identity and sign-up is closed
  // Administration (issue 7).
  kReauthenticationRequired,  // a destructive admin action needs a recent sign-in (auth_time)
  kLastAdmin,                 // the change would leave no active administrator
  kRoleInUse,                 // the role is still assigned to users
};

// Stable string id, used as the problem+json `code` and in logs. Never change an existing id.
std::string_view code_id(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;             // safe for the client
  std::string field;               // the offending field, when there is one
  std::optional<int> retry_after;  // seconds, for kRateLimited / kOverloaded
  std::string log_detail;          // for the log only; never sent to clients

  static Error make(ErrorCode c, std::string msg) { return Error{c, std::move(msg), {}, {}, {}}; }
  static Error on_field(ErrorCode c, std::string field_name, std::string msg) {
    return Error{c, std::move(msg), std::move(field_name), {}, {}};
  }
  static Error internal(std::string detail) {
    return Error{ErrorCode::kInternal, "internal error", {}, {}, std::move(detail)};
  }
};

}  // namespace latchkey
