#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>
#include <toml.hpp>

extern char** environ;

namespace latchkey::config {
namespace {

using Setter = std::function<std::optional<std::string>(Config&, const std::string&)>;
using Getter = std::function<std::string(const Config&)>;

struct Key {
  std::string name;  // section.key
  Setter set;        // returns an error message, or nullopt
  Getter get;
  bool secret = false;
  bool list = false;
};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::int64_t> parse_int(const std::string& v) {
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto t = trim(item);
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

template <typename Section>
Key string_key(std::string name, Section Config::*section, std::string Section::*field,
               bool secret = false) {
  return Key{std::move(name),
             [=](Config& c, const std::string& v) -> std::optional<std::string> {
               (c.*section).*field = v;
               return std::nullopt;
             },
             [=](const Config& c) { return (c.*section).*field; }, secret, false};
}

template <typename Section>
Key list_key(std::string name, Section Config::*section, std::vector<std::string> Section::*field) {
  return Key{std::move(name),
             [=](Config& c, const std::string& v) -> std::optional<std::string> {
               (c.*section).*field = split_list(v);
               return std::nullopt;
             },
             [=](const Config& c) { return join_list((c.*section).*field); }, false, true};
}

template <typename Section, typename Int>
Key int_key(std::string name, Section Config::*section, Int Section::*field, std::int64_t min,
            std::int64_t max) {
  return Key{std::move(name),
             [=](Config& c, const std::string& v) -> std::optional<std::string> {
               auto n = parse_int(trim(v));
               if (!n || *n < min || *n > max) {
                 return "must be an integer from " + std::to_string(min) + " to " +
                        std::to_string(max);
               }
               (c.*section).*field = static_cast<Int>(*n);
               return std::nullopt;
             },
             [=](const Config& c) { return std::to_string((c.*section).*field); }, false, false};
}

template <typename Section>
Key bool_key(std::string name, Section Config::*section, bool Section::*field) {
  return Key{std::move(name),
             [=](Config& c, const std::string& v) -> std::optional<std::string> {
               std::string t = trim(v);
               std::transform(t.begin(), t.end(), t.begin(), ::tolower);
               if (t == "true" || t == "1" || t == "yes" || t == "on") {
                 (c.*section).*field = true;
               } else if (t == "false" || t == "0" || t == "no" || t == "off") {
                 (c.*section).*field = false;
               } else {
                 return std::string("must be true or false");
               }
               return std::nullopt;
             },
             [=](const Config& c) { return std::string((c.*section).*field ? "true" : "false"); },
             false, false};
}

template <typename Section>
Key duration_key(std::string name, Section Config::*section, std::chrono::seconds Section::*field,
                 std::int64_t min_s, std::int64_t max_s) {
  return Key{std::move(name),
             [=](Config& c, const std::string& v) -> std::optional<std::string> {
               auto d = parse_duration(trim(v));
               if (!d || d->count() < min_s || d->count() > max_s) {
                 return "must be a duration (e.g. 90s, 15m, 1h, 30d) from " +
                        std::to_string(min_s) + "s to " + std::to_string(max_s) + "s";
               }
               (c.*section).*field = *d;
               return std::nullopt;
             },
             [=](const Config& c) { return std::to_string(((c.*section).*field).count()) + "s"; },
             false, false};
}

const std::vector<Key>& keys() {
  constexpr std::int64_t kDay = 24 * 3600;
  static const std::vector<Key> table = {
      string_key("server.listen", &Config::server, &ServerConfig::listen),
      string_key("server.public_url", &Config::server, &ServerConfig::public_url),
      list_key("server.trusted_proxies", &Config::server, &ServerConfig::trusted_proxies),
      list_key("server.cors_origins", &Config::server, &ServerConfig::cors_origins),
      string_key("server.web_root", &Config::server, &ServerConfig::web_root),
      int_key("server.io_threads", &Config::server, &ServerConfig::io_threads, 0, 64),
      int_key("server.worker_threads", &Config::server, &ServerConfig::worker_threads, 1, 256),
      int_key("server.worker_queue", &Config::server, &ServerConfig::worker_queue, 1, 1'000'000),
      int_key("server.max_body_bytes", &Config::server, &ServerConfig::max_body_bytes, 1024,
              16 * 1024 * 1024),
      int_key("server.max_header_bytes", &Config::server, &ServerConfig::max_header_bytes, 1024,
              64 * 1024),
      duration_key("server.header_timeout", &Config::server, &ServerConfig::header_timeout, 1, 300),
      duration_key("server.idle_timeout", &Config::server, &ServerConfig::idle_timeout, 1, 3600),
      duration_key("server.shutdown_grace", &Config::server, &ServerConfig::shutdown_grace, 1,
                   3600),
      string_key("database.url", &Config::database, &DatabaseConfig::url, true),
      int_key("database.pool_size", &Config::database, &DatabaseConfig::pool_size, 1, 256),
      duration_key("database.statement_timeout", &Config::database,
                   &DatabaseConfig::statement_timeout, 1, 3600),
      duration_key("database.pool_wait", &Config::database, &DatabaseConfig::pool_wait, 1, 300),
      int_key("database.breaker_threshold", &Config::database, &DatabaseConfig::breaker_threshold,
              0, 1000),
      duration_key("database.breaker_cooldown", &Config::database,
                   &DatabaseConfig::breaker_cooldown, 1, 300),
      string_key("kv.url", &Config::kv, &KvConfig::url, true),
      int_key("kv.pool_size", &Config::kv, &KvConfig::pool_size, 1, 1024),
      int_key("kv.timeout_ms", &Config::kv, &KvConfig::timeout_ms, 10, 60000),
      string_key("keys.master_key", &Config::keys, &KeysConfig::master_key, true),
      string_key("keys.master_key_file", &Config::keys, &KeysConfig::master_key_file),
      string_key("keys.algorithm", &Config::keys, &KeysConfig::algorithm),
      duration_key("keys.publish_delay", &Config::keys, &KeysConfig::publish_delay, 0, 30 * kDay),
      string_key("tokens.issuer", &Config::tokens, &TokensConfig::issuer),
      string_key("tokens.audience", &Config::tokens, &TokensConfig::audience),
      duration_key("tokens.access_ttl", &Config::tokens, &TokensConfig::access_ttl, 60, kDay),
      duration_key("tokens.refresh_ttl", &Config::tokens, &TokensConfig::refresh_ttl, 300,
                   365 * kDay),
      duration_key("tokens.session_ttl", &Config::tokens, &TokensConfig::session_ttl, 300,
                   365 * kDay),
      duration_key("tokens.refresh_grace", &Config::tokens, &TokensConfig::refresh_grace, 0, 120),
      duration_key("tokens.leeway", &Config::tokens, &TokensConfig::leeway, 0, 300),
      bool_key("signup.enabled", &Config::signup, &SignupConfig::enabled),
      bool_key("signup.require_email_verification", &Config::signup,
               &SignupConfig::require_email_verification),
      bool_key("signup.login_after_verification", &Config::signup,
               &SignupConfig::login_after_verification),
      bool_key("signup.phone_enabled", &Config::signup, &SignupConfig::phone_enabled),
      string_key("mail.channel", &Config::mail, &MailConfig::channel),
      string_key("mail.log_dir", &Config::mail, &MailConfig::log_dir),
      string_key("mail.smtp_url", &Config::mail, &MailConfig::smtp_url),
      string_key("mail.smtp_starttls", &Config::mail, &MailConfig::smtp_starttls),
      string_key("mail.smtp_user", &Config::mail, &MailConfig::smtp_user),
      string_key("mail.smtp_password", &Config::mail, &MailConfig::smtp_password, true),
      string_key("mail.smtp_ca_file", &Config::mail, &MailConfig::smtp_ca_file),
      duration_key("mail.smtp_timeout", &Config::mail, &MailConfig::smtp_timeout, 1, 600),
      string_key("mail.from", &Config::mail, &MailConfig::from),
      string_key("mail.product_name", &Config::mail, &MailConfig::product_name),
      string_key("mail.support_email", &Config::mail, &MailConfig::support_email),
      string_key("mail.default_locale", &Config::mail, &MailConfig::default_locale),
      string_key("mail.templates_dir", &Config::mail, &MailConfig::templates_dir),
      int_key("mail.max_attempts", &Config::mail, &MailConfig::max_attempts, 1, 100),
      duration_key("mail.retry_base", &Config::mail, &MailConfig::retry_base, 1, kDay),
      duration_key("mail.retry_max", &Config::mail, &MailConfig::retry_max, 1, 7 * kDay),
      duration_key("mail.poll_interval", &Config::mail, &MailConfig::poll_interval, 1, 3600),
      duration_key("mail.lease", &Config::mail, &MailConfig::lease, 2, 3600),
      duration_key("mail.keep_sent", &Config::mail, &MailConfig::keep_sent, 3600, 365 * kDay),
      duration_key("verification.email_ttl", &Config::verification, &VerificationConfig::email_ttl,
                   300, 30 * kDay),
      duration_key("verification.reset_ttl", &Config::verification, &VerificationConfig::reset_ttl,
                   300, kDay),
      int_key("verification.code_attempts", &Config::verification,
              &VerificationConfig::code_attempts, 1, 20),
      duration_key("verification.resend_cooldown", &Config::verification,
                   &VerificationConfig::resend_cooldown, 0, kDay),
      int_key("verification.daily_cap", &Config::verification, &VerificationConfig::daily_cap, 1,
              1000),
      int_key("verification.ip_hourly_cap", &Config::verification,
              &VerificationConfig::ip_hourly_cap, 1, 1'000'000),
      string_key("phone.default_region", &Config::phone, &PhoneConfig::default_region),
      string_key("sms.channel", &Config::sms, &SmsConfig::channel),
      string_key("sms.log_dir", &Config::sms, &SmsConfig::log_dir),
      string_key("sms.webhook_url", &Config::sms, &SmsConfig::webhook_url),
      string_key("sms.webhook_secret", &Config::sms, &SmsConfig::webhook_secret, true),
      string_key("sms.twilio_account_sid", &Config::sms, &SmsConfig::twilio_account_sid),
      string_key("sms.twilio_auth_token", &Config::sms, &SmsConfig::twilio_auth_token, true),
      string_key("sms.twilio_from", &Config::sms, &SmsConfig::twilio_from),
      string_key("sms.twilio_api_base", &Config::sms, &SmsConfig::twilio_api_base),
      duration_key("sms.timeout", &Config::sms, &SmsConfig::timeout, 1, 120),
      duration_key("sms.code_ttl", &Config::sms, &SmsConfig::code_ttl, 60, 3600),
      int_key("sms.code_attempts", &Config::sms, &SmsConfig::code_attempts, 1, 20),
      duration_key("sms.resend_cooldown", &Config::sms, &SmsConfig::resend_cooldown, 0, 3600),
      int_key("sms.daily_cap", &Config::sms, &SmsConfig::daily_cap, 1, 1000),
      int_key("sms.ip_hourly_cap", &Config::sms, &SmsConfig::ip_hourly_cap, 1, 1'000'000),
      string_key("mfa.totp_issuer", &Config::mfa, &MfaConfig::totp_issuer),
      duration_key("mfa.challenge_ttl", &Config::mfa, &MfaConfig::challenge_ttl, 60, 3600),
      bool_key("security.cookie_secure", &Config::security, &SecurityConfig::cookie_secure),
      int_key("security.login_free_attempts", &Config::security,
              &SecurityConfig::login_free_attempts, 1, 1000),
      int_key("security.login_ip_free_attempts", &Config::security,
              &SecurityConfig::login_ip_free_attempts, 1, 100000),
      duration_key("security.login_base_delay", &Config::security,
                   &SecurityConfig::login_base_delay, 1, 3600),
      duration_key("security.login_max_delay", &Config::security, &SecurityConfig::login_max_delay,
                   1, kDay),
      duration_key("security.login_window", &Config::security, &SecurityConfig::login_window, 1,
                   kDay),
      int_key("password.argon2_memory_kib", &Config::password, &PasswordConfig::argon2_memory_kib,
              8, 4 * 1024 * 1024),
      int_key("password.argon2_iterations", &Config::password, &PasswordConfig::argon2_iterations,
              1, 64),
      int_key("password.min_score", &Config::password, &PasswordConfig::min_score, 0, 4),
      int_key("password.hash_concurrency", &Config::password, &PasswordConfig::hash_concurrency, 0,
              256),
      int_key("password.hash_queue", &Config::password, &PasswordConfig::hash_queue, 0, 100000),
      string_key("log.level", &Config::log, &LogConfig::level),
      string_key("log.format", &Config::log, &LogConfig::format),
      // Social login (issue 5); the per-provider keys social.<id>.<field> are in
      // provider_fields() below.
      list_key("social.allowed_return_to", &Config::social, &SocialConfig::allowed_return_to),
      string_key("social.ca_file", &Config::social, &SocialConfig::ca_file),
      // Administration and audit (issue 7).
      duration_key("admin.reauth_window", &Config::admin, &AdminConfig::reauth_window, 1, kDay),
      duration_key("admin.invite_ttl", &Config::admin, &AdminConfig::invite_ttl, 3600, 30 * kDay),
      duration_key("audit.retention", &Config::audit, &AuditConfig::retention, kDay,
                   10 * 365 * kDay),
  };
  return table;
}

// social.<id>.<field>: one table per provider. Ids are lower-case letters, digits and '_'.
struct ProviderField {
  std::string_view name;
  std::string SocialProviderConfig::*text = nullptr;
  std::vector<std::string> SocialProviderConfig::*list = nullptr;
  bool secret = false;
};

const std::vector<ProviderField>& provider_fields() {
  using P = SocialProviderConfig;
  static const std::vector<ProviderField> fields = {
      {"kind", &P::kind, nullptr, false},
      {"name", &P::name, nullptr, false},
      {"client_id", &P::client_id, nullptr, false},
      {"client_secret", &P::client_secret, nullptr, true},
      {"issuer", &P::issuer, nullptr, false},
      {"scopes", nullptr, &P::scopes, false},
      {"authorize_url", &P::authorize_url, nullptr, false},
      {"token_url", &P::token_url, nullptr, false},
      {"userinfo_url", &P::userinfo_url, nullptr, false},
  };
  return fields;
}

bool valid_provider_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

const ProviderField* find_provider_field(std::string_view name) {
  for (const auto& f : provider_fields()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// "social.<id>.<field>" -> {id, field}, or nullopt when the key has another shape.
std::optional<std::pair<std::string, const ProviderField*>> split_provider_key(
    const std::string& key) {
  if (key.rfind("social.", 0) != 0) return std::nullopt;
  const auto rest = std::string_view(key).substr(7);
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto id = rest.substr(0, dot);
  const ProviderField* field = find_provider_field(rest.substr(dot + 1));
  if (!valid_provider_id(id) || field == nullptr) return std::nullopt;
  return std::make_pair(std::string(id), field);
}

bool is_provider_key(const std::string& key) {
  return split_provider_key(key).has_value();
}

// LATCHKEY_SOCIAL_<ID>_<FIELD> -> social.<id>.<field>; nullopt when it is not of that shape.
std::optional<std::string> provider_key_of_env(const std::string& name) {
  constexpr std::string_view kPrefix = "LATCHKEY_SOCIAL_";
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string rest = name.substr(kPrefix.size());
  std::transform(rest.begin(), rest.end(), rest.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  for (const auto& f : provider_fields()) {
    const std::string suffix = "_" + std::string(f.name);
    if (rest.size() > suffix.size() &&
        rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string id = rest.substr(0, rest.size() - suffix.size());
      if (valid_provider_id(id)) return "social." + id + "." + std::string(f.name);
    }
  }
  return std::nullopt;
}

const Key* find_key(const std::string& name) {
  for (const auto& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string env_name(const std::string& key) {
  std::string out = "LATCHKEY_";
  for (char c : key) out += (c == '.') ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

// Scalars and arrays of a TOML file become the same strings as environment values.
std::string toml_to_string(const toml::value& v, const std::string& key) {
  switch (v.type()) {
    case toml::value_t::string:
      return v.as_string().str;
    case toml::value_t::integer:
      return std::to_string(v.as_integer());
    case toml::value_t::boolean:
      return v.as_boolean() ? "true" : "false";
    case toml::value_t::floating: {
      throw ConfigError("config key '" + key + "': floating-point values are not accepted");
    }
    case toml::value_t::array: {
      std::vector<std::string> items;
      for (const auto& item : v.as_array()) {
        if (!item.is_string()) throw ConfigError("config key '" + key + "': expected strings");
        const auto& s = item.as_string().str;
        if (s.find(',') != std::string::npos) {
          throw ConfigError("config key '" + key + "': list items cannot contain ','");
        }
        items.push_back(s);
      }
      return join_list(items);
    }
    default:
      throw ConfigError("config key '" + key + "': unsupported value type");
  }
}

void apply(Config& c, const std::string& key, const std::string& value, const std::string& origin) {
  if (auto provider = split_provider_key(key)) {
    auto& p = c.social.providers[provider->first];
    const ProviderField& f = *provider->second;
    if (f.text != nullptr) p.*(f.text) = trim(value);
    if (f.list != nullptr) p.*(f.list) = split_list(value);
    return;
  }
  const Key* k = find_key(key);
  if (!k) throw ConfigError("unknown config key '" + key + "' (from " + origin + ")");
  if (auto err = k->set(c, value)) {
    throw ConfigError("config key '" + key + "' (from " + origin + "): " + *err);
  }
}

bool https_url(const std::string& url) {
  return url.rfind("https://", 0) == 0 && url.size() > 8;
}

void validate_social(Config& c) {
  for (const auto& prefix : c.social.allowed_return_to) {
    if (prefix.rfind("https://", 0) != 0 && prefix.rfind("http://", 0) != 0) {
      throw ConfigError("config key 'social.allowed_return_to': '" + prefix +
                        "' is not an http:// or https:// URL");
    }
  }
  if (!c.social.ca_file.empty() && !std::ifstream(c.social.ca_file).good()) {
    throw ConfigError("config key 'social.ca_file': cannot read '" + c.social.ca_file + "'");
  }
  for (const auto& [id, p] : c.social.providers) {
    const std::string key = "social." + id + ".";
    if (p.kind != "google" && p.kind != "github" && p.kind != "kakao" && p.kind != "naver" &&
        p.kind != "oidc") {
      throw ConfigError("config key '" + key +
                        "kind': expected google, github, kakao, naver or oidc");
    }
    if (p.client_id.empty()) throw ConfigError("config key '" + key + "client_id': required");
    if (p.client_secret.empty()) {
      throw ConfigError("config key '" + key + "client_secret': required");
    }
    if (p.kind == "oidc" && p.issuer.empty()) {
      throw ConfigError("config key '" + key + "issuer': required for kind oidc");
    }
    if ((p.kind == "github" || p.kind == "naver") && !p.issuer.empty()) {
      throw ConfigError("config key '" + key + "issuer': kind " + p.kind +
                        " is not OpenID Connect");
    }
    // Provider traffic carries client secrets and codes: TLS only.
    for (const auto& [field, url] :
         {std::pair<const char*, const std::string*>{"issuer", &p.issuer},
          {"authorize_url", &p.authorize_url},
          {"token_url", &p.token_url},
          {"userinfo_url", &p.userinfo_url}}) {
      if (!url->empty() && !https_url(*url)) {
        throw ConfigError("config key '" + key + field + "': must be an https:// URL");
      }
    }
  }
}

bool valid_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  auto port = parse_int(listen.substr(colon + 1));
  return port && *port >= 0 && *port <= 65535;
}

void validate(Config& c) {
  if (!valid_listen(c.server.listen)) {
    throw ConfigError("config key 'server.listen': expected HOST:PORT, got '" + c.server.listen +
                      "'");
  }
  auto scheme_ok = [](const std::string& url) {
    return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  };
  if (!scheme_ok(c.server.public_url)) {
    throw ConfigError("config key 'server.public_url': must start with http:// or https://");
  }
  while (!c.server.public_url.empty() && c.server.public_url.back() == '/') {
    c.server.public_url.pop_back();
  }
  const auto& url = c.database.url;
  if (url.rfind("sqlite://", 0) != 0 && url.rfind("mysql://", 0) != 0 &&
      url.rfind("mariadb://", 0) != 0 && url.rfind("postgresql://", 0) != 0 &&
      url.rfind("postgres://", 0) != 0) {
    throw ConfigError(
        "config key 'database.url': expected sqlite://, mysql:// or postgresql:// URL");
  }
  if (c.kv.url != "memory" && c.kv.url.rfind("redis://", 0) != 0) {
    throw ConfigError("config key 'kv.url': expected memory or a redis:// URL");
  }
  if (c.keys.algorithm != "RS256" && c.keys.algorithm != "ES256" && c.keys.algorithm != "EdDSA") {
    throw ConfigError("config key 'keys.algorithm': expected RS256, ES256 or EdDSA");
  }
  if (!c.keys.master_key.empty() && !c.keys.master_key_file.empty()) {
    throw ConfigError("config keys 'keys.master_key' and 'keys.master_key_file': set only one");
  }
  if (c.tokens.issuer.empty()) c.tokens.issuer = c.server.public_url;
  if (c.tokens.audience.empty())
    throw ConfigError("config key 'tokens.audience': must not be empty");
  if (c.mail.channel != "log" && c.mail.channel != "smtp") {
    throw ConfigError("config key 'mail.channel': expected log or smtp");
  }
  if (c.mail.channel == "smtp" && c.mail.smtp_url.empty()) {
    throw ConfigError("config key 'mail.smtp_url': required when mail.channel is smtp");
  }
  const auto& tls = c.mail.smtp_starttls;
  if (tls != "required" && tls != "opportunistic" && tls != "off") {
    throw ConfigError("config key 'mail.smtp_starttls': expected required, opportunistic or off");
  }
  const auto& sc = c.sms.channel;
  if (sc != "log" && sc != "twilio" && sc != "webhook") {
    throw ConfigError("config key 'sms.channel': expected log, twilio or webhook");
  }
  if (sc == "webhook" && (c.sms.webhook_url.empty() || c.sms.webhook_secret.empty())) {
    throw ConfigError(
        "config keys 'sms.webhook_url' and 'sms.webhook_secret': required when "
        "sms.channel is webhook");
  }
  if (sc == "twilio" && (c.sms.twilio_account_sid.empty() || c.sms.twilio_auth_token.empty() ||
                         c.sms.twilio_from.empty())) {
    throw ConfigError(
        "config keys 'sms.twilio_account_sid', 'sms.twilio_auth_token' and "
        "'sms.twilio_from': required when sms.channel is twilio");
  }
  if (c.mfa.totp_issuer.empty()) c.mfa.totp_issuer = c.mail.product_name;
  if (c.mail.retry_max < c.mail.retry_base) {
    throw ConfigError("config key 'mail.retry_max': must not be less than mail.retry_base");
  }
  if (c.mail.lease < 2 * c.mail.smtp_timeout) {
    // The dispatcher starts a send only with half of the lease left: the send must end in it.
    throw ConfigError("config key 'mail.lease': must be at least twice mail.smtp_timeout");
  }
  const auto& lvl = c.log.level;
  if (lvl != "trace" && lvl != "debug" && lvl != "info" && lvl != "warn" && lvl != "error") {
    throw ConfigError("config key 'log.level': expected trace, debug, info, warn or error");
  }
  if (c.log.format != "json" && c.log.format != "text") {
    throw ConfigError("config key 'log.format': expected json or text");
  }
  validate_social(c);
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t mult = 1;
  char last = text.back();
  if (std::isalpha(static_cast<unsigned char>(last))) {
    switch (last) {
      case 's':
        mult = 1;
        break;
      case 'm':
        mult = 60;
        break;
      case 'h':
        mult = 3600;
        break;
      case 'd':
        mult = 86400;
        break;
      default:
        return std::nullopt;
    }
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 0 || n > 10'000'000'000LL / mult) {
    return std::nullopt;
  }
  return std::chrono::seconds(n * mult);
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Config load(const Sources& sources) {
  Config c;
  if (sources.file) {
    toml::value root;
    try {
      root = toml::parse(*sources.file);
    } catch (const std::exception& e) {
      throw ConfigError("cannot read config file '" + *sources.file + "': " + e.what());
    }
    if (!root.is_table()) throw ConfigError("config file must be a TOML table");
    for (const auto& [section, body] : root.as_table()) {
      if (!body.is_table()) {
        throw ConfigError("unknown config key '" + section + "' (from " + *sources.file + ")");
      }
      for (const auto& [name, value] : body.as_table()) {
        const std::string key = section + "." + name;
        if (section == "social" && value.is_table()) {
          // [social.<id>]: one table per provider.
          for (const auto& [field, v] : value.as_table()) {
            const std::string pkey = key + "." + field;
            if (!is_provider_key(pkey)) {
              throw ConfigError("unknown config key '" + pkey + "' (from " + *sources.file + ")");
            }
            apply(c, pkey, toml_to_string(v, pkey), *sources.file);
          }
          continue;
        }
        if (!find_key(key)) {
          throw ConfigError("unknown config key '" + key + "' (from " + *sources.file + ")");
        }
        apply(c, key, toml_to_string(value, key), *sources.file);
      }
    }
  }
  // Environment: every LATCHKEY_* variable must name a key (except LATCHKEY_CONFIG, the file).
  std::map<std::string, std::string> by_env;
  for (const auto& k : keys()) by_env.emplace(env_name(k.name), k.name);
  for (const auto& [name, value] : sources.env) {
    if (name.rfind("LATCHKEY_", 0) != 0 || name == "LATCHKEY_CONFIG") continue;
    if (name.rfind("LATCHKEY_TEST_", 0) == 0) continue;  // reserved for the test suites
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      if (auto provider_key = provider_key_of_env(name)) {
        apply(c, *provider_key, value, "environment " + name);
        continue;
      }
      throw ConfigError("unknown environment variable '" + name + "' (no such config key)");
    }
    apply(c, it->second, value, "environment " + name);
  }
  for (const auto& [key, value] : sources.flags) apply(c, key, value, "command line");
  validate(c);
  return c;
}

std::string render_effective(const Config& config) {
  std::ostringstream out;
  std::string section;
  for (const auto& k : keys()) {
    auto dot = k.name.find('.');
    auto sec = k.name.substr(0, dot);
    if (sec != section) {
      out << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    std::string value = k.get(config);
    if (k.secret && !value.empty()) {
      if (k.name == "database.url" || k.name == "kv.url") {
        // Mask only the password part of user:pass@.
        auto scheme = value.find("://");
        auto at = value.find('@');
        auto colon = scheme == std::string::npos ? std::string::npos : value.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at) {
          value = value.substr(0, colon + 1) + "********" + value.substr(at);
        }
      } else {
        value = "********";
      }
    }
    out << k.name.substr(dot + 1) << " = ";
    if (k.list) {
      out << "[";
      bool first = true;
      for (const auto& item : split_list(value)) {
        out << (first ? "" : ", ") << toml::value(item);
        first = false;
      }
      out << "]\n";
    } else {
      out << toml::value(value) << "\n";
    }
  }
  for (const auto& [id, p] : config.social.providers) {
    out << "\n[social." << id << "]\n";
    for (const auto& f : provider_fields()) {
      out << f.name << " = ";
      if (f.list != nullptr) {
        out << "[";
        bool first = true;
        for (const auto& item : p.*(f.list)) {
          out << (first ? "" : ", ") << toml::value(item);
          first = false;
        }
        out << "]\n";
      } else {
        const std::string& value = p.*(f.text);
        out << toml::value(f.secret && !value.empty() ? std::string("********") : value) << "\n";
      }
    }
  }
  return out.str();
}

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  for (const auto& k : keys()) out.push_back(k.name);
  return out;
}

}  // namespace latchkey::config
