#include "flows/admin/admin_flow.hpp"

#include <algorithm>

#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "identity/email.hpp"
#include "identity/phone.hpp"

namespace latchkey::flows {

namespace {

using identity::AccountState;
using identity::Permission;
using identity::User;

constexpr std::string_view kAdmin = identity::kRoleAdmin;

Error forbidden(std::string msg = "you do not have permission for this") {
  return Error::make(ErrorCode::kForbidden, std::move(msg));
}

Error bad_cursor() {
  return Error::on_field(ErrorCode::kInvalidField, "cursor", "malformed cursor");
}

// Cursors are base64url JSON {"k": key, "i": id}: opaque to clients, checked when read.
std::string encode_cursor(const std::string& key, const std::string& id) {
  return base64url_encode(nlohmann::json{{"k", key}, {"i", id}}.dump());
}

std::optional<std::pair<std::string, std::string>> decode_cursor(const std::string& cursor) {
  if (cursor.size() > 1024) return std::nullopt;
  auto bytes = base64url_decode(cursor);
  if (!bytes) return std::nullopt;
  auto j = nlohmann::json::parse(to_string(*bytes), nullptr, false);
  if (!j.is_object() || !j.contains("k") || !j.contains("i") || !j["k"].is_string() ||
      !j["i"].is_string()) {
    return std::nullopt;
  }
  return std::make_pair(j["k"].get<std::string>(), j["i"].get<std::string>());
}

std::string sort_key(const User& u, identity::UserSort sort) {
  switch (sort) {
    case identity::UserSort::kEmail:
      return u.email;
    case identity::UserSort::kName:
      return u.name;
    case identity::UserSort::kCreatedAt:
      break;
  }
  return std::to_string(to_unix_ms(u.created_at));
}

nlohmann::json change(const nlohmann::json& before, const nlohmann::json& after) {
  return {{"before", before}, {"after", after}};
}

}  // namespace

bool Actor::can(Permission p) const {
  return operator_cli || std::find(permissions.begin(), permissions.end(), p) != permissions.end();
}

Actor Actor::cli() {
  Actor a;
  a.permissions = identity::all_permissions();
  a.operator_cli = true;
  a.client = {"", "latchkey-cli"};
  return a;
}

AdminFlow::AdminFlow(identity::UserRepository& users, identity::RoleRepository& roles,
                     methods::FactorRepository& factors, identity::IdentityRepository& identities,
                     audit::AuditRepository& audit_log, sessions::SessionService& sessions,
                     PasswordVerifier& passwords, const methods::password::PasswordHasher& hasher,
                     const methods::password::PasswordPolicy& policy, AccountMail& mail,
                     UnitOfWork& uow, audit::AuditSink& audit, const Clock& clock, Random& random,
                     AdminOptions options)
    : users_(users),
      roles_(roles),
      factors_(factors),
      identities_(identities),
      audit_log_(audit_log),
      sessions_(sessions),
      passwords_(passwords),
      hasher_(hasher),
      policy_(policy),
      mail_(mail),
      uow_(uow),
      audit_(audit),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {}

Result<Actor> AdminFlow::authorize(const std::string& user_id, Permission required,
                                   TimePoint auth_time, const sessions::ClientInfo& client) {
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  // Fails closed: an unknown or inactive account, or a role set without the permission.
  if (!*user || (*user)->state != AccountState::kActive) return forbidden();
  auto custom = roles_.list();
  if (!custom) return custom.error();
  Actor actor;
  actor.user_id = user_id;
  actor.permissions = identity::permissions_of((*user)->roles, *custom);
  actor.auth_time = auth_time;
  actor.client = client;
  if (!actor.can(required)) return forbidden();
  return actor;
}

Status AdminFlow::require_recent(const Actor& actor) const {
  if (actor.operator_cli) return {};
  if (clock_.now() - actor.auth_time > options_.reauth_window) {
    return Error::make(ErrorCode::kReauthenticationRequired,
                       "this action needs a recent sign-in: sign in again and retry");
  }
  return {};
}

Result<User> AdminFlow::load(const std::string& id) {
  if (!is_uuid(id)) return Error::make(ErrorCode::kNotFound, "no such user");
  auto user = users_.find_by_id(id);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kNotFound, "no such user");
  return **user;
}

