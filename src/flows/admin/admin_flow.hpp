#pragma once
// User and role administration (issue 7): the business rules behind /api/admin/* and the
// `latchkey user|role|audit` commands. Handlers and the CLI only parse and render.
//
// Rules enforced here, each in one place:
// - authorize(): the caller's permissions come from their roles as stored now (an account that
//   is not active has none); a missing permission is kForbidden.
// - require_recent(): destructive actions (delete, role change, disable, MFA reset, role
//   update/delete) need auth_time within `reauth_window` -> kReauthenticationRequired.
// - last admin: no change may leave zero active users with the `admin` role -> kLastAdmin.
// - every action is audited once ("admin.*"), with before/after of changed fields, no secrets.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "flows/login/login_flow.hpp"
#include "identity/identity_repository.hpp"
#include "identity/roles.hpp"
#include "identity/user_repository.hpp"
#include "methods/factors.hpp"
#include "methods/password/hasher.hpp"
#include "methods/password/policy.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

// Mail the admin actions send; implemented by the app over the recovery flow and the mailer.
class AccountMail {
 public:
  virtual ~AccountMail() = default;
  // Queues a single-use link to set a password (a reset, or an invitation with a longer ttl).
  virtual Status send_password_link(const identity::User& user, std::chrono::seconds ttl) = 0;
  // Queues the "your second factors were reset by an administrator" notice (best effort).
  virtual void notify_mfa_reset(const identity::User& user) = 0;
};

// Who performs an admin action.
struct Actor {
  std::string user_id;  // "" for the operator CLI
  std::vector<identity::Permission> permissions;
  TimePoint auth_time{};
  sessions::ClientInfo client;
  bool operator_cli = false;  // local operator: every permission, no re-authentication

  bool can(identity::Permission p) const;
  static Actor cli();
};

struct AdminOptions {
  std::chrono::seconds reauth_window{900};
  std::chrono::seconds invite_ttl{7 * 24 * 3600};
  std::chrono::seconds reset_ttl{3600};
  std::string default_phone_region;
};

struct UserPage {
  std::vector<identity::User> users;
  std::optional<std::string> next_cursor;  // opaque
};

struct UserListQuery {
  identity::UserSearch search;  // `after` is filled from `cursor`
  std::string cursor;
};

struct NewUser {
  std::string email;
  std::string name;
  std::string password;  // "" = none (an invitation can let the user set one)
  std::optional<std::vector<std::string>> roles;  // default ["user"]
  bool email_verified = false;
  bool send_invite = false;
};

struct UserPatch {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> phone;
  std::optional<identity::AccountState> state;
  std::optional<bool> email_verified;
  std::optional<std::vector<std::string>> roles;
};

struct UserDetail {
  identity::User user;
  bool totp = false;
  bool sms = false;
  int recovery_codes_left = 0;
  std::size_t sessions_count = 0;
  std::vector<identity::LinkedIdentity> identities;  // linked social accounts
};

struct ImportRecord {
  int line = 0;  // 1-based, for the report
  std::string email;
  std::string name;
  std::string phone;
  std::string password_hash;
  bool email_verified = false;
  std::vector<std::string> roles;  // empty = ["user"]
  std::optional<TimePoint> created_at;
  // A problem found while parsing the line (bad JSON/CSV, wrong type): reported as is.
  std::optional<Error> parse_error;
};

struct ImportLineError {
  int line = 0;
  std::string email;
  Error error;
};

struct ImportReport {
  int created = 0;
  int skipped = 0;  // the e-mail already has an account
  std::vector<ImportLineError> errors;
  bool dry_run = false;
};

struct RoleInfo {
  identity::Role role;
  std::int64_t users = 0;
};

struct AuditPage {
  std::vector<audit::StoredEvent> events;
  std::optional<std::string> next_cursor;
};

struct AuditListQuery {
  audit::AuditQuery query;  // `after` is filled from `cursor`
  std::string cursor;
};

