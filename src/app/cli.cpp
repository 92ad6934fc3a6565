#include "app/cli.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/app.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
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

Result<identity::User> find_user(Core& core, const std::string& email_input) {
  auto email = identity::normalize_email(email_input);
  if (!email) return email.error();
  auto user = core.users->find_by_email(*email);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kNotFound, "no user with e-mail " + *email);
  return **user;
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
  auto* user_create = user_cmd->add_subcommand("create", "create an active, verified user");
  user_create->add_option("--email", email, "e-mail address")->required();
  user_create->add_option("--name", name, "display name");
  user_create->add_flag("--admin", admin, "grant the admin role");
  user_create->add_flag("--password-stdin", password_stdin, "read the password from stdin");
  auto* user_list = user_cmd->add_subcommand("list", "list users");
  user_list->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 100000));
  auto* user_role = user_cmd->add_subcommand("set-role", "grant or remove a role");
  user_role->add_option("--email", email, "e-mail address")->required();
  user_role->add_option("--role", role, "role name")->required();
  user_role->add_flag("--remove", remove_role, "remove the role instead");
  auto* user_disable = user_cmd->add_subcommand("disable", "disable a user and end their sessions");
  user_disable->add_option("--email", email, "e-mail address")->required();
  user_disable->add_flag("--enable", enable, "re-enable instead");

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
    if (user_create->parsed()) {
      auto normalized = identity::normalize_email(email);
      if (!normalized) return fail(normalized.error());
      const std::string password = read_password(password_stdin);
      if (auto st = core.policy.check(password, *normalized); !st) return fail(st.error());
      auto hash = core.verifier.hash(password);
      if (!hash) return fail(hash.error());
      identity::User user;
      user.id = new_uuid_v7(core.clock, core.random);
      user.email = *normalized;
      user.name = name;
      user.state = identity::AccountState::kActive;
      user.email_verified = true;
      user.roles = {std::string(identity::kRoleUser)};
      if (admin) user.roles.insert(user.roles.begin(), std::string(identity::kRoleAdmin));
      user.password_hash = *hash;
      user.created_at = user.updated_at = core.clock.now();
      if (auto st = core.users->create(user); !st) {
        if (st.error().code == ErrorCode::kConflict) {
          return fail(Error::make(ErrorCode::kConflict, "a user with that e-mail already exists"));
        }
        return fail(st.error());
      }
      std::cout << "created " << user.id << " " << user.email << " roles=" << roles_text(user.roles)
                << "\n";
      return 0;
    }
    if (user_list->parsed()) {
      auto users = core.users->list(limit, std::nullopt);
      if (!users) return fail(users.error());
      for (const auto& u : *users) {
        std::cout << u.id << "  " << u.email << "  " << identity::to_string(u.state)
                  << "  roles=" << roles_text(u.roles) << "\n";
      }
      return 0;
    }
    if (user_role->parsed()) {
      auto user = find_user(core, email);
      if (!user) return fail(user.error());
      if (role.empty() || role.size() > 64) {
        return fail(Error::make(ErrorCode::kInvalidField, "--role must be 1-64 characters"));
      }
      auto roles = user->roles;
      std::erase(roles, role);
      if (!remove_role) roles.push_back(role);
      std::sort(roles.begin(), roles.end());
      if (auto st = core.users->set_roles(user->id, roles, core.clock.now()); !st) {
        return fail(st.error());
      }
      std::cout << user->email << " roles=" << roles_text(roles) << "\n";
      return 0;
    }
    if (user_disable->parsed()) {
      auto user = find_user(core, email);
      if (!user) return fail(user.error());
      const auto state =
          enable ? identity::AccountState::kActive : identity::AccountState::kDisabled;
      if (auto st = core.users->set_state(user->id, state, core.clock.now()); !st) {
        return fail(st.error());
      }
      if (!enable) {
        auto ended =
            core.session_repo->revoke_all(user->id, core.clock.now(), "disabled", std::nullopt);
        if (!ended) return fail(ended.error());
        std::cout << user->email << " disabled; " << ended->size() << " session(s) ended\n";
      } else {
        std::cout << user->email << " enabled\n";
      }
      return 0;
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
