#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace latchkey::config {
namespace {

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/latchkey-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Config, Defaults) {
  auto c = load({});
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.database.url, "sqlite://data/latchkey.db");
  EXPECT_EQ(c.keys.algorithm, "RS256");
  EXPECT_EQ(c.tokens.access_ttl, std::chrono::seconds(600));
  EXPECT_EQ(c.tokens.issuer, "http://localhost:8080");  // defaults to the public URL
  EXPECT_TRUE(c.signup.require_email_verification);
  EXPECT_TRUE(c.security.cookie_secure);
  EXPECT_EQ(c.server.io_threads, 0);  // half the cores, decided at start-up
  EXPECT_EQ(c.password.hash_concurrency, 0);
  EXPECT_EQ(c.database.statement_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.database.pool_wait, std::chrono::seconds(5));
  EXPECT_EQ(c.database.breaker_threshold, 5);
  EXPECT_EQ(c.database.breaker_cooldown, std::chrono::seconds(2));
  EXPECT_EQ(c.server.shutdown_grace, std::chrono::seconds(10));
}

TEST(Config, DatabaseTimeoutsFromFileAndEnvironment) {
  auto file = write_temp("[database]\nstatement_timeout = \"30s\"\npool_wait = \"2s\"\n");
  Sources s;
  s.file = file;
  auto c = load(s);
  EXPECT_EQ(c.database.statement_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c.database.pool_wait, std::chrono::seconds(2));
  s.env = {{"LATCHKEY_DATABASE_STATEMENT_TIMEOUT", "1m"}};
  EXPECT_EQ(load(s).database.statement_timeout, std::chrono::seconds(60));
  std::remove(file.c_str());
}

TEST(Config, DatabaseCircuitBreaker) {
  Sources s;
  s.env = {{"LATCHKEY_DATABASE_BREAKER_THRESHOLD", "0"},
           {"LATCHKEY_DATABASE_BREAKER_COOLDOWN", "30s"}};
  auto c = load(s);
  EXPECT_EQ(c.database.breaker_threshold, 0);
  EXPECT_EQ(c.database.breaker_cooldown, std::chrono::seconds(30));
  s.env = {{"LATCHKEY_DATABASE_BREAKER_THRESHOLD", "-1"}};
  EXPECT_THROW(load(s), ConfigError);
  s.env = {{"LATCHKEY_DATABASE_BREAKER_COOLDOWN", "0s"}};
  EXPECT_THROW(load(s), ConfigError);
}

TEST(Config, PrecedenceFileThenEnvThenFlags) {
  auto file = write_temp(
      "[server]\nlisten = \"0.0.0.0:1\"\npublic_url = \"https://id.example.com/\"\n"
      "trusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\n"
      "[tokens]\naccess_ttl = \"15m\"\n[signup]\nrequire_email_verification = true\n");
  Sources s;
  s.file = file;
  s.env = {{"LATCHKEY_SERVER_LISTEN", "0.0.0.0:2"},
           {"LATCHKEY_TOKENS_AUDIENCE", "api"},
           {"PATH", "/bin"},
           {"LATCHKEY_CONFIG", file}};
  s.flags = {{"server.listen", "127.0.0.1:3"}};
  auto c = load(s);
  EXPECT_EQ(c.server.listen, "127.0.0.1:3");
  EXPECT_EQ(c.server.public_url, "https://id.example.com");
  EXPECT_EQ(c.server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1"}));
  EXPECT_EQ(c.tokens.access_ttl, std::chrono::seconds(900));
  EXPECT_EQ(c.tokens.audience, "api");
  EXPECT_TRUE(c.signup.require_email_verification);
  std::remove(file.c_str());
}

TEST(Config, UnknownKeysAreErrorsNamingTheKey) {
  auto file = write_temp("[server]\nlisten = \"127.0.0.1:1\"\nlisten_typo = 1\n");
  Sources s;
  s.file = file;
  try {
    load(s);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("server.listen_typo"), std::string::npos);
  }
  std::remove(file.c_str());
  Sources env;
  env.env = {{"LATCHKEY_SERVER_LISTN", "x"}};
  EXPECT_THROW(load(env), ConfigError);
}

TEST(Config, BadValuesNameTheKey) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"LATCHKEY_SERVER_LISTEN", "nowhere"},
           {"LATCHKEY_KEYS_ALGORITHM", "HS256"},
           {"LATCHKEY_TOKENS_ACCESS_TTL", "10 minutes"},
           {"LATCHKEY_SECURITY_COOKIE_SECURE", "maybe"},
           {"LATCHKEY_DATABASE_URL", "oracle://x"},
           {"LATCHKEY_DATABASE_POOL_SIZE", "0"},
           {"LATCHKEY_DATABASE_STATEMENT_TIMEOUT", "0s"},
           {"LATCHKEY_DATABASE_STATEMENT_TIMEOUT", "2h"},
           {"LATCHKEY_DATABASE_POOL_WAIT", "0"},
           {"LATCHKEY_SERVER_IO_THREADS", "-1"},
           {"LATCHKEY_SERVER_IO_THREADS", "65"}}) {
    Sources s;
    s.env = {{key, value}};
    EXPECT_THROW(load(s), ConfigError) << key;
  }
}