Result<User> AdminFlow::find_by_email(const std::string& email) {
  auto normalized = identity::normalize_email(email);
  if (!normalized) return normalized.error();
  auto user = users_.find_by_email(*normalized);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kNotFound, "no user with e-mail " + *normalized);
  return **user;
}

Result<std::vector<std::string>> AdminFlow::check_roles(const Actor& actor,
                                                        std::vector<std::string> roles,
                                                        const std::vector<std::string>& before,
                                                        const std::string& field) {
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  auto custom = roles_.list();
  if (!custom) return custom.error();
  for (const auto& r : roles) {
    const bool exists = identity::is_builtin_role(r) ||
                        std::any_of(custom->begin(), custom->end(),
                                    [&](const identity::Role& c) { return c.name == r; });
    if (!exists)
      return Error::on_field(ErrorCode::kInvalidField, field, "no role named '" + r + "'");
  }
  // Handing out (or taking away) anything but `user` is a permission of its own.
  std::vector<std::string> changed;
  std::set_symmetric_difference(roles.begin(), roles.end(), before.begin(), before.end(),
                                std::back_inserter(changed));
  std::erase(changed, std::string(identity::kRoleUser));
  if (!changed.empty() && !actor.can(Permission::kRolesWrite)) {
    return forbidden("changing roles needs the roles:write permission");
  }
  return roles;
}

Status AdminFlow::keep_an_admin(const std::string& user_id) {
  // Locked, not just counted: two units each taking one of the last two administrators away
  // would both count two and leave none.
  auto admins = users_.lock_active_with_role(std::string(kAdmin));
  if (!admins) return admins.error();
  const bool is_one = std::find(admins->begin(), admins->end(), user_id) != admins->end();
  if (is_one && admins->size() <= 1) {
    return Error::make(ErrorCode::kLastAdmin, "this is the last active administrator");
  }
  return {};
}

void AdminFlow::record(const Actor& actor, std::string type, const std::string& subject,
                       nlohmann::json details) {
  if (actor.operator_cli) details["via"] = "cli";
  audit_.record({.type = std::move(type),
                 .outcome = "success",
                 .actor_id = actor.user_id,
                 .subject_id = subject,
                 .ip = actor.client.ip,
                 .user_agent = actor.client.user_agent,
                 .details = std::move(details)});
}

Result<UserPage> AdminFlow::list_users(const UserListQuery& query) {
  identity::UserSearch search = query.search;
  if (!query.cursor.empty()) {
    auto position = decode_cursor(query.cursor);
    if (!position) return bad_cursor();
    if (search.sort == identity::UserSort::kCreatedAt &&
        (position->first.empty() || position->first.size() > 19 ||
         !std::all_of(position->first.begin(), position->first.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))) {
      return bad_cursor();
    }
    search.after = *position;
  }
  // One more than asked tells whether there is a next page.
  const int want = search.limit;
  search.limit = want + 1;
  auto users = users_.search(search);
  if (!users) return users.error();
  UserPage page;
  if (static_cast<int>(users->size()) > want) {
    users->resize(static_cast<std::size_t>(want));
    const User& last = users->back();
    page.next_cursor = encode_cursor(sort_key(last, search.sort), last.id);
  }
  page.users = std::move(*users);
  return page;
}

