#include "app/cli.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/responses.hpp"
#include "app/app.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "flows/admin/import_records.hpp"
#include "identity/email.hpp"

namespace latchkey::app {
namespace {

struct Globals {
  std::string config_file;
  std::string listen;
  std::string database;
};

config::Config load_config(const Globals& g) {
  config::Sources sources;
  sources.env = config::process_environment();
  if (!g.config_file.empty()) {
    sources.file = g.config_file;
  } else if (auto it = sources.env.find("LATCHKEY_CONFIG"); it != sources.env.end()) {
    sources.file = it->second;
  }
  if (!g.listen.empty()) sources.flags["server.listen"] = g.listen;
  if (!g.database.empty()) sources.flags["database.url"] = g.database;
  return config::load(sources);
}

std::string read_password(bool from_stdin) {
  std::string password;
  if (from_stdin || !isatty(STDIN_FILENO)) {
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return password;
  }
  auto prompt = [](const char* text) {
    std::cerr << text << std::flush;
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string line;
    std::getline(std::cin, line);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
    return line;
  };
  password = prompt("Password: ");
  if (prompt("Repeat password: ") != password) {
    throw std::runtime_error("the passwords do not match");
  }
  return password;
}

int fail(const Error& e) {
  std::cerr << "error: " << e.message << (e.log_detail.empty() ? "" : " (" + e.log_detail + ")")
            << "\n";
  return 1;
}

std::string roles_text(const std::vector<std::string>& roles) {
  std::string out;
  for (const auto& r : roles) out += (out.empty() ? "" : ",") + r;
  return out;
}

// --- user, role and audit commands over flows::AdminFlow ---

// Exit codes of the admin commands.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;       // database or other failure
constexpr int kExitUsage = 2;       // bad arguments or configuration
constexpr int kExitNotFound = 3;    // no such user or role
constexpr int kExitRefused = 4;     // conflict, last admin, role in use, weak password...
constexpr int kExitImportRows = 5;  // import: some rows were invalid (the valid ones went in)

struct AdminCommand {
  bool as_json = false;
  bool user_create = false, user_list = false, user_get = false, user_role = false,
       user_disable = false, user_enable = false, user_delete = false, user_reset_mfa = false,
       user_import = false, role_list = false, role_create = false, role_update = false,
       role_delete = false, audit_tail = false;
  std::string email, name, role;
  bool admin = false, password_stdin = false, no_password = false, remove_role = false,
       enable = false;
  int limit = 100;
  std::string query, status, role_filter, file;
  bool dry_run = false;
  std::vector<std::string> permissions;
  std::string type, user;
  bool follow = false;
};

int exit_code_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound:
      return kExitNotFound;
    case ErrorCode::kInvalidField:
    case ErrorCode::kInvalidEmail:
    case ErrorCode::kInvalidRequest:
      return kExitUsage;
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return kExitError;
    default:
      return kExitRefused;
  }
}

int admin_fail(const Error& e, bool as_json) {
  if (as_json) {
    nlohmann::json j = {{"error", code_id(e.code)}, {"message", e.message}};
    if (!e.field.empty()) j["field"] = e.field;
    std::cout << j.dump() << "\n";
  } else {
    std::cerr << "error: " << e.message << (e.field.empty() ? "" : " (" + e.field + ")") << "\n";
  }
  return exit_code_of(e);
}

void print_user(const identity::User& u, bool as_json) {
  if (as_json) {
    std::cout << api::admin_user_json(u).dump() << "\n";
  } else {
    std::cout << u.id << "  " << u.email << "  " << identity::to_string(u.state)
              << "  roles=" << roles_text(u.roles) << "\n";
  }
}

nlohmann::json role_info_json(const flows::RoleInfo& r) {
  nlohmann::json perms = nlohmann::json::array();
  for (auto p : r.role.permissions) perms.push_back(identity::to_string(p));
  return {{"name", r.role.name},
          {"permissions", perms},
          {"builtin", r.role.builtin},
          {"users", r.users}};
}

Result<std::vector<identity::Permission>> cli_permissions(const std::vector<std::string>& names) {
  std::vector<identity::Permission> out;
  for (const auto& n : names) {
    auto p = identity::parse_permission(n);
    if (!p) {
      return Error::on_field(ErrorCode::kInvalidField, "--permission",
                             "unknown permission '" + n + "'");
    }
    out.push_back(*p);
  }
  return out;
}

std::string read_input_file(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read '" + path + "'");
    ss << in.rdbuf();
  }
  return ss.str();
}