class AdminFlow {
 public:
  AdminFlow(identity::UserRepository& users, identity::RoleRepository& roles,
            methods::FactorRepository& factors, identity::IdentityRepository& identities,
            audit::AuditRepository& audit_log, sessions::SessionService& sessions,
            PasswordVerifier& passwords, const methods::password::PasswordHasher& hasher,
            const methods::password::PasswordPolicy& policy, AccountMail& mail, UnitOfWork& uow,
            audit::AuditSink& audit, const Clock& clock, Random& random, AdminOptions options);

  // The caller as an Actor when their account is active and holds `required`; kForbidden
  // otherwise (an unknown account too).
  Result<Actor> authorize(const std::string& user_id, identity::Permission required,
                          TimePoint auth_time, const sessions::ClientInfo& client);

  Result<UserPage> list_users(const UserListQuery& query);
  Result<identity::User> create_user(const Actor& actor, const NewUser& input);
  Result<UserDetail> get_user(const std::string& id);
  Result<identity::User> update_user(const Actor& actor, const std::string& id,
                                     const UserPatch& patch);
  Status delete_user(const Actor& actor, const std::string& id);
  // The user's active sessions, newest first.
  Result<std::vector<sessions::Session>> list_sessions(const std::string& id);
  // Ends one of the user's sessions; kNotFound when it is not theirs or no longer active.
  Status revoke_session(const Actor& actor, const std::string& id, const std::string& session_id);
  Result<std::size_t> revoke_sessions(const Actor& actor, const std::string& id);
  Status reset_mfa(const Actor& actor, const std::string& id);
  Status send_password_reset(const Actor& actor, const std::string& id);
  ImportReport import_users(const Actor& actor, const std::vector<ImportRecord>& records,
                            bool dry_run);
  // The user with this e-mail (normalised first); kNotFound when none. For the CLI.
  Result<identity::User> find_by_email(const std::string& email);

  Result<std::vector<RoleInfo>> list_roles();
  Result<identity::Role> create_role(const Actor& actor, const std::string& name,
                                     const std::vector<identity::Permission>& permissions);
  Result<identity::Role> update_role(const Actor& actor, const std::string& name,
                                     const std::vector<identity::Permission>& permissions);
  Status delete_role(const Actor& actor, const std::string& name);

  Result<AuditPage> query_audit(const AuditListQuery& query);
  // Deletes audit events older than the retention; returns how many.
  Result<std::int64_t> purge_audit(std::chrono::seconds retention);

 private:
  Status require_recent(const Actor& actor) const;
  Result<identity::User> load(const std::string& id);
  // kInvalidField (field) for a role that does not exist; kForbidden when granting anything but
  // `user` without roles:write.
  Result<std::vector<std::string>> check_roles(const Actor& actor, std::vector<std::string> roles,
                                               const std::vector<std::string>& before,
                                               const std::string& field);
  // kLastAdmin when `user_id` is an active admin and the only one. Inside the unit of work that
  // takes the role away or disables the account: the active admins stay locked until it ends.
  Status keep_an_admin(const std::string& user_id);
  void record(const Actor& actor, std::string type, const std::string& subject,
              nlohmann::json details);
  Status import_one(const Actor& actor, const ImportRecord& r, bool dry_run, ImportReport& report,
                    std::vector<std::string>& seen);

  identity::UserRepository& users_;
  identity::RoleRepository& roles_;
  methods::FactorRepository& factors_;
  identity::IdentityRepository& identities_;
  audit::AuditRepository& audit_log_;
  sessions::SessionService& sessions_;
  PasswordVerifier& passwords_;
  const methods::password::PasswordHasher& hasher_;
  const methods::password::PasswordPolicy& policy_;
  AccountMail& mail_;
  UnitOfWork& uow_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  AdminOptions options_;
};

}  // namespace latchkey::flows
