#include "app/app.hpp"

#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "api/api.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"
#include "common/thread_name.hpp"
#include "courier/dispatcher.hpp"
#include "courier/log_channel.hpp"
#include "courier/mailer.hpp"
#include "courier/mime.hpp"
#include "courier/sms_channels.hpp"
#include "courier/smtp_channel.hpp"
#include "courier/templates.hpp"
#include "flows/mfa/mfa_flow.hpp"
#include "flows/phone/phone_flow.hpp"
#include "flows/recovery/recovery_flow.hpp"
#include "flows/verification/email_flow.hpp"
#include "http/pipeline.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "http/worker_pool.hpp"
#include "kv/redis_key_value.hpp"
#include "methods/sms_code/sms_codes.hpp"
#include "store/admin_repositories.hpp"
#include "store/factor_repository.hpp"
#include "store/outbox_repository.hpp"
#include "store/repositories.hpp"
#include "store/verification_repository.hpp"
// Social login (issue 5).
#include "courier/social_http_client.hpp"
#include "flows/social/social_flow.hpp"
#include "store/identity_repository.hpp"

namespace latchkey::app {
namespace {

std::size_t hash_concurrency(const config::PasswordConfig& p) {
  if (p.hash_concurrency > 0) return static_cast<std::size_t>(p.hash_concurrency);
  return std::max(1u, std::thread::hardware_concurrency());
}

// Network I/O is light next to the work it hands to the worker and hashing threads: half the
// cores by default. On 2 cores one I/O thread served /healthz and /api/auth/check as fast as
// two; logins got ~190/s against ~155/s in two paired runs, though later bench/run runs could
// not tell the two settings apart within the VM's noise.
int io_threads(const config::ServerConfig& s) {
  if (s.io_threads > 0) return s.io_threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));
}

// Hashes run on the hash pool's threads. Logins and sign-ups run there whole (Work::kHashing);
// the other requests that hash (a password confirmed before a change) wait for it on a worker
// thread. So that those can never hold every worker (starving refresh and /readyz behind them),
// and so that a login flood queues no more than a few logins instead of minutes of them, at most
// server.worker_threads - 1 callers hash or wait: the hash queue is capped to what is left.
std::size_t hash_queue(const config::Config& c) {
  const auto workers = static_cast<std::size_t>(c.server.worker_threads);
  const std::size_t slots = hash_concurrency(c.password);
  const std::size_t room = workers > slots + 1 ? workers - slots - 1 : 0;
  return std::min(static_cast<std::size_t>(c.password.hash_queue), room);
}

// Every connection holds a descriptor, and the soft limit is often 1024: at start-up lift it to
// the hard limit the operator allows (as nginx's worker_rlimit_nofile and Go's runtime do).
void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlimit raised{lim.rlim_max, lim.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    log::warn("cannot raise the open file limit", {{"soft", lim.rlim_cur}, {"hard", lim.rlim_max}});
    return;
  }
  log::info("raised the open file limit", {{"from", lim.rlim_cur}, {"to", lim.rlim_max}});
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

// "Name <address>" or "address" (mail.from).
std::pair<std::string, std::string> parse_from(const std::string& from) {
  std::string name, address = from;
  const auto lt = from.rfind('<');
  if (lt != std::string::npos && !from.empty() && from.back() == '>') {
    address = from.substr(lt + 1, from.size() - lt - 2);
    name = from.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
  }
  if (auto st = courier::check_address(address); !st) {
    throw config::ConfigError("config key 'mail.from': '" + from +
                              "' is not an address or \"Name <address>\"");
  }
  return {name, address};
}

std::unique_ptr<courier::EmailChannel> make_email_channel(const config::MailConfig& m,
                                                          const Clock& clock) {
  auto [name, address] = parse_from(m.from);
  if (m.channel == "smtp") {
    courier::SmtpOptions o;
    o.url = m.smtp_url;
    o.starttls = m.smtp_starttls;
    o.user = m.smtp_user;
    o.password = m.smtp_password;
    o.from_address = address;
    o.from_name = name;
    o.timeout = m.smtp_timeout;
    o.ca_file = m.smtp_ca_file;
    try {
      return std::make_unique<courier::SmtpChannel>(o, clock);
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(e.what());
    }
  }
  return std::make_unique<courier::LogChannel>(m.log_dir, address, name, clock);
}

