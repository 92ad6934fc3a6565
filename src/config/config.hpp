#pragma once
// Typed configuration, loaded once at start-up from (lowest to highest precedence):
// built-in defaults < TOML file < LATCHKEY_* environment variables < command-line flags.
// The environment variable of key `section.key` is LATCHKEY_SECTION_KEY. Unknown keys are errors.
// docs/configuration.md documents every key; keep it in step with kKeys in config.cpp.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace latchkey::config {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string public_url = "http://localhost:8080";
  std::vector<std::string> trusted_proxies;  // IPs or CIDRs allowed to set X-Forwarded-For
  std::vector<std::string> cors_origins;     // exact origins allowed for CORS
  std::string web_root = "web/dist";         // the built web app; empty disables it
  int io_threads = 0;                        // 0 = half the CPU cores, at least 1
  int worker_threads = 32;                   // database and other blocking work (mostly waiting)
  int worker_queue = 4096;                   // waiting requests before 503
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 8 * 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
  // After SIGTERM, how long in-flight requests may take before their connections are cut.
  std::chrono::seconds shutdown_grace{10};
};

struct DatabaseConfig {
  std::string url = "sqlite://data/latchkey.db";
  int pool_size = 8;
  // How long one operation may wait on a database server that does not answer before the request
  // fails with 503 (store::DatabaseOptions::statement_timeout).
  std::chrono::seconds statement_timeout{10};
  // How long a request waits for a free pooled connection before it fails with 503.
  std::chrono::seconds pool_wait{5};
  // Circuit breaker (store/circuit_breaker.hpp): after this many database operations in a row
  // lost their connection, requests that need the database fail at once with 503 for
  // breaker_cooldown, then one goes through as a trial. 0 turns it off.
  int breaker_threshold = 5;
  std::chrono::seconds breaker_cooldown{2};
};

// Shared fast state (counters, one-time-code attempts, revoked sessions). "memory" keeps it in
// the process (one replica); "redis://[[user]:password@]host[:port][/db]" shares it.
struct KvConfig {
  std::string url = "memory";
  int pool_size = 16;    // connections to Redis
  int timeout_ms = 500;  // connect and command timeout
};

struct KeysConfig {
  std::string master_key;       // 64 hex characters (secret)
  std::string master_key_file;  // file holding the 64 hex characters
  std::string algorithm = "RS256";
  std::chrono::seconds publish_delay{3600};  // a rotated key is in JWKS this long before it signs
};

struct TokensConfig {
  std::string issuer;  // default: server.public_url
  std::string audience = "latchkey";
  std::chrono::seconds access_ttl{600};
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};  // one refresh token / idle session limit
  std::chrono::seconds session_ttl{90 * 24 * 3600};  // absolute session lifetime
  std::chrono::seconds refresh_grace{10};            // concurrent-refresh grace window
  std::chrono::seconds leeway{30};
};

struct SignupConfig {
  bool enabled = true;
  bool require_email_verification = true;
  bool login_after_verification = false;  // verifying the address signs the user in
  bool phone_enabled = false;             // SMS login creates an account for a number without one
};

struct PhoneConfig {
  std::string default_region;  // ISO 3166 code (e.g. "KR") for numbers typed without +country
};

// SMS delivery and one-time codes.
struct SmsConfig {
  std::string channel = "log";  // log|twilio|webhook
  std::string log_dir = "data/sms";
  std::string webhook_url;
  std::string webhook_secret;  // secret
  std::string twilio_account_sid;
  std::string twilio_auth_token;  // secret
  std::string twilio_from;
  std::string twilio_api_base = "https://api.twilio.com";
  std::chrono::seconds timeout{10};
  std::chrono::seconds code_ttl{300};
  int code_attempts = 5;
  std::chrono::seconds resend_cooldown{60};
  int daily_cap = 10;      // codes to one number per day
  int ip_hourly_cap = 20;  // code requests from one client IP per hour
};

struct MfaConfig {
  std::string totp_issuer;  // shown in authenticator apps; default: mail.product_name
  std::chrono::seconds challenge_ttl{300};
};

