#include "methods/social/provider.hpp"

#include <gtest/gtest.h>

#include "common/encoding.hpp"
#include "testing/social_fakes.hpp"

namespace latchkey::methods::social {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://id.example.com";
constexpr const char* kClient = "client-1";

// --- Profile mapping from the documented response shapes ---------------------------------------

TEST(SocialMapping, GithubTakesThePrimaryVerifiedAddress) {
  // https://docs.github.com/en/rest/users/users and /rest/users/emails
  const json user = {
      {"login", "octocat"}, {"id", 583231}, {"name", nullptr}, {"email", "public@example.com"}};
  const json emails =
      json::array({{{"email", "other@example.com"}, {"verified", true}, {"primary", false}},
                   {{"email", "octocat@github.com"},
                    {"verified", true},
                    {"primary", true},
                    {"visibility", "public"}}});
  auto p = map_github(user, emails);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->subject, "583231");
  EXPECT_EQ(p->email, "octocat@github.com");
  EXPECT_TRUE(p->email_verified);
  EXPECT_EQ(p->name, "octocat");
}

TEST(SocialMapping, GithubUnverifiedPrimaryIsNotVerified) {
  const json user = {{"login", "o"}, {"id", 7}, {"name", "Octo"}};
  const json emails =
      json::array({{{"email", "o@example.com"}, {"verified", false}, {"primary", true}}});
  auto p = map_github(user, emails);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->email, "o@example.com");
  EXPECT_FALSE(p->email_verified);
  EXPECT_EQ(p->name, "Octo");
}

TEST(SocialMapping, GithubWithoutIdIsAProviderError) {
  auto p = map_github(json{{"login", "x"}}, json::array());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kSocialProviderError);
}

TEST(SocialMapping, KakaoNeedsValidAndVerified) {
  // https://developers.kakao.com/docs/latest/en/kakaologin/rest-api#req-user-info
  json me = {{"id", 123456789},
             {"kakao_account",
              {{"has_email", true},
               {"email", "sample@sample.com"},
               {"is_email_valid", true},
               {"is_email_verified", true},
               {"profile", {{"nickname", "홍길동"}}}}}};
  auto p = map_kakao(me);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->subject, "123456789");
  EXPECT_EQ(p->email, "sample@sample.com");
  EXPECT_TRUE(p->email_verified);
  EXPECT_EQ(p->name, "홍길동");
  me["kakao_account"]["is_email_valid"] = false;
  EXPECT_FALSE(map_kakao(me)->email_verified);
}

TEST(SocialMapping, NaverIsNeverVerified) {
  // https://developers.naver.com/docs/login/profile/profile.md
  const json me = {{"resultcode", "00"},
                   {"message", "success"},
                   {"response",
                    {{"id", "32742776"},
                     {"nickname", "OpenAPI"},
                     {"email", "openapi@naver.com"},
                     {"name", "오픈 API"}}}};
  auto p = map_naver(me);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->subject, "32742776");
  EXPECT_EQ(p->email, "openapi@naver.com");
  EXPECT_FALSE(p->email_verified);
  EXPECT_EQ(p->name, "오픈 API");
  auto bad = map_naver(json{{"resultcode", "024"}, {"message", "Authentication failed"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kSocialProviderError);
}

TEST(SocialMapping, OidcUserinfoOnlyForTheSameSubject) {
  const json claims = {{"sub", "abc"}};
  const json same = {{"sub", "abc"}, {"email", "a@example.com"}, {"email_verified", "true"}};
  const json other = {{"sub", "zzz"}, {"email", "evil@example.com"}, {"email_verified", true}};
  auto p = map_oidc(claims, &same);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->email, "a@example.com");
  EXPECT_TRUE(p->email_verified);
  auto q = map_oidc(claims, &other);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->email, "");
  EXPECT_FALSE(q->email_verified);
}

// --- id_token validation: one failure per rule --------------------------------------------------

