#pragma once
// Sign-up with e-mail and password. The answer is the same whether or not the address is taken
// (no enumeration): a duplicate costs the same hashing work and changes nothing.

#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "identity/user_repository.hpp"
#include "methods/password/hash_pool.hpp"
#include "methods/password/hasher.hpp"
#include "methods/password/policy.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

// Sends the verification mail of a new account (EmailFlow in production). Called inside the
// unit of work that creates the user, so the user, the secret and the mail land together.
class VerificationSender {
 public:
  virtual ~VerificationSender() = default;
  virtual Status send_verification(const identity::User& user) = 0;
};

struct SignupOptions {
  bool enabled = true;
  bool require_email_verification = false;
};

struct SignupRequest {
  std::string email;  // as typed
  std::string password;
  std::string name;
  sessions::ClientInfo client;
  std::string locale;  // for the user's mail ("en", "ko"); empty = the server's default
};

struct SignupOutcome {
  bool verification_required = false;  // the same for new and duplicate addresses
};

class SignupFlow {
 public:
  // `sender` may be null only when options.require_email_verification is false.
  SignupFlow(identity::UserRepository& users, UnitOfWork& uow, VerificationSender* sender,
             const methods::password::PasswordHasher& hasher,
             const methods::password::PasswordPolicy& policy,
             methods::password::HashPool& hash_pool, audit::AuditSink& audit, const Clock& clock,
             Random& random, SignupOptions options);

  Result<SignupOutcome> run(const SignupRequest& request);

 private:
  identity::UserRepository& users_;
  UnitOfWork& uow_;
  VerificationSender* sender_;
  const methods::password::PasswordHasher& hasher_;
  const methods::password::PasswordPolicy& policy_;
  methods::password::HashPool& hash_pool_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  SignupOptions options_;
};

}  // namespace latchkey::flows
