#pragma once
// Sign-up with e-mail and password. The answer is the same whether or not the address is taken
// (no enumeration): a duplicate costs the same hashing work and changes nothing.

#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "identity/user_repository.hpp"
#include "methods/password/hash_limiter.hpp"
#include "methods/password/hasher.hpp"
#include "methods/password/policy.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct SignupOptions {
  bool enabled = true;
  bool require_email_verification = false;
};

struct SignupRequest {
  std::string email;  // as typed
  std::string password;
  std::string name;
  sessions::ClientInfo client;
};

struct SignupOutcome {
  bool verification_required = false;  // the same for new and duplicate addresses
};

class SignupFlow {
 public:
  SignupFlow(identity::UserRepository& users, const methods::password::PasswordHasher& hasher,
             const methods::password::PasswordPolicy& policy,
             methods::password::HashLimiter& limiter, audit::AuditSink& audit, const Clock& clock,
             Random& random, SignupOptions options);

  Result<SignupOutcome> run(const SignupRequest& request);

 private:
  identity::UserRepository& users_;
  const methods::password::PasswordHasher& hasher_;
  const methods::password::PasswordPolicy& policy_;
  methods::password::HashLimiter& limiter_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  SignupOptions options_;
};

}  // namespace latchkey::flows