std::unique_ptr<courier::SmsChannel> make_sms_channel(const config::SmsConfig& c,
                                                      const Clock& clock) {
  const std::chrono::milliseconds timeout = c.timeout;
  try {
    if (c.channel == "twilio") {
      return std::make_unique<courier::TwilioSmsChannel>(courier::TwilioSmsOptions{
          c.twilio_api_base, c.twilio_account_sid, c.twilio_auth_token, c.twilio_from, timeout});
    }
    if (c.channel == "webhook") {
      return std::make_unique<courier::WebhookSmsChannel>(
          courier::WebhookSmsOptions{c.webhook_url, c.webhook_secret, timeout}, clock);
    }
    return std::make_unique<courier::LogSmsChannel>(c.log_dir);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(e.what());
  }
}

// A key for one purpose, derived from the master key (so one secret protects them all).
Bytes derive_key(const Bytes& master, std::string_view label) {
  return hmac_sha256(master, as_bytes(label));
}

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

namespace {

std::unique_ptr<kv::KeyValue> make_key_value(const config::KvConfig& c, const Clock& clock) {
  if (c.url == "memory") return std::make_unique<kv::MemoryKeyValue>(clock);
  const std::chrono::milliseconds timeout{c.timeout_ms};
  auto redis =
      kv::RedisKeyValue::open({c.url, static_cast<std::size_t>(c.pool_size), timeout, timeout});
  if (!redis) throw config::ConfigError("config key 'kv.url': " + redis.error().message);
  return std::move(*redis);
}

}  // namespace

Core::Core(const config::Config& c)
    : config(c),
      kv(make_key_value(c.kv, clock)),
      memory_kv(dynamic_cast<kv::MemoryKeyValue*>(kv.get())),
      hasher(random, methods::password::Argon2Params{c.password.argon2_memory_kib,
                                                     c.password.argon2_iterations}),
      policy(c.password.min_score),
      hash_pool(hash_concurrency(c.password), hash_queue(c)),
      verifier(hasher, hash_pool) {}

Core::~Core() = default;

void Core::open_database(bool migrate) {
  store::DatabaseOptions options;
  options.url = config.database.url;
  options.pool_size = static_cast<std::size_t>(config.database.pool_size);
  options.statement_timeout = config.database.statement_timeout;
  options.lease_wait = config.database.pool_wait;
  options.breaker_threshold = static_cast<std::size_t>(config.database.breaker_threshold);
  options.breaker_cooldown = config.database.breaker_cooldown;
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
  role_repo = store::make_role_repository(*database);
  audit_repo = store::make_audit_repository(*database);
  identity_repo = store::make_identity_repository(*database);
  audit.attach(audit_repo.get());
}

Status AdminMail::send_password_link(const identity::User& user, std::chrono::seconds ttl) {
  return recovery_.send_link(user, ttl);
}

