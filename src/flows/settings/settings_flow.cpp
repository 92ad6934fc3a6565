#include "flows/settings/settings_flow.hpp"

namespace latchkey::flows {

SettingsFlow::SettingsFlow(identity::UserRepository& users, PasswordVerifier& verifier,
                           const methods::password::PasswordPolicy& policy,
                           sessions::SessionService& sessions, audit::AuditSink& audit,
                           const Clock& clock)
    : users_(users),
      verifier_(verifier),
      policy_(policy),
      sessions_(sessions),
      audit_(audit),
      clock_(clock) {}

Result<identity::User> SettingsFlow::load(const std::string& user_id) {
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  // A token can outlive its user by a few minutes; the account is gone, so is the session.
  if (!*user) return Error::make(ErrorCode::kSessionRevoked, "the account no longer exists");
  return std::move(**user);
}

Status SettingsFlow::check_password(const identity::User& user, const std::string& password,
                                    const char* field) {
  return verifier_.confirm(password, user.password_hash, field);
}

Result<identity::User> SettingsFlow::profile(const std::string& user_id) {
  return load(user_id);
}

Result<identity::User> SettingsFlow::update_name(const std::string& user_id,
                                                 const std::string& name) {
  auto user = load(user_id);
  if (!user) return user;
  if (auto st = users_.update_name(user_id, name, clock_.now()); !st) return st.error();
  user->name = name;
  user->updated_at = clock_.now();
  return user;
}

Status SettingsFlow::change_password(const std::string& user_id, const std::string& session_id,
                                     const std::string& current, const std::string& next,
                                     const sessions::ClientInfo& client) {
  auto user = load(user_id);
  if (!user) return user.error();
  if (auto st = check_password(*user, current, "current"); !st) return st;
  if (auto st = policy_.check(next, user->email); !st) {
    Error e = st.error();
    e.field = "new";
    return e;
  }
  auto hash = verifier_.hash(next);
  if (!hash) return hash.error();
  if (auto st = users_.set_password_hash(user_id, *hash, clock_.now()); !st) return st;
  auto ended = sessions_.end_all(user_id, "password_change", session_id);
  if (!ended) return ended.error();
  audit_.record({.type = "password.changed",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent,
                 .details = {{"other_sessions_ended", *ended}}});
  return {};
}

Status SettingsFlow::delete_account(const std::string& user_id, const std::string& password,
                                    const sessions::ClientInfo& client) {
  auto user = load(user_id);
  if (!user) return user.error();
  if (auto st = check_password(*user, password, "password"); !st) return st;
  if (auto ended = sessions_.end_all(user_id, "account_deleted"); !ended) return ended.error();
  if (auto st = users_.remove(user_id); !st) return st;
  audit_.record({.type = "account.deleted",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  return {};
}

}  // namespace latchkey::flows
