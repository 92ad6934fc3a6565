#include "flows/signup/signup_flow.hpp"

#include <stdexcept>

#include "common/ids.hpp"
#include "identity/email.hpp"

namespace latchkey::flows {

SignupFlow::SignupFlow(identity::UserRepository& users, UnitOfWork& uow, VerificationSender* sender,
                       const methods::password::PasswordHasher& hasher,
                       const methods::password::PasswordPolicy& policy,
                       methods::password::HashPool& hash_pool, audit::AuditSink& audit,
                       const Clock& clock, Random& random, SignupOptions options)
    : users_(users),
      uow_(uow),
      sender_(sender),
      hasher_(hasher),
      policy_(policy),
      hash_pool_(hash_pool),
      audit_(audit),
      clock_(clock),
      random_(random),
      options_(options) {
  if (options_.require_email_verification && sender_ == nullptr) {
    throw std::invalid_argument("SignupFlow: e-mail verification needs a VerificationSender");
  }
}

Result<SignupOutcome> SignupFlow::run(const SignupRequest& request) {
  if (!options_.enabled) return Error::make(ErrorCode::kForbidden, "sign-up is closed");
  auto email = identity::normalize_email(request.email);
  if (!email) return email.error();
  if (auto st = policy_.check(request.password, *email); !st) return st.error();

  auto hashed = hash_pool_.run([&] { return hasher_.hash(request.password); });
  if (!hashed) return hashed.error();
  std::string hash = std::move(*hashed);
  const auto now = clock_.now();
  identity::User user;
  user.id = new_uuid_v7(clock_, random_);
  user.email = *email;
  user.name = request.name;
  user.state = options_.require_email_verification ? identity::AccountState::kPending
                                                   : identity::AccountState::kActive;
  user.email_verified = false;
  user.roles = {std::string(identity::kRoleUser)};
  user.password_hash = std::move(hash);
  user.locale = request.locale;
  user.created_at = user.updated_at = now;

  audit::Event event;
  event.type = "signup";
  event.ip = request.client.ip;
  event.user_agent = request.client.user_agent;
  // The user, its verification secret and the mail: together or not at all.
  auto created = uow_.run([&]() -> Status {
    if (auto st = users_.create(user); !st) return st;
    if (options_.require_email_verification) return sender_->send_verification(user);
    return {};
  });
  if (!created) {
    if (created.error().code != ErrorCode::kConflict) return created.error();
    // The address is taken: answer exactly as for a new account, write nothing.
    event.outcome = "failure";
    event.details = {{"reason", "email_taken"}};
    audit_.record(event);
  } else {
    event.outcome = "success";
    event.subject_id = event.actor_id = user.id;
    audit_.record(event);
  }
  return SignupOutcome{options_.require_email_verification};
}

}  // namespace latchkey::flows
