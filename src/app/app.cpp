#include "app/app.hpp"

#include <fstream>
#include <sstream>
#include <thread>

#include "api/api.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http/pipeline.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "http/worker_pool.hpp"
#include "store/repositories.hpp"

namespace latchkey::app {
namespace {

std::size_t hash_concurrency(const config::PasswordConfig& p) {
  if (p.hash_concurrency > 0) return static_cast<std::size_t>(p.hash_concurrency);
  return std::max(1u, std::thread::hardware_concurrency());
}

std::pair<std::string, unsigned short> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  return {host, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
}

tokens::Alg parse_alg_or_throw(const std::string& name) {
  auto alg = tokens::parse_alg(name);
  if (!alg) throw config::ConfigError("config key 'keys.algorithm': unsupported '" + name + "'");
  return *alg;
}

// Adapts the token library's issuer to the sessions port.
class IssuerMinter final : public sessions::AccessTokenMinter {
 public:
  explicit IssuerMinter(tokens::AccessTokenIssuer& issuer) : issuer_(issuer) {}
  Result<sessions::MintedToken> mint(const sessions::AccessGrant& g) override {
    tokens::AccessClaims claims;
    claims.sub = g.user_id;
    claims.sid = g.session_id;
    claims.email = g.email;
    claims.email_verified = g.email_verified;
    claims.roles = g.roles;
    claims.amr = g.amr;
    claims.auth_time = from_unix(g.auth_time);
    auto issued = issuer_.issue(claims);
    if (!issued) return issued.error();
    return sessions::MintedToken{std::move(issued->token), issued->expires_in};
  }