TEST(Config, MailLeaseCoversASend) {
  EXPECT_EQ(load({}).mail.lease, std::chrono::seconds(60));
  Sources ok;
  ok.env = {{"LATCHKEY_MAIL_LEASE", "6"}, {"LATCHKEY_MAIL_SMTP_TIMEOUT", "3"}};
  EXPECT_EQ(load(ok).mail.lease, std::chrono::seconds(6));
  Sources short_lease;
  short_lease.env = {{"LATCHKEY_MAIL_LEASE", "5"}, {"LATCHKEY_MAIL_SMTP_TIMEOUT", "3"}};
  try {
    load(short_lease);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("mail.lease"), std::string::npos);
  }
  Sources too_short;
  too_short.env = {{"LATCHKEY_MAIL_LEASE", "1"}, {"LATCHKEY_MAIL_SMTP_TIMEOUT", "1"}};
  EXPECT_THROW(load(too_short), ConfigError);
}

TEST(Config, RenderMasksSecrets) {
  Sources s;
  s.env = {{"LATCHKEY_KEYS_MASTER_KEY", std::string(64, 'a')},
           {"LATCHKEY_DATABASE_URL", "mysql://app:s3cret@127.0.0.1:3306/auth"}};
  auto text = render_effective(load(s));
  EXPECT_EQ(text.find(std::string(64, 'a')), std::string::npos);
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
  EXPECT_NE(text.find("mysql://app:********@127.0.0.1:3306/auth"), std::string::npos);
  EXPECT_NE(text.find("[server]"), std::string::npos);
}

TEST(Config, Durations) {
  EXPECT_EQ(parse_duration("90"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("15m"), std::chrono::seconds(900));
  EXPECT_EQ(parse_duration("2h"), std::chrono::seconds(7200));
  EXPECT_EQ(parse_duration("30d"), std::chrono::seconds(30 * 86400));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("m"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5w"));
}

}  // namespace
}  // namespace latchkey::config

namespace latchkey::config {
namespace {

TEST(Config, EveryKeyIsDocumented) {
  std::ifstream in(std::string(LATCHKEY_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& key : known_keys()) {
    EXPECT_NE(doc.find("`" + key + "`"), std::string::npos) << key << " is not documented";
  }
}

}  // namespace
}  // namespace latchkey::config

// Social login (issue 5): social.<id>.<field> tables.
namespace latchkey::config {
namespace {

TEST(Config, SocialProvidersFromTomlEnvAndFlags) {
  auto file = write_temp(
      "[social]\nallowed_return_to = [\"https://app.example.com/\"]\n"
      "[social.google]\nkind = \"google\"\nclient_id = \"g-id\"\nclient_secret = \"g-secret\"\n"
      "[social.corp_sso]\nkind = \"oidc\"\nclient_id = \"c\"\nclient_secret = \"s\"\n"
      "issuer = \"https://sso.example.com\"\nscopes = [\"openid\", \"email\"]\n");
  Sources s;
  s.file = file;
  s.env = {{"LATCHKEY_SOCIAL_CORP_SSO_CLIENT_SECRET", "from-env"},
           {"LATCHKEY_SOCIAL_GITHUB_KIND", "github"},
           {"LATCHKEY_SOCIAL_GITHUB_CLIENT_ID", "gh"},
           {"LATCHKEY_SOCIAL_GITHUB_CLIENT_SECRET", "ghs"}};
  s.flags = {{"social.google.name", "Google (work)"}};
  auto c = load(s);
  ASSERT_EQ(c.social.providers.size(), 3u);
  EXPECT_EQ(c.social.providers.at("google").client_id, "g-id");
  EXPECT_EQ(c.social.providers.at("google").name, "Google (work)");
  EXPECT_EQ(c.social.providers.at("corp_sso").client_secret, "from-env");
  EXPECT_EQ(c.social.providers.at("corp_sso").scopes,
            (std::vector<std::string>{"openid", "email"}));
  EXPECT_EQ(c.social.providers.at("github").kind, "github");
  EXPECT_EQ(c.social.allowed_return_to, std::vector<std::string>{"https://app.example.com/"});
  const auto text = render_effective(c);
  EXPECT_EQ(text.find("g-secret"), std::string::npos);
  EXPECT_NE(text.find("[social.google]"), std::string::npos);
  std::remove(file.c_str());
}

TEST(Config, SocialMistakesNameTheKey) {
  auto fails = [](std::map<std::string, std::string> flags, const std::string& key) {
    Sources s;
    s.flags = std::move(flags);
    try {
      load(s);
      ADD_FAILURE() << "expected ConfigError for " << key;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  fails(
      {{"social.x.kind", "myspace"}, {"social.x.client_id", "a"}, {"social.x.client_secret", "b"}},
      "social.x.kind");
  fails({{"social.x.kind", "oidc"}, {"social.x.client_id", "a"}, {"social.x.client_secret", "b"}},
        "social.x.issuer");
  fails({{"social.x.kind", "github"}, {"social.x.client_secret", "b"}}, "social.x.client_id");
  fails({{"social.x.kind", "oidc"},
         {"social.x.client_id", "a"},
         {"social.x.client_secret", "b"},
         {"social.x.issuer", "http://sso.example.com"}},
        "social.x.issuer");
  fails({{"social.x.typo", "1"}}, "social.x.typo");
  fails({{"social.allowed_return_to", "ftp://x/"}}, "social.allowed_return_to");
  auto file = write_temp("[social.google]\nkind = \"google\"\nclient_idd = \"x\"\n");
  Sources s;
  s.file = file;
  EXPECT_THROW(load(s), ConfigError);
  std::remove(file.c_str());
  Sources e;
  e.env = {{"LATCHKEY_SOCIAL_GOOGLE_CLIENT_IDD", "x"}};
  EXPECT_THROW(load(e), ConfigError);
}

}  // namespace
}  // namespace latchkey::config
