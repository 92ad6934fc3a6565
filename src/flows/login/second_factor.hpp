#pragma once
// The seam between a first login step (password, SMS code) and second factors: after the first
// step succeeds, the login asks the gate whether the account needs a second factor. If it
// does, the answer is a challenge (an mfa_token and the methods on offer) and no tokens: between
// the two steps no endpoint hands out tokens.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "identity/user.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct MfaChallenge {
  std::string mfa_token;             // short-lived, single use
  std::vector<std::string> methods;  // "totp", "sms", "recovery_code"
  std::int64_t expires_in = 0;       // seconds
};

// What a login step ends with: tokens, or a challenge for the second step.
struct LoginOutcome {
  std::optional<sessions::Tokens> tokens;
  std::optional<MfaChallenge> challenge;
};

class SecondFactorGate {
 public:
  virtual ~SecondFactorGate() = default;
  // nullopt: no second factor needed. `amr` holds the first step's methods ("pwd", "sms").
  virtual Result<std::optional<MfaChallenge>> challenge_if_needed(
      const identity::User& user, const std::vector<std::string>& amr,
      const sessions::ClientInfo& client) = 0;
};

}  // namespace latchkey::flows