 private:
  tokens::AccessTokenIssuer& issuer_;
};

}  // namespace

Bytes load_master_key(const config::KeysConfig& keys) {
  std::string hex = keys.master_key;
  std::string origin = "keys.master_key";
  if (hex.empty() && !keys.master_key_file.empty()) {
    origin = "keys.master_key_file";
    std::ifstream in(keys.master_key_file);
    if (!in) {
      throw config::ConfigError("config key 'keys.master_key_file': cannot read '" +
                                keys.master_key_file + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    hex = ss.str();
  }
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  if (hex.empty()) {
    throw config::ConfigError(
        "config key 'keys.master_key' (or 'keys.master_key_file') is required: 64 hex characters "
        "that encrypt the signing keys");
  }
  auto bytes = hex_decode(hex);
  if (!bytes || bytes->size() != 32) {
    throw config::ConfigError("config key '" + origin + "': expected 64 hex characters (32 bytes)");
  }
  return *bytes;
}

Core::Core(const config::Config& c)
    : config(c),
      kv(std::make_unique<kv::MemoryKeyValue>(clock)),
      hasher(random, methods::password::Argon2Params{c.password.argon2_memory_kib,
                                                     c.password.argon2_iterations}),
      policy(c.password.min_score),
      limiter(hash_concurrency(c.password), static_cast<std::size_t>(c.password.hash_queue)),
      verifier(hasher, limiter) {}

Core::~Core() = default;

void Core::open_database(bool migrate) {
  store::DatabaseOptions options;
  options.url = config.database.url;
  options.pool_size = static_cast<std::size_t>(config.database.pool_size);
  database = store::Database::open(options);
  if (migrate) {
    if (auto st = database->migrate(); !st) {
      throw std::runtime_error("database migration failed: " + st.error().message + " " +
                               st.error().log_detail);
    }
  }
  users = store::make_user_repository(*database);
  session_repo = store::make_session_repository(*database);
  unit_of_work = store::make_unit_of_work(*database);
  key_repo = store::make_key_repository(*database);
}

tokens::KeyRing& Core::key_ring() {
  if (!key_ring_) {
    const Bytes master = load_master_key(config.keys);
    key_ring_ = std::make_unique<tokens::KeyRing>(
        *key_repo, clock, random, master,
        tokens::KeyRingOptions{parse_alg_or_throw(config.keys.algorithm), config.tokens.access_ttl,
                               config.tokens.leeway});
    if (auto st = key_ring_->load(); !st) {
      throw std::runtime_error("cannot load signing keys: " + st.error().message);
    }
  }
  return *key_ring_;
}

int serve(const config::Config& config) {
  Core core(config);
  core.open_database(/*migrate=*/true);
  auto& ring = core.key_ring();

  const auto& t = config.tokens;
  tokens::AccessTokenIssuer issuer(ring, core.clock, core.random,
                                   {t.issuer, t.audience, t.access_ttl});
  tokens::AccessTokenVerifierConfig verifier_config;
  verifier_config.issuer = t.issuer;
  verifier_config.audience = t.audience;
  verifier_config.leeway = t.leeway;
  tokens::AccessTokenVerifier verifier(ring, core.clock, verifier_config);
  IssuerMinter minter(issuer);
  sessions::RevocationList revocations(*core.kv, t.access_ttl + t.leeway);
  sessions::SessionService session_service(*core.session_repo, *core.users, *core.unit_of_work,
                                           minter, revocations, core.audit, core.clock, core.random,
                                           {t.refresh_ttl, t.session_ttl, t.refresh_grace});

  const auto& s = config.security;
  flows::Throttle account_throttle(
      *core.kv, core.clock,
      {s.login_free_attempts, s.login_base_delay, s.login_max_delay, s.login_window});
  flows::Throttle ip_throttle(
      *core.kv, core.clock,
      {s.login_ip_free_attempts, s.login_base_delay, s.login_max_delay, s.login_window});
  flows::SignupFlow signup(*core.users, core.hasher, core.policy, core.limiter, core.audit,
                           core.clock, core.random,
                           {config.signup.enabled, config.signup.require_email_verification});
  flows::LoginFlow login(*core.users, core.verifier, account_throttle, ip_throttle, session_service,
                         core.audit, core.clock);
  flows::SettingsFlow settings(*core.users, core.verifier, core.policy, session_service, core.audit,
                               core.clock);

  // Access tokens: signature and claims by the token library, then the revocation list.
  api::AccessVerifier verify_access =
      [&verifier, &revocations](std::string_view token) -> Result<http::Principal> {
    auto verified = verifier.verify(token);
    if (!verified) return tokens::to_error(verified.status);
    const auto& c = *verified.claims;
    http::Principal p;
    p.user_id = std::string(c.sub());
    p.session_id = std::string(c.sid());
    if (p.session_id.empty() || revocations.is_revoked(p.session_id)) {
      return Error::make(ErrorCode::kSessionRevoked, "the session has ended");
    }
    p.email = std::string(c.email());
    p.roles = c.roles();
    p.amr = c.amr();
    p.auth_time = c.auth_time().value_or(0);
    p.expires_at = c.exp();
    p.email_verified = c.email_verified();
    return p;
  };

  http::Metrics metrics;
  http::Router router;
  api::add_auth_routes(router, {signup,
                                login,
                                session_service,
                                verify_access,
                                metrics,
                                {config.security.cookie_secure, t.refresh_ttl}});
  api::add_me_routes(router, {settings, session_service});
  api::add_well_known_routes(
      router, {[&ring] { return ring.snapshot()->jwks_json; }, t.issuer, config.server.public_url,
               [&core] { return core.database->ping(); }, metrics});

  http::WorkerPool workers(static_cast<std::size_t>(config.server.worker_threads),
                           static_cast<std::size_t>(config.server.worker_queue));
  metrics.add_gauge("latchkey_hash_queue_depth", "Password hashing jobs waiting for a slot.",
                    [&core] { return static_cast<double>(core.limiter.waiting()); });
  metrics.add_gauge("latchkey_hash_in_use", "Password hashing slots in use.",
                    [&core] { return static_cast<double>(core.limiter.in_use()); });
  metrics.add_gauge("latchkey_worker_queue_depth", "Requests waiting for a worker thread.",
                    [&workers] { return static_cast<double>(workers.queued()); });

  auto web = http::StaticFiles::load(config.server.web_root);
  http::Pipeline pipeline({config.server.trusted_proxies, config.server.cors_origins,
                           config.server.public_url.rfind("https://", 0) == 0},
                          router, workers, metrics, api::bearer_authenticator(verify_access), &web);

  auto [host, port] = split_listen(config.server.listen);
  http::ServerOptions options;
  options.address = host;
  options.port = port;
  options.io_threads = config.server.io_threads;
  options.max_body_bytes = config.server.max_body_bytes;
  options.max_header_bytes = config.server.max_header_bytes;
  options.header_timeout = config.server.header_timeout;
  options.idle_timeout = config.server.idle_timeout;
  http::Server server(options, pipeline);
  server.bind();

  // Housekeeping: other replicas' key rotations, expired KV entries, expired sessions.
  std::atomic<bool> running{true};
  std::thread housekeeping([&] {
    int ticks = 0;
    while (running) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (++ticks % 240 != 0) continue;  // once a minute
      (void)ring.refresh();
      core.kv->sweep();
      (void)core.session_repo->purge_expired(core.clock.now() - std::chrono::hours(24));
    }
  });

  server.run([&] {
    log::info("listening", {{"address", host + ":" + std::to_string(server.port())},
                            {"public_url", config.server.public_url},
                            {"web_app", web.empty() ? "not built" : "served"}});
  });
  running = false;
  housekeeping.join();
  workers.stop();
  log::info("stopped", {});
  return 0;
}

}  // namespace latchkey::app