void AdminMail::notify_mfa_reset(const identity::User& user) {
  auto queued = mailer_.queue(courier::kSecurityNotice, user.locale, user.email, user.name,
                              {{"change", std::string(courier::security_change::kTotpDisabled)},
                               {"time", flows::format_utc_minute(clock_.now())}});
  (void)queued;  // best effort, as the MFA flow's own notices: the audit has the action
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

namespace {

// The CLI starts no sessions: a minter that is never used refuses honestly.
class NoMinter final : public sessions::AccessTokenMinter {
 public:
  Result<sessions::MintedToken> mint(const sessions::AccessGrant&) override {
    return Error::internal("the command line does not issue tokens");
  }
};

}  // namespace

struct AdminCli::Parts {
  explicit Parts(Core& core)
      : master(load_master_key(core.config.keys)),
        revocations(*core.kv, core.config.tokens.access_ttl + core.config.tokens.leeway,
                    core.clock),
        sessions(*core.session_repo, *core.users, *core.unit_of_work, minter, revocations,
                 core.audit, core.clock, core.random,
                 {core.config.tokens.refresh_ttl, core.config.tokens.session_ttl,
                  core.config.tokens.refresh_grace}),
        templates(courier::TemplateSet::load(
            core.config.mail.templates_dir,
            {core.config.mail.product_name, core.config.mail.support_email,
             core.config.server.public_url},
            core.config.mail.default_locale)),
        outbox(store::make_outbox_repository(*core.database)),
        verification_repo(store::make_verification_repository(*core.database)),
        factor_repo(store::make_factor_repository(*core.database)),
        mailer(templates, *outbox, core.clock, core.random),
        secrets(core.clock, core.random, derive_key(master, "latchkey/verification-code-key/v1")),
        quota(*core.kv,
              {core.config.verification.resend_cooldown, core.config.verification.daily_cap,
               core.config.verification.ip_hourly_cap, "mail"}),
        recovery(*core.users, *verification_repo, secrets, mailer, quota, core.verifier,
                 core.policy, sessions, *core.unit_of_work, core.audit, core.clock,
                 {core.config.server.public_url, core.config.verification.reset_ttl}),
        mail(recovery, mailer, core.clock),
        admin(*core.users, *core.role_repo, *factor_repo, *core.identity_repo, *core.audit_repo,
              sessions, core.verifier, core.hasher, core.policy, mail, *core.unit_of_work,
              core.audit, core.clock, core.random,
              {core.config.admin.reauth_window, core.config.admin.invite_ttl,
               core.config.verification.reset_ttl, core.config.phone.default_region}) {}

  Bytes master;
  NoMinter minter;
  sessions::RevocationList revocations;
  sessions::SessionService sessions;
  courier::TemplateSet templates;
  std::unique_ptr<courier::OutboxRepository> outbox;
  std::unique_ptr<flows::VerificationRepository> verification_repo;
  std::unique_ptr<methods::FactorRepository> factor_repo;
  courier::Mailer mailer;
  flows::VerificationSecrets secrets;
  flows::SendQuota quota;
  flows::RecoveryFlow recovery;
  AdminMail mail;
  flows::AdminFlow admin;
};

AdminCli::AdminCli(Core& core) : parts_(std::make_unique<Parts>(core)) {}
AdminCli::~AdminCli() = default;
flows::AdminFlow& AdminCli::admin() {
  return parts_->admin;
}

int with_application(const config::Config& config, const std::function<int(http::Pipeline&)>& use) {
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
  sessions::RevocationList revocations(*core.kv, t.access_ttl + t.leeway, core.clock);
  if (auto st = revocations.sync(*core.session_repo); !st) {
    throw std::runtime_error("cannot read revoked sessions: " + st.error().log_detail);
  }
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
  // E-mail: templates, the outbox and its dispatcher, verification secrets.
  const auto& mc = config.mail;
  const courier::TemplateSet templates = [&] {
    try {
      return courier::TemplateSet::load(
          mc.templates_dir, {mc.product_name, mc.support_email, config.server.public_url},
          mc.default_locale);
    } catch (const std::runtime_error& e) {
      throw config::ConfigError(std::string("mail templates: ") + e.what());
    }
  }();
  auto outbox = store::make_outbox_repository(*core.database);
  auto verification_repo = store::make_verification_repository(*core.database);
  auto channel = make_email_channel(mc, core.clock);
  auto sms_channel = make_sms_channel(config.sms, core.clock);
  courier::Mailer mailer(templates, *outbox, core.clock, core.random);
  courier::DispatcherOptions dispatch_options;
  dispatch_options.owner = courier::default_dispatcher_owner(core.random);
  dispatch_options.poll_interval = mc.poll_interval;
  dispatch_options.lease = mc.lease;
  dispatch_options.max_attempts = mc.max_attempts;
  dispatch_options.retry_base = mc.retry_base;
  dispatch_options.retry_max = mc.retry_max;
  courier::Dispatcher dispatcher(*outbox, *channel, core.clock, core.random, dispatch_options,
                                 sms_channel.get());
  mailer.on_queued([&dispatcher] { dispatcher.wake(); });
  const Bytes master = load_master_key(config.keys);
  flows::VerificationSecrets secrets(core.clock, core.random,
                                     derive_key(master, "latchkey/verification-code-key/v1"));
  const auto& vc = config.verification;
  flows::SendQuota quota(*core.kv, {vc.resend_cooldown, vc.daily_cap, vc.ip_hourly_cap, "mail"});
  flows::EmailFlow email_flow(*core.users, *verification_repo, secrets, mailer, quota,
                              core.verifier, session_service, *core.unit_of_work, core.audit,
                              core.clock,
                              {config.server.public_url, vc.email_ttl, vc.code_attempts,
                               config.signup.login_after_verification});
  flows::RecoveryFlow recovery(*core.users, *verification_repo, secrets, mailer, quota,
                               core.verifier, core.policy, session_service, *core.unit_of_work,
                               core.audit, core.clock, {config.server.public_url, vc.reset_ttl});

  // Phone, SMS codes and second factors.
  const auto& sc = config.sms;
  auto factor_repo = store::make_factor_repository(*core.database);
  methods::SmsCodes sms_codes(*core.kv, core.random, derive_key(master, "latchkey/sms-code-key/v1"),
                              {sc.code_ttl, sc.code_attempts, sc.resend_cooldown});
  flows::SendQuota sms_quota(*core.kv,
                             {std::chrono::seconds(0), sc.daily_cap, sc.ip_hourly_cap, "sms"});
  flows::MfaFlow mfa(
      *core.users, *factor_repo, sms_codes, *core.kv, core.verifier, mailer, session_service,
      *core.unit_of_work, core.audit, core.clock, core.random, master,
      derive_key(master, "latchkey/recovery-code-key/v1"),
      {config.mfa.totp_issuer, config.mfa.challenge_ttl, sc.code_attempts, mc.product_name});
  flows::PhoneFlow phone(*core.users, sms_codes, sms_quota, *core.kv, core.verifier, mailer,
                         session_service, &mfa, core.audit, core.clock, core.random,
                         {config.phone.default_region, config.signup.phone_enabled, mc.product_name,
                          mc.default_locale});

  flows::SignupFlow signup(*core.users, *core.unit_of_work, &email_flow, core.hasher, core.policy,
                           core.hash_pool, core.audit, core.clock, core.random,
                           {config.signup.enabled, config.signup.require_email_verification});
  flows::LoginFlow login(*core.users, core.verifier, account_throttle, ip_throttle, session_service,
                         core.audit, core.clock, &mfa);
  flows::SettingsFlow settings(*core.users, core.verifier, core.policy, session_service, core.audit,
                               core.clock);

  // Social login (issue 5): one Provider per social.<id> table, over the libcurl adapter.
  std::unique_ptr<courier::CurlSocialHttpClient> social_http = [&] {
    try {
      return std::make_unique<courier::CurlSocialHttpClient>(config.social.ca_file,
                                                             std::chrono::seconds(10));
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(e.what());
    }
  }();
  std::vector<std::unique_ptr<methods::social::Provider>> social_providers;
  std::vector<methods::social::Provider*> social_provider_list;
  for (const auto& [id, p] : config.social.providers) {
    social_providers.push_back(std::make_unique<methods::social::Provider>(
        methods::social::ProviderSettings{id, p.kind, p.name, p.client_id, p.client_secret,
                                          p.issuer, p.scopes, p.authorize_url, p.token_url,
                                          p.userinfo_url},
        *social_http, core.clock));
    social_provider_list.push_back(social_providers.back().get());
  }
  flows::SocialFlow social(
      social_provider_list, *core.identity_repo, *core.users, *core.unit_of_work, *core.kv,
      session_service, &mfa, core.audit, core.clock, core.random,
      {config.server.public_url, config.social.allowed_return_to, config.signup.enabled,
       /*phone_login_enabled=*/true, std::chrono::seconds(600), /*start_ip_hourly_cap=*/300});

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
                                email_flow,
                                recovery,
                                mfa,
                                phone,
                                verify_access,
                                metrics,
                                {config.security.cookie_secure, t.refresh_ttl},
                                [&mailer](std::string_view accept_language) {
                                  return mailer.negotiate(accept_language);
                                }});
  api::add_me_routes(router, {settings, session_service, email_flow, mfa, phone});
  AdminMail admin_mail(recovery, mailer, core.clock);
  flows::AdminFlow admin(*core.users, *core.role_repo, *factor_repo, *core.identity_repo,
                         *core.audit_repo, session_service, core.verifier, core.hasher, core.policy,
                         admin_mail, *core.unit_of_work, core.audit, core.clock, core.random,
                         {config.admin.reauth_window, config.admin.invite_ttl, vc.reset_ttl,
                          config.phone.default_region});
  api::add_admin_routes(router, {admin});
  api::add_well_known_routes(
      router, {[&ring] { return ring.snapshot()->jwks_json; }, t.issuer, config.server.public_url,
               [&core]() -> Status {
                 if (auto st = core.database->ping(); !st) return st;
                 if (auto* redis = dynamic_cast<kv::RedisKeyValue*>(core.kv.get())) {
                   return redis->ping();
                 }
                 return {};
               },
               metrics});
  api::add_social_routes(
      router,
      {social, {config.security.cookie_secure, t.refresh_ttl}, config.server.public_url, metrics});

  http::WorkerPool workers(static_cast<std::size_t>(config.server.worker_threads),
                           static_cast<std::size_t>(config.server.worker_queue));
  metrics.add_gauge("latchkey_hash_queue_depth", "Password hashes waiting for a hashing thread.",
                    [&core] { return static_cast<double>(core.hash_pool.waiting()); });
  metrics.add_gauge("latchkey_hash_in_use", "Password hashes running.",
                    [&core] { return static_cast<double>(core.hash_pool.in_use()); });
  // Outbox counts are read from the database when /metrics is scraped (-1: unreadable).
  auto outbox_count = [&outbox](std::int64_t courier::OutboxCounts::*field) {
    return [&outbox, field] {
      auto c = outbox->counts();
      return c ? static_cast<double>((*c).*field) : -1.0;
    };
  };
  metrics.add_gauge("latchkey_outbox_queued", "Messages waiting in the outbox (queued or sending).",
                    outbox_count(&courier::OutboxCounts::queued));
  metrics.add_gauge("latchkey_outbox_dead", "Messages that could not be delivered (dead).",
                    outbox_count(&courier::OutboxCounts::dead));
  metrics.add_counter("latchkey_mail_sent_total", "Messages delivered by this process.",
                      [&dispatcher] { return static_cast<double>(dispatcher.sent_total()); });
  metrics.add_counter(
      "latchkey_mail_failed_attempts_total", "Failed delivery attempts by this process.",
      [&dispatcher] { return static_cast<double>(dispatcher.failed_attempts_total()); });
  metrics.add_counter("latchkey_mail_dead_total", "Messages this process gave up on.",
                      [&dispatcher] { return static_cast<double>(dispatcher.dead_total()); });
  metrics.add_gauge("latchkey_worker_queue_depth", "Requests waiting for a worker thread.",
                    [&workers] { return static_cast<double>(workers.queued()); });

  auto web = http::StaticFiles::load(config.server.web_root);
  http::Pipeline pipeline(
      {config.server.trusted_proxies, config.server.cors_origins,
       config.server.public_url.rfind("https://", 0) == 0},
      router, workers,
      [&core](std::function<void()> job) { return core.hash_pool.post(std::move(job)); }, metrics,
      api::bearer_authenticator(verify_access), &web);

  // Housekeeping: other replicas' revocations and key rotations, expired KV entries, expired
  // sessions.
  std::atomic<bool> running{true};
  std::thread housekeeping([&] {
    int ticks = 0;
    bool sync_ok = true;  // log a failing sync once, not twice a second
    while (running) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      ++ticks;
      if (ticks % 2 == 0) {  // twice a second: other replicas' revocations
        auto st = revocations.sync(*core.session_repo);
        if (!st && sync_ok)
          log::warn("revocation sync failed", {{"detail", st.error().log_detail}});
        if (st && !sync_ok) log::info("revocation sync recovered");
        sync_ok = st.ok();
      }
      if (ticks % 240 != 0) continue;  // once a minute
      (void)ring.refresh();
      if (core.memory_kv != nullptr) core.memory_kv->sweep();
      (void)core.session_repo->purge_expired(core.clock.now() - std::chrono::hours(24));
      (void)verification_repo->purge_expired(core.clock.now() - std::chrono::hours(24));
      (void)outbox->purge_sent(core.clock.now() - mc.keep_sent);
      (void)admin.purge_audit(config.audit.retention);
    }
  });
  name_thread(housekeeping, "latchkey-house");
  // Stops the background work however `use` ends (a listener that cannot bind throws).
  struct Stop {
    std::function<void()> run;
    ~Stop() { run(); }
  } stop{[&] {
    running = false;
    housekeeping.join();
    workers.stop();
    dispatcher.stop();  // after the workers: nothing queues mail any more
  }};
  dispatcher.start();
  if (auto* redis = dynamic_cast<kv::RedisKeyValue*>(core.kv.get())) {
    // Not fatal: throttled actions answer 503 until Redis is reachable, then recover by themselves.
    if (auto st = redis->ping(); !st) {
      log::warn("kv unreachable at start-up", {{"detail", st.error().log_detail}});
    }
  }

  log::info("application ready", {{"public_url", config.server.public_url},
                                  {"web_app", web.empty() ? "not built" : "served"}});
  return use(pipeline);
}

int serve(const config::Config& config) {
  raise_open_file_limit();
  return with_application(config, [&config](http::Pipeline& pipeline) {
    const auto [host, port] = split_listen(config.server.listen);
    http::ServerOptions options;
    options.address = host;
    options.port = port;
    options.io_threads = io_threads(config.server);
    options.max_body_bytes = config.server.max_body_bytes;
    options.max_header_bytes = config.server.max_header_bytes;
    options.header_timeout = config.server.header_timeout;
    options.idle_timeout = config.server.idle_timeout;
    options.shutdown_grace = config.server.shutdown_grace;
    http::Server server(options, pipeline);
    server.bind();
    server.run([&] {
      log::info("listening", {{"address", options.address + ":" + std::to_string(server.port())}});
    });
    log::info("stopped", {});
    return 0;
  });
}

}  // namespace latchkey::app