class IdTokenTest : public ::testing::Test {
 protected:
  IdTokenTest()
      : key_(tokens::generate_signing_key(tokens::Alg::kES256, "k1")),
        other_(tokens::generate_signing_key(tokens::Alg::kES256, "k1")) {
    keys_.add(key_.public_key());
  }
  json claims() const {
    return {{"iss", kIssuer},   {"aud", kClient},    {"sub", "user-1"},
            {"iat", kNow - 10}, {"exp", kNow + 300}, {"nonce", "n-1"}};
  }
  std::string sign(const json& payload, const tokens::SigningKey* key = nullptr) const {
    return tokens::sign_compact(key ? *key : key_, {{"typ", "JWT"}}, payload);
  }
  IdTokenResult check(const std::string& token, std::string nonce = "n-1") const {
    return validate_id_token(token, keys_, {kIssuer, kClient, std::move(nonce), kNow, 60});
  }
  tokens::SigningKey key_;
  tokens::SigningKey other_;
  tokens::KeySet keys_;
};

TEST_F(IdTokenTest, Valid) {
  auto r = check(sign(claims()));
  ASSERT_TRUE(r.claims) << r.failure;
  EXPECT_EQ(r.claims->sub(), "user-1");
}

TEST_F(IdTokenTest, EachRuleFails) {
  auto with = [&](const char* name, json value) {
    auto c = claims();
    c[name] = std::move(value);
    return check(sign(c)).failure;
  };
  EXPECT_EQ(check(sign(claims(), &other_)).failure, "signature_invalid");
  EXPECT_EQ(with("iss", "https://evil.example.com"), "issuer_mismatch");
  EXPECT_EQ(with("aud", "someone-else"), "audience_mismatch");
  EXPECT_EQ(with("exp", kNow - 61), "expired");
  EXPECT_EQ(with("iat", kNow + 120), "issued_in_future");
  EXPECT_EQ(with("nonce", "n-2"), "nonce_mismatch");
  EXPECT_EQ(with("aud", json::array({kClient, "other"})), "azp_mismatch");
  EXPECT_EQ(with("azp", "other"), "azp_mismatch");
  auto no_nonce = claims();
  no_nonce.erase("nonce");
  EXPECT_EQ(check(sign(no_nonce)).failure, "nonce_mismatch");
  auto no_sub = claims();
  no_sub.erase("sub");
  EXPECT_EQ(check(sign(no_sub)).failure, "missing_claim");
  EXPECT_EQ(check(sign(claims()), "").failure, "nonce_mismatch");  // we always send one
  // Several audiences are fine when azp names us.
  auto several = claims();
  several["aud"] = json::array({kClient, "other"});
  several["azp"] = kClient;
  EXPECT_TRUE(check(sign(several)).claims);
}

TEST_F(IdTokenTest, UnknownKidIsFlagged) {
  auto k2 = tokens::generate_signing_key(tokens::Alg::kES256, "k2");
  auto r = check(sign(claims(), &k2));
  EXPECT_FALSE(r.claims);
  EXPECT_TRUE(r.kid_unknown);
}

TEST(ProviderJwks, AlgIsInferredFromTheKeyTypeAndEncryptionKeysAreLeftOut) {
  auto rsa = tokens::generate_signing_key(tokens::Alg::kRS256, "r1").public_key().to_jwk();
  rsa.erase("alg");
  auto enc = tokens::generate_signing_key(tokens::Alg::kES256, "e1").public_key().to_jwk();
  enc["use"] = "enc";
  auto keys = parse_provider_jwks(json{{"keys", {rsa, enc}}}.dump());
  ASSERT_TRUE(keys);
  ASSERT_NE(keys->find("r1"), nullptr);
  EXPECT_EQ(keys->find("r1")->alg(), tokens::Alg::kRS256);
  EXPECT_EQ(keys->find("e1"), nullptr);
  EXPECT_FALSE(parse_provider_jwks("[]"));
}

// --- A provider over a scripted network -------------------------------------------------------

