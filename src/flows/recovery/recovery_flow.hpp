#pragma once
// Password recovery by e-mail: "forgot password" mails a single-use link (1 h); following it sets
// a new password, ends every session and refresh family of the account, and queues a "your
// password was changed" notice. The answer to "forgot" is the same whether or not the address
// has an account.

#include <chrono>
#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "courier/mailer.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/verification/quota.hpp"
#include "flows/verification/secrets.hpp"
#include "flows/verification/verification.hpp"
#include "identity/user_repository.hpp"
#include "methods/password/policy.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct RecoveryOptions {
  std::string public_url = "http://localhost:8080";
  std::chrono::seconds reset_ttl{3600};
};

class RecoveryFlow {
 public:
  RecoveryFlow(identity::UserRepository& users, VerificationRepository& verifications,
               VerificationSecrets& secrets, courier::Mailer& mailer, SendQuota& quota,
               PasswordVerifier& passwords, const methods::password::PasswordPolicy& policy,
               sessions::SessionService& sessions, UnitOfWork& uow, audit::AuditSink& audit,
               const Clock& clock, RecoveryOptions options);

  // Queues a reset link when the address has an account that may sign in. kRateLimited only
  // for the client IP's quota; kInvalidEmail for a malformed address; otherwise always ok.
  Status forgot(const std::string& email, const sessions::ClientInfo& client);

  // Queues a link that sets the password (supersedes earlier ones), valid for `ttl`: for admin
  // resets and invitations. No quota and no audit: the caller audits its own action.
  Status send_link(const identity::User& user, std::chrono::seconds ttl);

  // Sets the password from a reset token. Token errors: kVerificationToken*; policy errors:
  // kWeakPassword.
  Status reset(const std::string& token, const std::string& password,
               const sessions::ClientInfo& client);

 private:
  identity::UserRepository& users_;
  VerificationRepository& verifications_;
  VerificationSecrets& secrets_;
  courier::Mailer& mailer_;
  SendQuota& quota_;
  PasswordVerifier& passwords_;
  const methods::password::PasswordPolicy& policy_;
  sessions::SessionService& sessions_;
  UnitOfWork& uow_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  RecoveryOptions options_;
};

// "2026-12-01 05:38 UTC"
std::string format_utc_minute(TimePoint t);

}  // namespace latchkey::flows
