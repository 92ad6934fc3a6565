#pragma once
// What a signed-in user changes about their own account: name, password, deletion.

#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "flows/login/login_flow.hpp"
#include "identity/user_repository.hpp"
#include "methods/password/policy.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

class SettingsFlow {
 public:
  SettingsFlow(identity::UserRepository& users, PasswordVerifier& verifier,
               const methods::password::PasswordPolicy& policy, sessions::SessionService& sessions,
               audit::AuditSink& audit, const Clock& clock);

  Result<identity::User> profile(const std::string& user_id);
  Result<identity::User> update_name(const std::string& user_id, const std::string& name);
  // Checks the current password, applies the policy to the new one, stores it and ends every
  // other session of the user.
  Status change_password(const std::string& user_id, const std::string& session_id,
                         const std::string& current, const std::string& next,
                         const sessions::ClientInfo& client);
  // Checks the password, ends every session, deletes the user.
  Status delete_account(const std::string& user_id, const std::string& password,
                        const sessions::ClientInfo& client);

 private:
  Result<identity::User> load(const std::string& user_id);
  Status check_password(const identity::User& user, const std::string& password, const char* field);

  identity::UserRepository& users_;
  PasswordVerifier& verifier_;
  const methods::password::PasswordPolicy& policy_;
  sessions::SessionService& sessions_;
  audit::AuditSink& audit_;
  const Clock& clock_;
};

}  // namespace latchkey::flows