class ProviderTest : public ::testing::Test {
 protected:
  ProviderTest() : key_(tokens::generate_signing_key(tokens::Alg::kES256, "k1")) {
    http_.on(std::string(kIssuer) + "/.well-known/openid-configuration", 200,
             json{{"issuer", kIssuer},
                  {"authorization_endpoint", "https://id.example.com/auth"},
                  {"token_endpoint", "https://id.example.com/token"},
                  {"userinfo_endpoint", "https://id.example.com/me"},
                  {"jwks_uri", "https://id.example.com/jwks"},
                  {"token_endpoint_auth_methods_supported", {"client_secret_post"}}}
                 .dump());
    // json::array: a one-element braced list copies the element with some compilers (clang)
    publish(json::array({key_.public_key().to_jwk()}));
    http_.on("https://id.example.com/me", 200,
             json{{"sub", "user-1"}, {"email", "u@example.com"}, {"email_verified", true}}.dump());
  }
  void publish(json keys) {
    http_.on("https://id.example.com/jwks", 200, json{{"keys", keys}}.dump());
  }
  void token_answer(const tokens::SigningKey& key, std::string nonce = "n-1") {
    const json claims = {{"iss", kIssuer}, {"aud", kClient},    {"sub", "user-1"},
                         {"iat", kNow},    {"exp", kNow + 300}, {"nonce", nonce}};
    http_.on("https://id.example.com/token", 200,
             json{{"access_token", "at"},
                  {"token_type", "Bearer"},
                  {"id_token", tokens::sign_compact(key, {{"typ", "JWT"}}, claims)}}
                 .dump());
  }
  Provider oidc() {
    return Provider({"corp", "oidc", "", kClient, "secret", kIssuer, {}, "", "", ""}, http_,
                    clock_);
  }
  FakeClock clock_{kNow};
  testing::FakeHttpClient http_;
  tokens::SigningKey key_;
};

TEST_F(ProviderTest, AuthorizeUrlCarriesStatePkceAndNonce) {
  auto p = oidc();
  auto url = p.authorize_url({"st", "n-1", "ch", "https://auth.example.com/cb"});
  ASSERT_TRUE(url) << url.error().log_detail;
  EXPECT_EQ(url->rfind("https://id.example.com/auth?", 0), 0u);
  for (const char* part :
       {"response_type=code", "client_id=client-1", "state=st", "nonce=n-1", "code_challenge=ch",
        "code_challenge_method=S256", "scope=openid+email+profile",
        "redirect_uri=https%3A%2F%2Fauth.example.com%2Fcb"}) {
    EXPECT_NE(url->find(part), std::string::npos) << part << " in " << *url;
  }
}

TEST_F(ProviderTest, ExchangeValidatesAndMapsUserinfo) {
  token_answer(key_);
  auto p = oidc();
  auto profile = p.exchange({"code-1", "verifier", "n-1", "https://auth.example.com/cb", "st"});
  ASSERT_TRUE(profile) << profile.error().log_detail;
  EXPECT_EQ(profile->subject, "user-1");
  EXPECT_EQ(profile->email, "u@example.com");
  EXPECT_TRUE(profile->email_verified);
  const auto token_call = *std::find_if(http_.calls.begin(), http_.calls.end(), [](const auto& c) {
    return c.url == "https://id.example.com/token";
  });
  EXPECT_EQ(token_call.method, "POST");
  EXPECT_NE(token_call.body.find("code_verifier=verifier"), std::string::npos);
  EXPECT_NE(token_call.body.find("client_secret=secret"), std::string::npos);
}

TEST_F(ProviderTest, WrongNonceIsTokenInvalid) {
  token_answer(key_, "n-other");
  auto p = oidc();
  auto profile = p.exchange({"code-1", "verifier", "n-1", "https://auth.example.com/cb", "st"});
  ASSERT_FALSE(profile);
  EXPECT_EQ(profile.error().code, ErrorCode::kSocialTokenInvalid);
}