Result<User> AdminFlow::create_user(const Actor& actor, const NewUser& input) {
  auto email = identity::normalize_email(input.email);
  if (!email) return email.error();
  auto roles = check_roles(actor, input.roles.value_or(std::vector<std::string>{"user"}),
                           {std::string(identity::kRoleUser)}, "roles");
  if (!roles) return roles.error();
  std::string hash;
  if (!input.password.empty()) {
    if (auto st = check_password_length(input.password); !st) return st.error();
    if (auto st = policy_.check(input.password, *email); !st) return st.error();
    auto h = passwords_.hash(input.password);
    if (!h) return h.error();
    hash = *h;
  }
  User u;
  u.id = new_uuid_v7(clock_, random_);
  u.email = *email;
  u.name = input.name;
  u.email_verified = input.email_verified;
  u.state = input.email_verified ? AccountState::kActive : AccountState::kPending;
  u.roles = *roles;
  u.password_hash = hash;
  u.created_at = u.updated_at = clock_.now();
  if (auto st = users_.create(u); !st) {
    if (st.error().code == ErrorCode::kConflict) {
      return Error::on_field(ErrorCode::kConflict, "email", "a user with that e-mail exists");
    }
    return st.error();
  }
  if (input.send_invite) {
    if (auto st = mail_.send_password_link(u, options_.invite_ttl); !st) return st.error();
  }
  record(actor, "admin.user.created", u.id,
         {{"email", u.email},
          {"roles", u.roles},
          {"email_verified", u.email_verified},
          {"password_set", !hash.empty()},
          {"invite_sent", input.send_invite}});
  return u;
}

Result<UserDetail> AdminFlow::get_user(const std::string& id) {
  auto user = load(id);
  if (!user) return user.error();
  UserDetail d;
  d.user = *user;
  auto totp = factors_.find_totp(id);
  if (!totp) return totp.error();
  d.totp = *totp && (*totp)->confirmed_at.has_value();
  d.sms = user->phone_verified && !user->phone.empty();
  auto left = factors_.unused_recovery_codes(id);
  if (!left) return left.error();
  d.recovery_codes_left = *left;
  auto sessions = sessions_.list(id);
  if (!sessions) return sessions.error();
  d.sessions_count = sessions->size();
  auto identities = identities_.list_for_user(id);
  if (!identities) return identities.error();
  d.identities = std::move(*identities);
  return d;
}

Result<User> AdminFlow::update_user(const Actor& actor, const std::string& id,
                                    const UserPatch& patch) {
  auto loaded = load(id);
  if (!loaded) return loaded.error();
  const User before = *loaded;
  nlohmann::json changes = nlohmann::json::object();

  std::optional<std::string> email;
  if (patch.email) {
    auto e = identity::normalize_email(*patch.email);
    if (!e) return Error::on_field(e.error().code, "email", e.error().message);
    if (*e != before.email) email = *e;
  }
  std::optional<std::string> phone;
  if (patch.phone) {
    std::string p;
    if (!patch.phone->empty()) {
      auto n = identity::normalize_phone(*patch.phone, options_.default_phone_region);
      if (!n) return Error::on_field(n.error().code, "phone", n.error().message);
      p = *n;
    }
    if (p != before.phone) phone = p;
  }
  std::optional<AccountState> state;
  if (patch.state && *patch.state != before.state) {
    if (*patch.state == AccountState::kPending) {
      return Error::on_field(ErrorCode::kInvalidField, "status",
                             "status must be \"active\" or \"disabled\"");
    }
    state = *patch.state;
  }
  std::optional<std::vector<std::string>> roles;
  if (patch.roles) {
    auto r = check_roles(actor, *patch.roles, before.roles, "roles");
    if (!r) return r.error();
    if (*r != before.roles) roles = *r;
  }
  const bool removes_admin = roles && before.has_role(kAdmin) &&
                             std::find(roles->begin(), roles->end(), kAdmin) == roles->end();
  const bool disables = state && *state == AccountState::kDisabled;
  if (roles || disables) {
    if (auto st = require_recent(actor); !st) return st.error();
  }

  const auto now = clock_.now();
  auto st = uow_.run([&]() -> Status {
    if (removes_admin || disables) {
      if (auto s = keep_an_admin(id); !s) return s;
    }
    if (patch.name && *patch.name != before.name) {
      if (auto s = users_.update_name(id, *patch.name, now); !s) return s;
      changes["name"] = change(before.name, *patch.name);
    }
    if (email) {
      if (auto s = users_.change_email(id, *email, now); !s) {
        if (s.error().code == ErrorCode::kConflict) {
          return Error::on_field(ErrorCode::kConflict, "email", "another account has that e-mail");
        }
        return s;
      }
      changes["email"] = change(before.email, *email);
    }
    // change_email() marks the new address verified; an explicit flag wins.
    const bool verified_now = email ? true : before.email_verified;
    if (patch.email_verified && *patch.email_verified != verified_now) {
      auto s = *patch.email_verified ? users_.mark_email_verified(id, now)
                                     : users_.set_email_verified(id, false, now);
      if (!s) return s;
    }
    if (patch.email_verified && *patch.email_verified != before.email_verified) {
      changes["email_verified"] = change(before.email_verified, *patch.email_verified);
    } else if (email && !before.email_verified && !patch.email_verified) {
      changes["email_verified"] = change(false, true);
    }
    if (phone) {
      if (auto s = users_.set_phone(id, *phone, /*verified=*/false, now); !s) {
        if (s.error().code == ErrorCode::kConflict) {
          return Error::on_field(ErrorCode::kConflict, "phone", "another account has that number");
        }
        return s;
      }
      changes["phone"] = change(before.phone, *phone);
    }
    if (state) {
      if (auto s = users_.set_state(id, *state, now); !s) return s;
      changes["status"] = change(identity::to_string(before.state), identity::to_string(*state));
      if (*state == AccountState::kDisabled) {
        auto ended = sessions_.end_all(id, "disabled");
        if (!ended) return ended.error();
      }
    }
    if (roles) {
      if (auto s = users_.set_roles(id, *roles, now); !s) return s;
      changes["roles"] = change(before.roles, *roles);
    }
    return {};
  });
  if (!st) return st.error();
  auto after = load(id);
  if (!after) return after.error();
  if (!changes.empty()) {
    // A verified flag set by mark_email_verified may also have activated a pending account.
    if (after->state != before.state && !changes.contains("status")) {
      changes["status"] =
          change(identity::to_string(before.state), identity::to_string(after->state));
    }
    record(actor, "admin.user.updated", id, {{"changes", changes}});
  }
  return after;
}

