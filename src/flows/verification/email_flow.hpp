#pragma once
// The e-mail channel's flows: verifying the address given at sign-up (link or code), asking for
// a new verification mail, and changing the address of an account (confirmed from the new
// address; the old one is told). Mail goes through the outbox in the same unit of work as the
// change it belongs to; nothing is sent inside a request.

#include <chrono>
#include <optional>
#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "courier/mailer.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/signup/signup_flow.hpp"
#include "flows/verification/quota.hpp"
#include "flows/verification/secrets.hpp"
#include "flows/verification/verification.hpp"
#include "identity/user_repository.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct EmailFlowOptions {
  std::string public_url = "http://localhost:8080";  // links point at the web app's pages
  std::chrono::seconds verify_ttl{24 * 3600};
  int code_attempts = 5;
  bool login_after_verification = false;
};

struct VerifyEmailRequest {
  std::string token;  // from the link; or:
  std::string email;  // with
  std::string code;   // the 6-digit code (shape checked by the caller)
  sessions::ClientInfo client;
};

struct VerifyEmailOutcome {
  std::string user_id;
  std::string email;  // the address now verified
  Purpose purpose = Purpose::kVerifyEmail;
  std::optional<sessions::Tokens> tokens;  // with login_after_verification, for sign-up
};

class EmailFlow final : public VerificationSender {
 public:
  EmailFlow(identity::UserRepository& users, VerificationRepository& verifications,
            VerificationSecrets& secrets, courier::Mailer& mailer, SendQuota& quota,
            PasswordVerifier& passwords, sessions::SessionService& sessions, UnitOfWork& uow,
            audit::AuditSink& audit, const Clock& clock, EmailFlowOptions options);

  // Issues a verification secret for the user's address and queues the mail. Call it inside the
  // unit of work that creates the user (sign-up) or on its own.
  Status send_verification(const identity::User& user) override;

  // Completes a sign-up verification or an e-mail change, by token or by (email, code).
  Result<VerifyEmailOutcome> verify(const VerifyEmailRequest& request);

  // Asks for a new verification mail. The same answer whether or not the address has an
  // account; kRateLimited only for the client IP's quota.
  Status resend(const std::string& email, const sessions::ClientInfo& client);

  // Starts a change of address for a signed-in user: checks the password, mails a secret to the
  // new address and a notice to the old one. Returns the normalised new address. When the new
  // address belongs to another account, nothing is sent and the answer is the same.
  Result<std::string> start_change(const std::string& user_id, const std::string& new_email,
                                   const std::string& password, const sessions::ClientInfo& client);

 private:
  Status issue_and_queue(const identity::User& user, Purpose purpose, const std::string& to);
  Result<VerifyEmailOutcome> complete(const Verification& row, const sessions::ClientInfo& client);
  Result<std::optional<Verification>> code_target(const std::string& email);

  identity::UserRepository& users_;
  VerificationRepository& verifications_;
  VerificationSecrets& secrets_;
  courier::Mailer& mailer_;
  SendQuota& quota_;
  PasswordVerifier& passwords_;
  sessions::SessionService& sessions_;
  UnitOfWork& uow_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  EmailFlowOptions options_;
};

}  // namespace latchkey::flows