TEST_F(ProviderTest, UnknownKidRefetchesTheJwksAtMostOncePerMinute) {
  auto p = oidc();
  token_answer(key_);
  ASSERT_TRUE(p.exchange({"c", "v", "n-1", "https://a/cb", "s"}));
  EXPECT_EQ(http_.count("https://id.example.com/jwks"), 1);
  // The provider rotates to k2: the first token with k2 refetches once.
  auto k2 = tokens::generate_signing_key(tokens::Alg::kES256, "k2");
  publish(json::array({key_.public_key().to_jwk(), k2.public_key().to_jwk()}));
  clock_.advance(std::chrono::seconds(61));
  token_answer(k2);
  ASSERT_TRUE(p.exchange({"c", "v", "n-1", "https://a/cb", "s"}));
  EXPECT_EQ(http_.count("https://id.example.com/jwks"), 2);
  // A forged kid does not make us refetch again within the minute.
  auto forged = tokens::generate_signing_key(tokens::Alg::kES256, "k3");
  token_answer(forged);
  auto r = p.exchange({"c", "v", "n-1", "https://a/cb", "s"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kSocialTokenInvalid);
  EXPECT_EQ(http_.count("https://id.example.com/jwks"), 2);
}

TEST_F(ProviderTest, DiscoveryWithAnotherIssuerIsRefused) {
  http_.on(std::string(kIssuer) + "/.well-known/openid-configuration", 200,
           json{{"issuer", "https://evil.example.com"},
                {"authorization_endpoint", "https://id.example.com/auth"},
                {"token_endpoint", "https://id.example.com/token"},
                {"jwks_uri", "https://id.example.com/jwks"}}
               .dump());
  auto p = oidc();
  auto url = p.authorize_url({"st", "n", "ch", "https://a/cb"});
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().code, ErrorCode::kSocialProviderError);
}

TEST_F(ProviderTest, TokenEndpointErrorIsAProviderError) {
  http_.on("https://id.example.com/token", 400, R"({"error":"invalid_grant"})");
  auto p = oidc();
  auto r = p.exchange({"c", "v", "n-1", "https://a/cb", "s"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kSocialProviderError);
  EXPECT_NE(r.error().log_detail.find("invalid_grant"), std::string::npos);
}

TEST(GithubProvider, ReadsUserAndEmailsWithTheAccessToken) {
  FakeClock clock;
  testing::FakeHttpClient http;
  http.on("https://gh.test/token", 200, R"({"access_token":"gho_1","token_type":"bearer"})");
  http.on("https://gh.test/user", 200, R"({"id":42,"login":"octo"})");
  http.on("https://gh.test/user/emails", 200,
          R"([{"email":"octo@example.com","verified":true,"primary":true}])");
  Provider p({"github",
              "github",
              "",
              "cid",
              "sec",
              "",
              {},
              "https://gh.test/authorize",
              "https://gh.test/token",
              "https://gh.test/user"},
             http, clock);
  EXPECT_FALSE(p.openid());
  auto url = p.authorize_url({"st", "", "ch", "https://a/cb"});
  ASSERT_TRUE(url);
  EXPECT_EQ(url->find("nonce"), std::string::npos);
  auto profile = p.exchange({"c", "v", "", "https://a/cb", "st"});
  ASSERT_TRUE(profile) << profile.error().log_detail;
  EXPECT_EQ(profile->subject, "42");
  EXPECT_TRUE(profile->email_verified);
  const auto& user_call = http.calls.at(1);
  EXPECT_NE(
      std::find(user_call.headers.begin(), user_call.headers.end(), "Authorization: Bearer gho_1"),
      user_call.headers.end());
  // GitHub reports a bad code with 200 and an error member.
  http.on("https://gh.test/token", 200, R"({"error":"bad_verification_code"})");
  auto bad = p.exchange({"c", "v", "", "https://a/cb", "st"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kSocialProviderError);
}

}  // namespace
}  // namespace latchkey::methods::social