Status AdminFlow::delete_user(const Actor& actor, const std::string& id) {
  auto user = load(id);
  if (!user) return user.error();
  if (auto st = require_recent(actor); !st) return st;
  // One unit: the sessions end (and are published as revoked) with the user's removal.
  auto st = uow_.run([&]() -> Status {
    if (auto s = keep_an_admin(id); !s) return s;
    auto ended = sessions_.end_all(id, "user_deleted");
    if (!ended) return ended.error();
    return users_.remove(id);
  });
  if (!st) return st;
  record(actor, "admin.user.deleted", id, {{"email", user->email}, {"roles", user->roles}});
  return {};
}

Result<std::vector<sessions::Session>> AdminFlow::list_sessions(const std::string& id) {
  auto user = load(id);
  if (!user) return user.error();
  return sessions_.list(id);
}

Status AdminFlow::revoke_session(const Actor& actor, const std::string& id,
                                 const std::string& session_id) {
  auto user = load(id);
  if (!user) return user.error();
  if (auto st = sessions_.end_own(id, session_id, "admin_revoked"); !st) return st;
  record(actor, "admin.user.session_revoked", id, {{"session_id", session_id}});
  return {};
}

Result<std::size_t> AdminFlow::revoke_sessions(const Actor& actor, const std::string& id) {
  auto user = load(id);
  if (!user) return user.error();
  auto ended = sessions_.end_all(id, "admin_revoked");
  if (!ended) return ended.error();
  record(actor, "admin.user.sessions_revoked", id, {{"sessions", *ended}});
  return *ended;
}

Status AdminFlow::reset_mfa(const Actor& actor, const std::string& id) {
  auto user = load(id);
  if (!user) return user.error();
  if (auto st = require_recent(actor); !st) return st;
  bool had_totp = false;
  auto st = uow_.run([&]() -> Status {
    auto removed = factors_.remove_totp(id);
    if (!removed) return removed.error();
    had_totp = *removed;
    return factors_.remove_recovery_codes(id);
  });
  if (!st) return st;
  mail_.notify_mfa_reset(*user);
  record(actor, "admin.user.mfa_reset", id, {{"totp_removed", had_totp}});
  return {};
}

