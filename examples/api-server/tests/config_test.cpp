#include "config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace notes {
namespace {

ParsedConfig parse(std::vector<const char*> args) {
  args.insert(args.begin(), "latchkey-notes");
  return parse_config(static_cast<int>(args.size()), args.data());
}

TEST(ParseListen, HostAndPort) {
  EXPECT_EQ(parse_listen("127.0.0.1:8081"),
            std::make_pair(std::string("127.0.0.1"), static_cast<unsigned short>(8081)));
  EXPECT_EQ(parse_listen("[::1]:0"),
            std::make_pair(std::string("::1"), static_cast<unsigned short>(0)));
  EXPECT_FALSE(parse_listen("127.0.0.1"));
  EXPECT_FALSE(parse_listen(":80"));
  EXPECT_FALSE(parse_listen("host:"));
  EXPECT_FALSE(parse_listen("host:65536"));
  EXPECT_FALSE(parse_listen("host:8x"));
  EXPECT_FALSE(parse_listen("::1:80"));
  EXPECT_FALSE(parse_listen("[::1]80"));
}

TEST(ParseConfig, DerivesUrlsFromTheLatchkeyUrl) {
  auto p = parse({"--latchkey-url", "https://id.example.com/"});
  ASSERT_TRUE(p.config) << p.message;
  const Config& c = *p.config;
  EXPECT_EQ(c.latchkey_url, "https://id.example.com");
  EXPECT_EQ(c.jwks_url, "https://id.example.com/.well-known/jwks.json");
  EXPECT_EQ(c.check_url, "https://id.example.com/api/auth/check");
  EXPECT_EQ(c.issuer, "https://id.example.com");
  EXPECT_EQ(c.audience, "latchkey");
  EXPECT_TRUE(c.revocation_check);
  EXPECT_EQ(c.check_cache_ttl, std::chrono::milliseconds(1000));
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8081);
}

TEST(ParseConfig, FlagsOverrideDefaults) {
  auto p = parse({"--latchkey-url", "http://127.0.0.1:9000", "--issuer", "https://id.example.com",
                  "--audience", "notes", "--listen", "0.0.0.0:0", "--revocation-check", "none",
                  "--check-cache-ms", "250", "--jwks-min-refetch", "5", "--ca-file", "/ca.pem"});
  ASSERT_TRUE(p.config) << p.message;
  const Config& c = *p.config;
  EXPECT_EQ(c.issuer, "https://id.example.com");
  EXPECT_EQ(c.jwks_url, "http://127.0.0.1:9000/.well-known/jwks.json");
  EXPECT_EQ(c.audience, "notes");
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_FALSE(c.revocation_check);
  EXPECT_EQ(c.check_url, "");
  EXPECT_EQ(c.check_cache_ttl, std::chrono::milliseconds(250));
  EXPECT_EQ(c.jwks_min_refetch, std::chrono::seconds(5));
  EXPECT_EQ(c.ca_file, "/ca.pem");
}

TEST(ParseConfig, ReadsTheEnvironment) {
  ::setenv("NOTES_LATCHKEY_URL", "http://127.0.0.1:7000", 1);
  ::setenv("NOTES_AUDIENCE", "from-env", 1);
  auto p = parse({"--audience", "from-flag"});
  ::unsetenv("NOTES_LATCHKEY_URL");
  ::unsetenv("NOTES_AUDIENCE");
  ASSERT_TRUE(p.config) << p.message;
  EXPECT_EQ(p.config->latchkey_url, "http://127.0.0.1:7000");
  EXPECT_EQ(p.config->audience, "from-flag");  // flags win
}

TEST(ParseConfig, BadValuesNameTheFlag) {
  auto p = parse({});
  EXPECT_FALSE(p.config);
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.message.find("--latchkey-url"), std::string::npos);
  p = parse({"--latchkey-url", "ftp://x"});
  EXPECT_FALSE(p.config);
  EXPECT_NE(p.message.find("--latchkey-url"), std::string::npos);
  p = parse({"--latchkey-url", "http://x", "--listen", "nope"});
  EXPECT_FALSE(p.config);
  EXPECT_NE(p.message.find("--listen"), std::string::npos);
  p = parse({"--latchkey-url", "http://x", "--revocation-check", "sometimes"});
  EXPECT_FALSE(p.config);
  EXPECT_NE(p.message.find("--revocation-check"), std::string::npos);
  p = parse({"--latchkey-url", "http://x", "--check-cache-ms", "-1"});
  EXPECT_FALSE(p.config);
}

TEST(ParseConfig, HelpExitsZero) {
  auto p = parse({"--help"});
  EXPECT_FALSE(p.config);
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_NE(p.message.find("NOTES_LATCHKEY_URL"), std::string::npos);
}

}  // namespace
}  // namespace notes