// E-mail delivery (courier) and the look of the mails.
struct MailConfig {
  std::string channel = "log";             // log|smtp
  std::string log_dir = "data/mail";       // log channel: one .eml file per message
  std::string smtp_url;                    // smtp://host:587 or smtps://host:465
  std::string smtp_starttls = "required";  // required|opportunistic|off (smtp:// only)
  std::string smtp_user;
  std::string smtp_password;  // secret
  std::string smtp_ca_file;   // replaces the system CA store (private CAs, tests)
  std::chrono::seconds smtp_timeout{30};
  std::string from = "Latchkey <no-reply@localhost>";  // "Name <address>" or "address"
  std::string product_name = "Latchkey";
  std::string support_email;
  std::string default_locale = "en";
  std::string templates_dir;  // overrides: <dir>/<locale>/<id>.<part>.mustache
  int max_attempts = 8;
  std::chrono::seconds retry_base{30};
  std::chrono::seconds retry_max{3600};
  std::chrono::seconds poll_interval{1};
  // How long a dispatcher holds a claimed message; after a crash mid-send the message is sent
  // again once it runs out. At least twice smtp_timeout (a send starts with half of it left).
  std::chrono::seconds lease{60};
  std::chrono::seconds keep_sent{7 * 24 * 3600};  // sent messages are deleted after this
};

// Single-use secrets mailed to prove an address, and the limits on asking for them.
struct VerificationConfig {
  std::chrono::seconds email_ttl{24 * 3600};
  std::chrono::seconds reset_ttl{3600};
  int code_attempts = 5;
  std::chrono::seconds resend_cooldown{60};
  int daily_cap = 5;       // mails of one kind to one address per day
  int ip_hourly_cap = 20;  // mail requests from one client IP per hour
};

struct SecurityConfig {
  bool cookie_secure = true;        // false only for http://localhost development
  int login_free_attempts = 5;      // per account, before backoff
  int login_ip_free_attempts = 20;  // per client IP, before backoff
  std::chrono::seconds login_base_delay{1};
  std::chrono::seconds login_max_delay{900};
  std::chrono::seconds login_window{900};
};

struct PasswordConfig {
  std::uint64_t argon2_memory_kib = 19456;
  std::uint64_t argon2_iterations = 2;
  int min_score = 2;         // zxcvbn score 0-4
  int hash_concurrency = 0;  // 0 = number of CPU cores
  int hash_queue = 64;       // waiting hash jobs before 503
};

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error
  std::string format = "json";  // json|text
};

// Social ("SNS") login, issue 5. One table per provider: social.<id>.<field>.
struct SocialProviderConfig {
  std::string kind;  // google|github|kakao|naver|oidc
  std::string name;  // display name; default from the kind ("Google") or the id
  std::string client_id;
  std::string client_secret;        // secret
  std::string issuer;               // oidc (required) and google (override): discovery is fetched
  std::vector<std::string> scopes;  // default per kind
  std::string authorize_url;        // endpoint overrides (tests, regional hosts)
  std::string token_url;
  std::string userinfo_url;
};

struct SocialConfig {
  std::vector<std::string> allowed_return_to;  // URL prefixes (origin + path prefix)
  std::string ca_file;  // replaces the system CA store for provider calls (private CAs, tests)
  std::map<std::string, SocialProviderConfig> providers;  // by id, e.g. "google"
};

// Administration and audit, issue 7.
struct AdminConfig {
  std::chrono::seconds reauth_window{900};  // destructive admin actions need auth_time within this
  std::chrono::seconds invite_ttl{7 * 24 * 3600};  // invitation (set-password) links
};

struct AuditConfig {
  std::chrono::seconds retention{365 * 24 * 3600};  // older audit events are deleted
};

struct Config {
  ServerConfig server;
  DatabaseConfig database;
  KvConfig kv;
  KeysConfig keys;
  TokensConfig tokens;
  SignupConfig signup;
  MailConfig mail;
  VerificationConfig verification;
  PhoneConfig phone;
  SmsConfig sms;
  MfaConfig mfa;
  SecurityConfig security;
  PasswordConfig password;
  LogConfig log;
  SocialConfig social;
  AdminConfig admin;
  AuditConfig audit;
};

// Raised for any configuration problem; the message names the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Sources {
  std::optional<std::string> file;           // TOML file path (may be absent)
  std::map<std::string, std::string> env;    // the process environment (LATCHKEY_* are used)
  std::map<std::string, std::string> flags;  // key -> value from command-line flags
};

// Loads and validates. Throws ConfigError.
Config load(const Sources& sources);

// Reads the process environment into a map.
std::map<std::string, std::string> process_environment();

// The effective configuration as TOML text, secrets masked (for `latchkey config check`).
std::string render_effective(const Config& config);

// Every known key, in documentation order.
std::vector<std::string> known_keys();

// Parses "90", "90s", "15m", "1h", "30d" into seconds. nullopt when malformed.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace latchkey::config