Status AdminFlow::send_password_reset(const Actor& actor, const std::string& id) {
  auto user = load(id);
  if (!user) return user.error();
  if (user->state == AccountState::kDisabled) {
    return Error::make(ErrorCode::kConflict, "the account is disabled");
  }
  if (auto st = mail_.send_password_link(*user, options_.reset_ttl); !st) return st;
  record(actor, "admin.user.password_reset_sent", id, nlohmann::json::object());
  return {};
}

Status AdminFlow::import_one(const Actor& actor, const ImportRecord& r, bool dry_run,
                             ImportReport& report, std::vector<std::string>& seen) {
  if (r.parse_error) return *r.parse_error;
  auto email = identity::normalize_email(r.email);
  if (!email) return Error::on_field(email.error().code, "email", email.error().message);
  if (r.name.size() > 200) {
    return Error::on_field(ErrorCode::kInvalidField, "name", "at most 200 characters");
  }
  std::string phone;
  if (!r.phone.empty()) {
    auto n = identity::normalize_phone(r.phone, options_.default_phone_region);
    if (!n) return Error::on_field(n.error().code, "phone", n.error().message);
    phone = *n;
  }
  if (!r.password_hash.empty() && !hasher_.understands(r.password_hash)) {
    return Error::on_field(ErrorCode::kInvalidField, "password_hash",
                           "not an argon2id/argon2i PHC string or a bcrypt $2a$/$2b$/$2y$ hash");
  }
  auto roles = check_roles(actor, r.roles.empty() ? std::vector<std::string>{"user"} : r.roles,
                           {std::string(identity::kRoleUser)}, "roles");
  if (!roles) return roles.error();

  if (std::find(seen.begin(), seen.end(), *email) != seen.end()) {
    ++report.skipped;
    return {};
  }
  seen.push_back(*email);
  auto existing = users_.find_by_email(*email);
  if (!existing) return existing.error();
  if (*existing) {
    ++report.skipped;  // idempotent by e-mail: re-running a file changes nothing
    return {};
  }
  if (!phone.empty()) {
    auto owner = users_.find_by_phone(phone);
    if (!owner) return owner.error();
    if (*owner) return Error::on_field(ErrorCode::kConflict, "phone", "another account has it");
  }
  if (dry_run) {
    ++report.created;
    return {};
  }
  User u;
  u.id = new_uuid_v7(clock_, random_);
  u.email = *email;
  u.name = r.name;
  u.email_verified = r.email_verified;
  u.state = r.email_verified ? AccountState::kActive : AccountState::kPending;
  u.roles = *roles;
  u.password_hash = r.password_hash;
  u.phone = phone;
  u.created_at = r.created_at.value_or(clock_.now());
  u.updated_at = clock_.now();
  if (auto st = users_.create(u); !st) {
    if (st.error().code == ErrorCode::kConflict) {  // created meanwhile by someone else
      ++report.skipped;
      return {};
    }
    return st;
  }
  ++report.created;
  return {};
}

ImportReport AdminFlow::import_users(const Actor& actor, const std::vector<ImportRecord>& records,
                                     bool dry_run) {
  ImportReport report;
  report.dry_run = dry_run;
  std::vector<std::string> seen;
  for (const auto& r : records) {
    if (auto st = import_one(actor, r, dry_run, report, seen); !st) {
      report.errors.push_back({r.line, r.email, st.error()});
    }
  }
  if (!dry_run) {
    record(actor, "admin.users.imported", "",
           {{"created", report.created},
            {"skipped", report.skipped},
            {"errors", report.errors.size()},
            {"records", records.size()}});
  }
  return report;
}