void print_events(const std::vector<audit::StoredEvent>& events, bool as_json) {
  for (const auto& e : events) {
    if (as_json) {
      std::cout << nlohmann::json{{"id", e.id},
                                  {"time", api::iso8601(e.at)},
                                  {"type", e.event.type},
                                  {"outcome", e.event.outcome},
                                  {"actor_id", e.event.actor_id},
                                  {"subject_id", e.event.subject_id},
                                  {"ip", e.event.ip},
                                  {"user_agent", e.event.user_agent},
                                  {"details", e.event.details}}
                       .dump()
                << "\n";
    } else {
      std::cout << api::iso8601(e.at) << "  " << e.event.type << "  " << e.event.outcome
                << "  actor=" << (e.event.actor_id.empty() ? "-" : e.event.actor_id)
                << "  subject=" << (e.event.subject_id.empty() ? "-" : e.event.subject_id) << "  "
                << e.event.details.dump() << "\n";
    }
  }
}

int run_admin_command(flows::AdminFlow& flow, Core& core, const AdminCommand& c) {
  const auto actor = flows::Actor::cli();
  const bool j = c.as_json;
  if (c.user_create) {
    flows::NewUser in;
    in.email = c.email;
    in.name = c.name;
    if (!c.no_password) in.password = read_password(c.password_stdin);
    in.roles = std::vector<std::string>{std::string(identity::kRoleUser)};
    if (c.admin) in.roles->push_back(std::string(identity::kRoleAdmin));
    in.email_verified = true;
    auto u = flow.create_user(actor, in);
    if (!u) return admin_fail(u.error(), j);
    if (!j) std::cout << "created ";
    print_user(*u, j);
    return kExitOk;
  }
  if (c.user_list) {
    flows::UserListQuery q;
    q.search.prefix = c.query;
    if (!c.status.empty()) {
      q.search.state = identity::parse_account_state(c.status);
      if (!q.search.state) {
        return admin_fail(Error::on_field(ErrorCode::kInvalidField, "--status",
                                          "expected pending, active or disabled"),
                          j);
      }
    }
    q.search.role = c.role_filter;
    int left = c.limit;
    while (left > 0) {
      q.search.limit = std::min(left, 100);
      auto page = flow.list_users(q);
      if (!page) return admin_fail(page.error(), j);
      for (const auto& u : page->users) print_user(u, j);
      left -= static_cast<int>(page->users.size());
      if (!page->next_cursor) break;
      q.cursor = *page->next_cursor;
    }
    return kExitOk;
  }
  if (c.role_list) {
    auto roles = flow.list_roles();
    if (!roles) return admin_fail(roles.error(), j);
    for (const auto& r : *roles) {
      if (j) {
        std::cout << role_info_json(r).dump() << "\n";
      } else {
        std::string perms;
        for (auto p : r.role.permissions)
          perms += (perms.empty() ? "" : ",") + std::string(identity::to_string(p));
        std::cout << r.role.name << (r.role.builtin ? " (built-in)" : "") << "  users=" << r.users
                  << "  permissions=" << perms << "\n";
      }
    }
    return kExitOk;
  }
  if (c.role_create || c.role_update) {
    auto perms = cli_permissions(c.permissions);
    if (!perms) return admin_fail(perms.error(), j);
    auto r = c.role_create ? flow.create_role(actor, c.role, *perms)
                           : flow.update_role(actor, c.role, *perms);
    if (!r) return admin_fail(r.error(), j);
    flows::RoleInfo info{*r, 0};
    if (j) {
      std::cout << role_info_json(info).dump() << "\n";
    } else {
      std::cout << (c.role_create ? "created role " : "updated role ") << r->name << "\n";
    }
    return kExitOk;
  }
  if (c.role_delete) {
    if (auto st = flow.delete_role(actor, c.role); !st) return admin_fail(st.error(), j);
    if (j) {
      std::cout << nlohmann::json{{"deleted", c.role}}.dump() << "\n";
    } else {
      std::cout << "deleted role " << c.role << "\n";
    }
    return kExitOk;
  }
  if (c.audit_tail) {
    flows::AuditListQuery q;
    q.query.limit = c.limit;
    q.query.type = c.type;
    q.query.subject_id = c.user;
    auto page = flow.query_audit(q);
    if (!page) return admin_fail(page.error(), j);
    auto events = page->events;
    std::reverse(events.begin(), events.end());  // oldest first, like tail
    print_events(events, j);
    if (!c.follow) return kExitOk;
    std::optional<audit::StoredEvent> last;
    if (!events.empty()) last = events.back();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      flows::AuditListQuery newer;
      newer.query.type = c.type;
      newer.query.subject_id = c.user;
      newer.query.limit = 200;
      if (last) newer.query.since = last->at;
      auto fresh = flow.query_audit(newer);
      if (!fresh) return admin_fail(fresh.error(), j);
      std::vector<audit::StoredEvent> out;
      for (const auto& e : fresh->events) {
        if (last && std::tie(e.at, e.id) <= std::tie(last->at, last->id)) continue;
        out.push_back(e);
      }
      std::reverse(out.begin(), out.end());
      print_events(out, j);
      std::cout << std::flush;
      if (!out.empty()) last = out.back();
    }
  }
  if (c.user_import) {
    std::vector<flows::ImportRecord> records;
    try {
      records = flows::parse_import_text(read_input_file(c.file));
    } catch (const std::invalid_argument& e) {
      return admin_fail(Error::make(ErrorCode::kInvalidRequest, e.what()), j);
    }
    auto report = flow.import_users(actor, records, c.dry_run);
    if (j) {
      nlohmann::json errors = nlohmann::json::array();
      for (const auto& e : report.errors) {
        errors.push_back({{"line", e.line},
                          {"email", e.email},
                          {"code", code_id(e.error.code)},
                          {"field", e.error.field},
                          {"message", e.error.message}});
      }
      std::cout << nlohmann::json{{"created", report.created},
                                  {"skipped", report.skipped},
                                  {"errors", errors},
                                  {"dry_run", report.dry_run}}
                       .dump()
                << "\n";
    } else {
      for (const auto& e : report.errors) {
        std::cerr << c.file << ":" << e.line << ": " << (e.email.empty() ? "" : e.email + ": ")
                  << e.error.message << (e.error.field.empty() ? "" : " (" + e.error.field + ")")
                  << "\n";
      }
      std::cout << (c.dry_run ? "dry run: would create " : "created ") << report.created
                << ", skipped " << report.skipped << " (already there), invalid "
                << report.errors.size() << "\n";
    }
    return report.errors.empty() ? kExitOk : kExitImportRows;
  }

  // The rest act on one user, named by e-mail.
  auto user = flow.find_by_email(c.email);
  if (!user) return admin_fail(user.error(), j);
  if (c.user_get) {
    auto d = flow.get_user(user->id);
    if (!d) return admin_fail(d.error(), j);
    if (j) {
      auto out = api::admin_user_json(d->user);
      out["factors"] = {
          {"totp", d->totp}, {"sms", d->sms}, {"recovery_codes_left", d->recovery_codes_left}};
      out["sessions_count"] = d->sessions_count;
      std::cout << out.dump() << "\n";
    } else {
      print_user(d->user, false);
      std::cout << "  name=" << d->user.name << "  verified=" << d->user.email_verified
                << "  phone=" << (d->user.phone.empty() ? "-" : d->user.phone)
                << "  totp=" << d->totp << "  recovery_codes_left=" << d->recovery_codes_left
                << "  sessions=" << d->sessions_count << "\n";
    }
    return kExitOk;
  }
  if (c.user_role) {
    if (auto st = identity::check_role_name(c.role); !st) return admin_fail(st.error(), j);
    auto roles = user->roles;
    std::erase(roles, c.role);
    if (!c.remove_role) roles.push_back(c.role);
    flows::UserPatch patch;
    patch.roles = roles;
    auto u = flow.update_user(actor, user->id, patch);
    if (!u) return admin_fail(u.error(), j);
    print_user(*u, j);
    return kExitOk;
  }
  if (c.user_disable || c.user_enable) {
    const bool to_enable = c.user_enable || c.enable;
    flows::UserPatch patch;
    patch.state = to_enable ? identity::AccountState::kActive : identity::AccountState::kDisabled;
    auto u = flow.update_user(actor, user->id, patch);
    if (!u) return admin_fail(u.error(), j);
    if (j) {
      print_user(*u, true);
    } else {
      std::cout << u->email << (to_enable ? " enabled" : " disabled; sessions ended") << "\n";
    }
    return kExitOk;
  }
  if (c.user_delete) {
    if (auto st = flow.delete_user(actor, user->id); !st) return admin_fail(st.error(), j);
    if (j) {
      std::cout << nlohmann::json{{"deleted", user->id}, {"email", user->email}}.dump() << "\n";
    } else {
      std::cout << "deleted " << user->email << "\n";
    }
    return kExitOk;
  }
  if (c.user_reset_mfa) {
    if (auto st = flow.reset_mfa(actor, user->id); !st) return admin_fail(st.error(), j);
    if (j) {
      std::cout << nlohmann::json{{"mfa_reset", user->id}}.dump() << "\n";
    } else {
      std::cout << user->email << ": second factors removed\n";
    }
    return kExitOk;
  }
  (void)core;
  return kExitUsage;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"Latchkey: an authentication server"};
  cli.require_subcommand(1);
  cli.fallthrough();  // global flags may also follow the sub-command: `latchkey serve --listen ...`
  Globals g;
  cli.add_option("--config", g.config_file, "TOML configuration file (or LATCHKEY_CONFIG)");
  cli.add_option("--listen", g.listen, "address to listen on (server.listen)");
  cli.add_option("--database", g.database, "database URL (database.url)");

  auto* serve_cmd = cli.add_subcommand("serve", "run the server");
  auto* migrate_cmd = cli.add_subcommand("migrate", "apply pending database migrations");

  auto* keys_cmd = cli.add_subcommand("keys", "signing keys");
  keys_cmd->require_subcommand(1);
  auto* keys_list = keys_cmd->add_subcommand("list", "list signing keys");
  auto* keys_rotate = keys_cmd->add_subcommand("rotate", "add a new signing key");
  std::string rotate_alg, publish_delay;
  keys_rotate->add_option("--algorithm", rotate_alg,
                          "RS256, ES256 or EdDSA (default: keys.algorithm)");
  keys_rotate->add_option(
      "--publish-delay", publish_delay,
      "how long the key is in JWKS before it signs (default: keys.publish_delay)");

  auto* user_cmd = cli.add_subcommand("user", "manage users");
  user_cmd->require_subcommand(1);
  std::string email, name, role;
  bool admin = false, password_stdin = false, remove_role = false, enable = false;
  int limit = 100;
  // Every user/role/audit command goes through flows::AdminFlow (audited, "via":
  // "cli"); --json prints machine-readable output. Exit codes: see kExit* below.
  bool as_json = false, no_password = false, dry_run = false, follow = false;
  std::string query, status_filter, role_filter, file, type_filter, user_filter;
  std::vector<std::string> permissions;
  cli.add_flag("--json", as_json, "print JSON (for scripts)");
  auto* user_create = user_cmd->add_subcommand("create", "create an active, verified user");
  user_create->add_option("--email", email, "e-mail address")->required();
  user_create->add_option("--name", name, "display name");
  user_create->add_flag("--admin", admin, "grant the admin role");
  user_create->add_flag("--password-stdin", password_stdin, "read the password from stdin");
  user_create->add_flag("--no-password", no_password,
                        "create without a password (send a reset link later)");
  auto* user_list = user_cmd->add_subcommand("list", "list users");
  user_list->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 100000));
  user_list->add_option("--query", query, "prefix of e-mail, name or phone");
  user_list->add_option("--status", status_filter, "pending, active or disabled");
  user_list->add_option("--role", role_filter, "holding this role");
  auto* user_get = user_cmd->add_subcommand("get", "show one user");
  user_get->add_option("--email", email, "e-mail address")->required();
  auto* user_role = user_cmd->add_subcommand("set-role", "grant or remove a role");
  user_role->add_option("--email", email, "e-mail address")->required();
  user_role->add_option("--role", role, "role name")->required();
  user_role->add_flag("--remove", remove_role, "remove the role instead");
  auto* user_disable = user_cmd->add_subcommand("disable", "disable a user and end their sessions");
  user_disable->add_option("--email", email, "e-mail address")->required();
  user_disable->add_flag("--enable", enable, "re-enable instead");
  auto* user_enable = user_cmd->add_subcommand("enable", "re-enable a disabled user");
  user_enable->add_option("--email", email, "e-mail address")->required();
  auto* user_delete = user_cmd->add_subcommand("delete", "delete a user with sessions and factors");
  user_delete->add_option("--email", email, "e-mail address")->required();
  auto* user_reset_mfa = user_cmd->add_subcommand("reset-mfa", "remove a user's second factors");
  user_reset_mfa->add_option("--email", email, "e-mail address")->required();
  auto* user_import = user_cmd->add_subcommand(
      "import", "import users from JSON lines or CSV (email,name,phone,password_hash,...)");
  user_import->add_option("FILE", file, "the file (- for stdin)")->required();
  user_import->add_flag("--dry-run", dry_run, "validate only");

  auto* role_cmd = cli.add_subcommand("role", "manage roles");
  role_cmd->require_subcommand(1);
  auto* role_list = role_cmd->add_subcommand("list", "list roles and their permissions");
  auto* role_create = role_cmd->add_subcommand("create", "create a custom role");
  role_create->add_option("NAME", role, "role name")->required();
  role_create->add_option("--permission", permissions, "a permission (repeatable)");
  auto* role_update = role_cmd->add_subcommand("update", "replace a role's permissions");
  role_update->add_option("NAME", role, "role name")->required();
  role_update->add_option("--permission", permissions, "a permission (repeatable)");
  auto* role_delete = role_cmd->add_subcommand("delete", "delete an unassigned custom role");
  role_delete->add_option("NAME", role, "role name")->required();

  auto* audit_cmd = cli.add_subcommand("audit", "the audit log");
  audit_cmd->require_subcommand(1);
  auto* audit_tail = audit_cmd->add_subcommand("tail", "the newest audit events");
  audit_tail->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 200));
  audit_tail->add_option("--type", type_filter, "only this event type");
  audit_tail->add_option("--user", user_filter, "only events about this user id");
  audit_tail->add_flag("--follow", follow, "keep printing new events");

  auto* config_cmd = cli.add_subcommand("config", "configuration");
  config_cmd->require_subcommand(1);
  auto* config_check = config_cmd->add_subcommand("check", "print the effective configuration");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  try {
    const config::Config config = load_config(g);
    const bool serving = serve_cmd->parsed();
    log::init(serving ? config.log.level : "warn", config.log.format == "json");

    if (config_check->parsed()) {
      std::cout << config::render_effective(config);
      load_master_key(config.keys);  // fails loudly when missing or malformed
      std::cout << "\n# configuration is valid\n";
      return 0;
    }
    if (serving) return serve(config);

    Core core(config);
    core.open_database(/*migrate=*/true);
    if (migrate_cmd->parsed()) {
      std::cout << "database is at version";
      for (const auto& v : core.database->applied_versions()) std::cout << " " << v;
      std::cout << "\n";
      return 0;
    }
    if (keys_list->parsed() || keys_rotate->parsed()) {
      auto& ring = core.key_ring();
      if (keys_rotate->parsed()) {
        std::optional<tokens::Alg> alg;
        if (!rotate_alg.empty()) {
          alg = tokens::parse_alg(rotate_alg);
          if (!alg) throw config::ConfigError("--algorithm: expected RS256, ES256 or EdDSA");
        }
        auto delay = config.keys.publish_delay;
        if (!publish_delay.empty()) {
          auto d = config::parse_duration(publish_delay);
          if (!d) throw config::ConfigError("--publish-delay: expected a duration such as 1h");
          delay = *d;
        }
        auto kid = ring.rotate(alg, delay);
        if (!kid) return fail(kid.error());
        std::cout << "rotated: key " << *kid << " is published now and signs in " << delay.count()
                  << "s\n";
      }
      for (const auto& k : ring.list()) {
        std::cout << k.kid << "  " << tokens::to_string(k.alg) << "  " << tokens::to_string(k.state)
                  << "  created " << to_unix(k.created_at) << "  signs_from "
                  << to_unix(k.signs_from)
                  << (k.retired_at ? "  retired " + std::to_string(to_unix(*k.retired_at)) : "")
                  << "\n";
      }
      return 0;
    }
    if (user_cmd->parsed() || role_cmd->parsed() || audit_cmd->parsed()) {
      AdminCli kit(core);
      return run_admin_command(kit.admin(), core,
                               AdminCommand{.as_json = as_json,
                                            .user_create = user_create->parsed(),
                                            .user_list = user_list->parsed(),
                                            .user_get = user_get->parsed(),
                                            .user_role = user_role->parsed(),
                                            .user_disable = user_disable->parsed(),
                                            .user_enable = user_enable->parsed(),
                                            .user_delete = user_delete->parsed(),
                                            .user_reset_mfa = user_reset_mfa->parsed(),
                                            .user_import = user_import->parsed(),
                                            .role_list = role_list->parsed(),
                                            .role_create = role_create->parsed(),
                                            .role_update = role_update->parsed(),
                                            .role_delete = role_delete->parsed(),
                                            .audit_tail = audit_tail->parsed(),
                                            .email = email,
                                            .name = name,
                                            .role = role,
                                            .admin = admin,
                                            .password_stdin = password_stdin,
                                            .no_password = no_password,
                                            .remove_role = remove_role,
                                            .enable = enable,
                                            .limit = limit,
                                            .query = query,
                                            .status = status_filter,
                                            .role_filter = role_filter,
                                            .file = file,
                                            .dry_run = dry_run,
                                            .permissions = permissions,
                                            .type = type_filter,
                                            .user = user_filter,
                                            .follow = follow});
    }
  } catch (const config::ConfigError& e) {
    std::cerr << "configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace latchkey::app
