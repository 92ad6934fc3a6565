#include "tokens/access_token.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace latchkey::tokens {
namespace {

using Json = nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

class MemoryKeyRepository final : public KeyRepository {
 public:
  Result<std::vector<StoredKey>> list() override { return rows; }
  Status insert(const StoredKey& key) override {
    rows.push_back(key);
    return {};
  }
  Status retire(const std::string& kid, TimePoint at) override {
    for (auto& r : rows) {
      if (r.kid == kid) r.retired_at = at;
    }
    return {};
  }
  Status remove(const std::string& kid) override {
    std::erase_if(rows, [&](const StoredKey& r) { return r.kid == kid; });
    return {};
  }
  std::vector<StoredKey> rows;
};

constexpr const char* kIssuer = "https://id.example.test";
constexpr const char* kAudience = "https://api.example.test";

Json decode_part(const std::string& token, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  const std::size_t end = token.find('.', start);
  return Json::parse(latchkey::to_string(*base64url_decode(token.substr(start, end - start))));
}

class AccessTokenTest : public ::testing::TestWithParam<Alg> {
 protected:
  AccessTokenTest()
      : ring_(repo_, clock_, random_, Bytes(kMasterKeyBytes, 5),
              {.alg = GetParam(), .access_token_ttl = minutes(15), .leeway = seconds(30)}),
        issuer_(ring_, clock_, random_,
                {.issuer = kIssuer, .audience = kAudience, .ttl = minutes(15)}),
        verifier_(ring_, clock_, {.issuer = kIssuer, .audience = kAudience}) {
    EXPECT_TRUE(ring_.load());
  }

  AccessClaims alice() const {
    return {.sub = "user-alice",
            .sid = "session-1",
            .email = "alice@example.test",
            .roles = {"user", "admin"},
            .amr = {"pwd", "otp"},
            .auth_time = clock_.now() - seconds(5),
            .email_verified = true};
  }

  MemoryKeyRepository repo_;
  FakeClock clock_{1'800'000'000};
  SeededRandom random_{11};
  KeyRing ring_;
  AccessTokenIssuer issuer_;
  AccessTokenVerifier verifier_;
};

TEST_P(AccessTokenTest, IssueThenVerifyRoundTrip) {
  auto issued = issuer_.issue(alice());
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->expires_in, 900);
  EXPECT_EQ(issued->expires_at, clock_.now() + minutes(15));

  Json header = decode_part(issued->token, 0);
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["alg"], std::string(to_string(GetParam())));
  EXPECT_EQ(header["kid"], ring_.snapshot()->signing->kid());

  Json payload = decode_part(issued->token, 1);
  const std::int64_t now = to_unix(clock_.now());
  EXPECT_EQ(payload["iss"], kIssuer);
  EXPECT_EQ(payload["aud"], kAudience);
  EXPECT_EQ(payload["iat"], now);
  EXPECT_EQ(payload["nbf"], now);
  EXPECT_EQ(payload["exp"], now + 900);
  EXPECT_EQ(payload["jti"], issued->jti);
  EXPECT_EQ(base64url_decode(issued->jti)->size(), 16u);
  EXPECT_FALSE(payload.contains("client_id"));

