#pragma once
// Password login. Order: validate input (no hashing of over-long passwords) -> throttle check
// per account and per IP -> take a hashing slot -> look up the user (unknown users get a dummy
// verify, so timing does not tell) -> verify -> upgrade old hashes -> account state -> session.
// Wrong e-mail and wrong password give the same answer.

#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "flows/login/second_factor.hpp"
#include "flows/login/throttle.hpp"
#include "identity/user_repository.hpp"
#include "methods/password/hash_pool.hpp"
#include "methods/password/hasher.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct LoginRequest {
  std::string email;
  std::string password;
  sessions::ClientInfo client;
};

// Checks a password against a stored hash within the hashing limit, and rehashes it (returned)
// when the stored format or parameters are outdated. Shared by login and the settings flows.
class PasswordVerifier {
 public:
  PasswordVerifier(const methods::password::PasswordHasher& hasher,
                   methods::password::HashPool& hash_pool)
      : hasher_(hasher), hash_pool_(hash_pool) {}

  struct Outcome {
    bool match = false;
    std::optional<std::string> upgraded_hash;
  };
  // `stored` empty means "no such user": runs a dummy verify of the same cost.
  Result<Outcome> verify(std::string_view password, std::string_view stored);
  Result<std::string> hash(std::string_view password);
  // For a signed-in user re-entering their password (settings, e-mail change): length check,
  // then verify; kInvalidCredentials on `field` when it does not match or there is none.
  Status confirm(std::string_view password, std::string_view stored, const char* field);

 private:
  const methods::password::PasswordHasher& hasher_;
  methods::password::HashPool& hash_pool_;
};

// Passwords longer than this (in code points) are refused before any hashing.
inline constexpr std::size_t kMaxPasswordLength = 128;
Status check_password_length(std::string_view password, const char* field = "password");

class LoginFlow {
 public:
  // `gate` may be null (no second factors).
  LoginFlow(identity::UserRepository& users, PasswordVerifier& verifier, Throttle& account_throttle,
            Throttle& ip_throttle, sessions::SessionService& sessions, audit::AuditSink& audit,
            const Clock& clock, SecondFactorGate* gate = nullptr);

  // Tokens, or a challenge for the second step when the account has a second factor.
  Result<LoginOutcome> run(const LoginRequest& request);

 private:
  void record_failure(const std::string& email, const LoginRequest& request,
                      const std::string& subject, const std::string& reason);

  identity::UserRepository& users_;
  PasswordVerifier& verifier_;
  Throttle& account_throttle_;
  Throttle& ip_throttle_;
  sessions::SessionService& sessions_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  SecondFactorGate* gate_;
};

}  // namespace latchkey::flows