Result<std::vector<RoleInfo>> AdminFlow::list_roles() {
  auto custom = roles_.list();
  if (!custom) return custom.error();
  std::vector<RoleInfo> out;
  std::vector<identity::Role> all = identity::builtin_roles();
  all.insert(all.end(), custom->begin(), custom->end());
  for (auto& r : all) {
    auto n = users_.count_with_role(r.name);
    if (!n) return n.error();
    out.push_back({std::move(r), *n});
  }
  return out;
}

Result<identity::Role> AdminFlow::create_role(const Actor& actor, const std::string& name,
                                              const std::vector<Permission>& permissions) {
  if (auto st = identity::check_role_name(name); !st) return st.error();
  if (identity::is_builtin_role(name)) {
    return Error::on_field(ErrorCode::kConflict, "name", "a built-in role has that name");
  }
  identity::Role role{name, identity::normalise_permissions(permissions), false};
  if (auto st = roles_.create(role); !st) {
    if (st.error().code == ErrorCode::kConflict) {
      return Error::on_field(ErrorCode::kConflict, "name", "a role with that name exists");
    }
    return st.error();
  }
  nlohmann::json names = nlohmann::json::array();
  for (auto p : role.permissions) names.push_back(identity::to_string(p));
  record(actor, "admin.role.created", "", {{"role", name}, {"permissions", names}});
  return role;
}

Result<identity::Role> AdminFlow::update_role(const Actor& actor, const std::string& name,
                                              const std::vector<Permission>& permissions) {
  if (identity::is_builtin_role(name)) return forbidden("built-in roles cannot be changed");
  auto existing = roles_.find(name);
  if (!existing) return existing.error();
  if (!*existing) return Error::make(ErrorCode::kNotFound, "no such role");
  if (auto st = require_recent(actor); !st) return st.error();
  const auto next = identity::normalise_permissions(permissions);
  if (auto st = roles_.set_permissions(name, next); !st) return st.error();
  auto names = [](const std::vector<Permission>& ps) {
    nlohmann::json out = nlohmann::json::array();
    for (auto p : ps) out.push_back(identity::to_string(p));
    return out;
  };
  record(actor, "admin.role.updated", "",
         {{"role", name},
          {"changes", {{"permissions", change(names((*existing)->permissions), names(next))}}}});
  return identity::Role{name, next, false};
}

Status AdminFlow::delete_role(const Actor& actor, const std::string& name) {
  if (identity::is_builtin_role(name)) return forbidden("built-in roles cannot be deleted");
  auto existing = roles_.find(name);
  if (!existing) return existing.error();
  if (!*existing) return Error::make(ErrorCode::kNotFound, "no such role");
  if (auto st = require_recent(actor); !st) return st;
  auto n = users_.count_with_role(name);
  if (!n) return n.error();
  if (*n > 0) {
    return Error::make(ErrorCode::kRoleInUse,
                       "the role is assigned to " + std::to_string(*n) + " user(s)");
  }
  if (auto st = roles_.remove(name); !st) return st;
  record(actor, "admin.role.deleted", "", {{"role", name}});
  return {};
}

Result<AuditPage> AdminFlow::query_audit(const AuditListQuery& query) {
  audit::AuditQuery q = query.query;
  if (!query.cursor.empty()) {
    auto position = decode_cursor(query.cursor);
    if (!position || position->first.empty() || position->first.size() > 19 ||
        !std::all_of(position->first.begin(), position->first.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return bad_cursor();
    }
    q.after = audit::AuditPosition{from_unix_ms(std::stoll(position->first)), position->second};
  }
  const int want = q.limit;
  q.limit = want + 1;
  auto events = audit_log_.query(q);
  if (!events) return events.error();
  AuditPage page;
  if (static_cast<int>(events->size()) > want) {
    events->resize(static_cast<std::size_t>(want));
    const auto& last = events->back();
    page.next_cursor = encode_cursor(std::to_string(to_unix_ms(last.at)), last.id);
  }
  page.events = std::move(*events);
  return page;
}

Result<std::int64_t> AdminFlow::purge_audit(std::chrono::seconds retention) {
  return audit_log_.purge_before(clock_.now() - retention);
}

}  // namespace latchkey::flows