  VerifiedAccessToken v = verifier_.verify(issued->token);
  ASSERT_TRUE(v) << to_string(v.status);
  EXPECT_EQ(v.claims->sub(), "user-alice");
  EXPECT_EQ(v.claims->sid(), "session-1");
  EXPECT_EQ(v.claims->jti(), issued->jti);
  EXPECT_EQ(v.claims->email(), "alice@example.test");
  EXPECT_TRUE(v.claims->email_verified());
  EXPECT_EQ(v.claims->roles(), (std::vector<std::string>{"user", "admin"}));
  EXPECT_EQ(v.claims->amr(), (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_EQ(v.claims->auth_time(), now - 5);
  EXPECT_EQ(v.claims->exp(), now + 900);

  // An independent verifier that only has the published JWKS (what an API server does).
  auto jwks = parse_jwks(ring_.snapshot()->jwks_json);
  ASSERT_TRUE(jwks);
  Claims claims;
  EXPECT_EQ(verify_jwt(issued->token, *jwks, {.issuer = kIssuer, .audience = kAudience, .now = now},
                       &claims),
            VerifyStatus::kOk);
}

TEST_P(AccessTokenTest, OptionalClaimsAreOmitted) {
  auto issued = issuer_.issue({.sub = "user-bob"});
  ASSERT_TRUE(issued);
  Json payload = decode_part(issued->token, 1);
  EXPECT_FALSE(payload.contains("email"));
  EXPECT_FALSE(payload.contains("sid"));
  EXPECT_FALSE(payload.contains("auth_time"));
  EXPECT_EQ(payload["roles"], Json::array());
  EXPECT_EQ(payload["email_verified"], false);
  EXPECT_TRUE(verifier_.verify(issued->token));
}

TEST_P(AccessTokenTest, ExpiryIsCheckedEvenOnCacheHits) {
  auto issued = issuer_.issue(alice());
  ASSERT_TRUE(issued);
  EXPECT_TRUE(verifier_.verify(issued->token));
  EXPECT_EQ(verifier_.cache_size(), 1u);
  EXPECT_TRUE(verifier_.verify(issued->token));  // hit
  EXPECT_EQ(verifier_.cache_size(), 1u);
  clock_.advance(minutes(15) + seconds(29));
  EXPECT_TRUE(verifier_.verify(issued->token));
  clock_.advance(seconds(1));
  VerifiedAccessToken v = verifier_.verify(issued->token);
  EXPECT_EQ(v.status, VerifyStatus::kExpired);
  EXPECT_FALSE(v.claims);
  EXPECT_EQ(verifier_.cache_size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(EveryAlg, AccessTokenTest,
                         ::testing::Values(Alg::kRS256, Alg::kES256, Alg::kEdDSA),
                         [](const auto& info) { return std::string(to_string(info.param)); });

class AccessTokenEs256Test : public ::testing::Test {
 protected:
  AccessTokenEs256Test()
      : ring_(repo_, clock_, random_, Bytes(kMasterKeyBytes, 5),
              {.alg = Alg::kES256, .access_token_ttl = minutes(15), .leeway = seconds(30)}),
        issuer_(ring_, clock_, random_,
                {.issuer = kIssuer, .audience = kAudience, .ttl = minutes(15)}) {
    EXPECT_TRUE(ring_.load());
  }
  MemoryKeyRepository repo_;
  FakeClock clock_{1'800'000'000};
  SeededRandom random_{11};
  KeyRing ring_;
  AccessTokenIssuer issuer_;
};

TEST_F(AccessTokenEs256Test, OtherAudienceOrIssuerIsRefused) {
  auto issued = issuer_.issue({.sub = "u"});
  ASSERT_TRUE(issued);
  AccessTokenVerifier other_api(ring_, clock_,
                                {.issuer = kIssuer, .audience = "https://other.test"});
  EXPECT_EQ(other_api.verify(issued->token).status, VerifyStatus::kAudienceMismatch);
  AccessTokenVerifier other_issuer(ring_, clock_,
                                   {.issuer = "https://evil.test", .audience = kAudience});
  EXPECT_EQ(other_issuer.verify(issued->token).status, VerifyStatus::kIssuerMismatch);
  EXPECT_EQ(other_api.cache_size(), 0u);  // failures are never cached
}

TEST_F(AccessTokenEs256Test, CachedTokenOfAWithdrawnKeyIsRefused) {
  AccessTokenVerifier verifier(ring_, clock_, {.issuer = kIssuer, .audience = kAudience});
  auto issued = issuer_.issue({.sub = "u"});
  ASSERT_TRUE(issued);
  const std::string old_kid = ring_.snapshot()->signing->kid();
  ASSERT_TRUE(verifier.verify(issued->token));  // cached
  ASSERT_TRUE(ring_.rotate(std::nullopt, seconds(0)));
  EXPECT_TRUE(verifier.verify(issued->token));  // the retired key is still published
  // Emergency withdrawal of the old key (an operator deletes it, replicas refresh).
  ASSERT_TRUE(repo_.remove(old_kid));
  ASSERT_TRUE(ring_.refresh());
  EXPECT_EQ(verifier.verify(issued->token).status, VerifyStatus::kKidUnknown);
  // New tokens use the new key and verify.
  auto fresh = issuer_.issue({.sub = "u"});
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(verifier.verify(fresh->token));
}

TEST_F(AccessTokenEs256Test, CacheIsBounded) {
  AccessTokenVerifier verifier(ring_, clock_,
                               {.issuer = kIssuer, .audience = kAudience, .cache_capacity = 3});
  for (int i = 0; i < 10; ++i) {
    auto issued = issuer_.issue({.sub = "u" + std::to_string(i)});
    ASSERT_TRUE(issued);
    ASSERT_TRUE(verifier.verify(issued->token));
    EXPECT_LE(verifier.cache_size(), 3u);
  }
  AccessTokenVerifier uncached(ring_, clock_,
                               {.issuer = kIssuer, .audience = kAudience, .cache_capacity = 0});
  auto issued = issuer_.issue({.sub = "u"});
  ASSERT_TRUE(uncached.verify(*&issued->token));
  EXPECT_EQ(uncached.cache_size(), 0u);
}

TEST_F(AccessTokenEs256Test, ForgedTokensAreRefused) {
  AccessTokenVerifier verifier(ring_, clock_, {.issuer = kIssuer, .audience = kAudience});
  auto issued = issuer_.issue({.sub = "u", .roles = {"user"}});
  ASSERT_TRUE(issued);
  // Elevate roles in the payload, keep the signature.
  Json payload = decode_part(issued->token, 1);
  payload["roles"] = {"admin"};
  const std::string& t = issued->token;
  std::string forged =
      t.substr(0, t.find('.') + 1) + base64url_encode(payload.dump()) + t.substr(t.rfind('.'));
  EXPECT_EQ(verifier.verify(forged).status, VerifyStatus::kSignatureInvalid);
  // A token signed by a key that is not in the ring, with a kid that is.
  SigningKey stranger = generate_signing_key(Alg::kES256, ring_.snapshot()->signing->kid());
  std::string foreign = sign_compact(stranger, {{"typ", "at+jwt"}}, payload);
  EXPECT_EQ(verifier.verify(foreign).status, VerifyStatus::kSignatureInvalid);
  EXPECT_EQ(verifier.verify("").status, VerifyStatus::kMalformed);
  EXPECT_EQ(verifier.verify(std::string(1 << 20, 'a')).status, VerifyStatus::kTooLarge);
}

TEST_F(AccessTokenEs256Test, IssuerNeedsALoadedRing) {
  MemoryKeyRepository empty;
  KeyRing unloaded(empty, clock_, random_, Bytes(kMasterKeyBytes, 5), {});
  AccessTokenIssuer issuer(unloaded, clock_, random_, {.issuer = kIssuer, .audience = kAudience});
  auto r = issuer.issue({.sub = "u"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_THROW((void)issuer.issue({}), std::invalid_argument);
  EXPECT_THROW(AccessTokenIssuer(ring_, clock_, random_, {.issuer = "", .audience = kAudience}),
               std::invalid_argument);
  EXPECT_THROW(AccessTokenVerifier(ring_, clock_, {.issuer = kIssuer, .audience = ""}),
               std::invalid_argument);
}

TEST(AccessTokenErrors, StatusMapsToErrorCodes) {
  EXPECT_EQ(error_code_for(VerifyStatus::kExpired), ErrorCode::kTokenExpired);
  EXPECT_EQ(error_code_for(VerifyStatus::kSignatureInvalid), ErrorCode::kInvalidToken);
  EXPECT_EQ(error_code_for(VerifyStatus::kAlgNone), ErrorCode::kInvalidToken);
  Error e = to_error(VerifyStatus::kKidUnknown);
  EXPECT_EQ(e.code, ErrorCode::kInvalidToken);
  EXPECT_EQ(e.log_detail, "kid_unknown");
  EXPECT_EQ(e.message.find("kid"), std::string::npos);  // the client is not told why
}

}  // namespace
}  // namespace latchkey::tokens
