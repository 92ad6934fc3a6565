#include "tokens/jose.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <chrono>
#include <set>

#include "common/clock.hpp"

namespace latchkey::tokens {
namespace {

using Json = nlohmann::json;

constexpr const char* kIssuer = "https://id.example.test";
constexpr const char* kAudience = "api.example.test";

// Hand-assembles a compact JWS so tests can put anything in the header; signs with key.
std::string craft(const SigningKey& key, const Json& header, const Json& payload) {
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  return input + "." + base64url_encode(sign_bytes(key, input));
}

class JoseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new SigningKey(generate_signing_key(Alg::kRS256, "rsa-1"));
    ec_ = new SigningKey(generate_signing_key(Alg::kES256, "ec-1"));
    ed_ = new SigningKey(generate_signing_key(Alg::kEdDSA, "ed-1"));
    other_ec_ = new SigningKey(generate_signing_key(Alg::kES256, "ec-1"));  // same kid, other key
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete ed_;
    delete other_ec_;
  }

  JoseTest() {
    keys_.add(rsa_->public_key());
    keys_.add(ec_->public_key());
    keys_.add(ed_->public_key());
    options_.issuer = kIssuer;
    options_.audience = kAudience;
    options_.now = to_unix(clock_.now());
  }

  Json claims() const {
    const std::int64_t now = to_unix(clock_.now());
    return {{"iss", kIssuer}, {"sub", "user-1"}, {"aud", kAudience}, {"exp", now + 600},
            {"iat", now},     {"nbf", now},      {"jti", "j-1"},     {"sid", "s-1"}};
  }
  static Json header(const SigningKey& key) {
    return {{"alg", std::string(to_string(key.alg()))}, {"kid", key.kid()}, {"typ", "at+jwt"}};
  }
  VerifyStatus verify(std::string_view token) {
    options_.now = to_unix(clock_.now());
    Claims out;
    return verify_jwt(token, keys_, options_, &out);
  }

  static SigningKey* rsa_;
  static SigningKey* ec_;
  static SigningKey* ed_;
  static SigningKey* other_ec_;
  FakeClock clock_{1'800'000'000};
  KeySet keys_;
  VerifyOptions options_;
};
SigningKey* JoseTest::rsa_ = nullptr;
SigningKey* JoseTest::ec_ = nullptr;
SigningKey* JoseTest::ed_ = nullptr;
SigningKey* JoseTest::other_ec_ = nullptr;

// --- published vectors ------------------------------------------------------------------------

// RFC 7515 appendix A.2: RS256 over {"iss":"joe",...} with the appendix's RSA key. The token has
// no kid and no typ, so it is checked at the signature layer, and verify_jws shows kid is required.
TEST(JoseVectors, Rfc7515AppendixA2Rs256Verifies) {
  const Json jwk = {{"kty", "RSA"},
                    {"alg", "RS256"},
                    {"kid", "rfc7515-a2"},
                    {"e", "AQAB"},
                    {"n",
                     "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
                     "4qPCJrcS2mJPMEzP1Pt0Bm4d4"
                     "QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
                     "bSf63kpaSHSXndS5z5rexMd"
                     "bBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_"
                     "I5IhlJH7aGhyxXFvUK"
                     "-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}};
  const std::string input =
      "eyJhbGciOiJSUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ";
  // {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
  const std::string sig_b64 =
      "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
      "O8W2Fp5ju"
      "jGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
      "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07"
      "Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
      "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipU"
      "TI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
  auto key = parse_jwk(jwk);
  ASSERT_TRUE(key) << key.error().message;
  auto sig = base64url_decode(sig_b64);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(verify_signature(Alg::kRS256, *key, input, *sig));
  EXPECT_FALSE(verify_signature(Alg::kES256, *key, input, *sig));  // alg pinned to the key
  Bytes tampered = *sig;
  tampered[10] ^= 1;
  EXPECT_FALSE(verify_signature(Alg::kRS256, *key, input, tampered));
  EXPECT_FALSE(verify_signature(Alg::kRS256, *key, input + "x", *sig));

  KeySet keys;
  keys.add(*key);
  VerifyOptions opt;
  opt.typ = std::nullopt;
  EXPECT_EQ(verify_jws(input + "." + sig_b64, keys, opt), VerifyStatus::kKidMissing);
}

// RFC 8037 appendix A.4: Ed25519 is deterministic, so our signature must equal the RFC's.
TEST(JoseVectors, Rfc8037AppendixAEd25519SignsByteForByte) {
  auto d = base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  ASSERT_TRUE(d);
  Bytes der = *hex_decode("302e020100300506032b657004220420");  // PKCS#8 prefix for Ed25519
  der.insert(der.end(), d->begin(), d->end());
  auto key = SigningKey::from_pkcs8(Alg::kEdDSA, "", der);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->public_key().to_jwk()["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");

  const std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  ASSERT_EQ(
      base64url_encode(R"({"alg":"EdDSA"})") + "." + base64url_encode("Example of Ed25519 signing"),
      input);
  const std::string expected =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  Bytes sig = sign_bytes(*key, input);
  EXPECT_EQ(base64url_encode(sig), expected);

  auto pub = parse_jwk({{"kty", "OKP"},
                        {"crv", "Ed25519"},
                        {"alg", "EdDSA"},
                        {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_TRUE(verify_signature(Alg::kEdDSA, *pub, input, *base64url_decode(expected)));
  sig[0] ^= 0x80;
  EXPECT_FALSE(verify_signature(Alg::kEdDSA, *pub, input, sig));
}

// --- keys ------------------------------------------------------------------------------------

TEST(JoseKeys, AlgNamesRoundTrip) {
  for (Alg a : {Alg::kRS256, Alg::kES256, Alg::kEdDSA}) EXPECT_EQ(parse_alg(to_string(a)), a);
  EXPECT_FALSE(parse_alg("es256"));
  EXPECT_FALSE(parse_alg("none"));
  EXPECT_FALSE(parse_alg("HS256"));
}

TEST_F(JoseTest, Pkcs8RoundTripKeepsTheKey) {
  for (const SigningKey* k : {rsa_, ec_, ed_}) {
    Bytes der = k->to_pkcs8();
    auto back = SigningKey::from_pkcs8(k->alg(), k->kid(), der);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->public_key().to_jwk(), k->public_key().to_jwk());
    // A token signed by the re-imported key verifies under the original public key.
    EXPECT_EQ(verify(craft(*back, header(*k), claims())), VerifyStatus::kOk);
  }
  EXPECT_FALSE(SigningKey::from_pkcs8(Alg::kES256, "x", rsa_->to_pkcs8()));
  EXPECT_FALSE(SigningKey::from_pkcs8(Alg::kRS256, "x", ed_->to_pkcs8()));
  EXPECT_FALSE(SigningKey::from_pkcs8(Alg::kEdDSA, "x", ec_->to_pkcs8()));
  EXPECT_FALSE(SigningKey::from_pkcs8(Alg::kEdDSA, "x", Bytes{1, 2, 3}));
  Bytes der = ed_->to_pkcs8();
  der.push_back(0);  // trailing garbage
  EXPECT_FALSE(SigningKey::from_pkcs8(Alg::kEdDSA, "x", der));
}

TEST_F(JoseTest, PublicJwkShapes) {
  Json r = rsa_->public_key().to_jwk();
  EXPECT_EQ(r["kty"], "RSA");
  EXPECT_EQ(r["e"], "AQAB");
  EXPECT_EQ(base64url_decode(r["n"].get<std::string>())->size(), 256u);
  Json e = ec_->public_key().to_jwk();
  EXPECT_EQ(e["crv"], "P-256");
  EXPECT_EQ(base64url_decode(e["x"].get<std::string>())->size(), 32u);
  EXPECT_EQ(base64url_decode(e["y"].get<std::string>())->size(), 32u);
  Json o = ed_->public_key().to_jwk();
  EXPECT_EQ(o["kty"], "OKP");
  EXPECT_EQ(o["crv"], "Ed25519");
  for (const Json& j : {r, e, o}) {
    EXPECT_EQ(j["use"], "sig");
    EXPECT_FALSE(j.contains("d"));
    auto back = parse_jwk(j);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->to_jwk(), j);
  }
}

TEST_F(JoseTest, JwkValidationIsStrict) {
  Json ec = ec_->public_key().to_jwk();
  auto rejects = [](Json j, const char* why) {
    auto r = parse_jwk(j);
    EXPECT_FALSE(r) << why;
  };
  {
    Json j = ec;
    j["d"] = "AAAA";
    rejects(j, "private member");
  }
  {
    Json j = ec;
    j.erase("alg");
    rejects(j, "no alg");
  }
  {
    Json j = ec;
    j["alg"] = "ES384";
    rejects(j, "unsupported alg");
  }
  {
    Json j = ec;
    j["kty"] = "RSA";
    rejects(j, "kty does not fit alg");
  }
  {
    Json j = ec;
    j["crv"] = "P-384";
    rejects(j, "crv does not fit alg");
  }
  {
    Json j = ec;
    j["use"] = "enc";
    rejects(j, "use enc");
  }
  {
    Json j = ec;
    j["key_ops"] = {"encrypt"};
    rejects(j, "key_ops without verify");
  }
  {
    Json j = ec;
    j["x"] = j["x"].get<std::string>() + "=";
    rejects(j, "padded base64url");
  }
  {
    Json j = ec;
    Bytes y = *base64url_decode(j["y"].get<std::string>());
    y[31] ^= 1;  // (x, y') is not on the curve
    j["y"] = base64url_encode(y);
    rejects(j, "point not on curve");
  }
  {
    Json j = ed_->public_key().to_jwk();
    j["x"] = base64url_encode(Bytes(31, 7));
    rejects(j, "short Ed25519 key");
  }
  {
    Json j = rsa_->public_key().to_jwk();
    j["e"] = "AQ";  // e = 1
    rejects(j, "exponent one");
    j["e"] = "AQAB";
    j["n"] = "AA" + j["n"].get<std::string>().substr(2);  // leading zero octet
    rejects(j, "leading zero");
  }
  {
    EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
    ASSERT_NE(small, nullptr);
    BIGNUM* n = nullptr;
    ASSERT_EQ(EVP_PKEY_get_bn_param(small, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    Bytes nb(static_cast<std::size_t>(BN_num_bytes(n)));
    BN_bn2bin(n, nb.data());
    BN_free(n);
    EVP_PKEY_free(small);
    rejects({{"kty", "RSA"}, {"alg", "RS256"}, {"e", "AQAB"}, {"n", base64url_encode(nb)}},
            "RSA 1024");
  }
  EXPECT_TRUE(parse_jwk(ec));  // and the unmodified key is fine
}

TEST_F(JoseTest, JwksParsingDropsBadAndAmbiguousKeys) {
  Json good = ec_->public_key().to_jwk();
  Json bad = good;
  bad["kid"] = "bad";
  bad["crv"] = "P-521";
  Json dup1 = ed_->public_key().to_jwk();
  dup1["kid"] = "twice";
  Json dup2 = rsa_->public_key().to_jwk();
  dup2["kid"] = "twice";
  Json no_kid = rsa_->public_key().to_jwk();
  no_kid.erase("kid");
  Json doc = {{"keys", {good, bad, dup1, dup2, no_kid}}};
  auto set = parse_jwks(doc.dump());
  ASSERT_TRUE(set);
  EXPECT_EQ(set->size(), 1u);
  EXPECT_NE(set->find("ec-1"), nullptr);
  EXPECT_EQ(set->find("twice"), nullptr);
  EXPECT_EQ(set->find("bad"), nullptr);
  EXPECT_EQ(set->rejected().size(), 3u);
  EXPECT_FALSE(parse_jwks("[]"));
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})"));
  EXPECT_FALSE(parse_jwks(R"({"keys":[],"keys":[]})"));
  // to_jwks output parses back to the same keys.
  std::vector<PublicKey> pubs = {rsa_->public_key(), ec_->public_key(), ed_->public_key()};
  auto round = parse_jwks(to_jwks(pubs));
  ASSERT_TRUE(round);
  EXPECT_EQ(round->size(), 3u);
}

// --- sign / verify round trip -----------------------------------------------------------------

TEST_F(JoseTest, SignCompactVerifiesForEveryAlg) {
  for (const SigningKey* k : {rsa_, ec_, ed_}) {
    std::string token = sign_compact(*k, {{"typ", "at+jwt"}}, claims());
    Claims out;
    EXPECT_EQ(verify_jwt(token, keys_, options_, &out), VerifyStatus::kOk) << to_string(k->alg());
    EXPECT_EQ(out.sub(), "user-1");
    EXPECT_EQ(out.sid(), "s-1");
    EXPECT_EQ(out.jti(), "j-1");
    EXPECT_EQ(out.exp(), to_unix(clock_.now()) + 600);
  }
  EXPECT_THROW(sign_compact(*ec_, {{"alg", "none"}}, claims()), std::invalid_argument);
  EXPECT_THROW(sign_compact(*ec_, {{"kid", "x"}}, claims()), std::invalid_argument);
}

TEST_F(JoseTest, InvalidUtf8InAClaimIsReplacedNotThrown) {
  Json c = claims();
  c["email"] = std::string("a\xff@example.test");
  std::string token;
  ASSERT_NO_THROW(token = sign_compact(*ed_, {{"typ", "at+jwt"}}, c));
  Claims out;
  ASSERT_EQ(verify_jwt(token, keys_, options_, &out), VerifyStatus::kOk);
  EXPECT_EQ(out.email(), "a\xEF\xBF\xBD@example.test");  // U+FFFD
}

TEST_F(JoseTest, Es256SignaturesAreP1363) {
  std::string token = sign_compact(*ec_, {{"typ", "at+jwt"}}, claims());
  auto sig = base64url_decode(token.substr(token.rfind('.') + 1));
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), 64u);
}

TEST_F(JoseTest, ClaimsAccessors) {
  Json c = claims();
  c["roles"] = {"admin", "user"};
  c["amr"] = {"pwd", "otp"};
  c["email"] = "a@example.test";
  c["email_verified"] = true;
  c["auth_time"] = 1'799'999'000;
  Claims out;
  ASSERT_EQ(verify_jwt(craft(*ed_, header(*ed_), c), keys_, options_, &out), VerifyStatus::kOk);
  EXPECT_EQ(out.roles(), (std::vector<std::string>{"admin", "user"}));
  EXPECT_EQ(out.amr(), (std::vector<std::string>{"pwd", "otp"}));
  EXPECT_TRUE(out.has_role("admin"));
  EXPECT_FALSE(out.has_role("root"));
  EXPECT_EQ(out.email(), "a@example.test");
  EXPECT_TRUE(out.email_verified());
  EXPECT_EQ(out.auth_time(), 1'799'999'000);
  EXPECT_EQ(out.iss(), kIssuer);
}

TEST_F(JoseTest, FailureClearsClaims) {
  Claims out(Json{{"sub", "stale"}});
  Json c = claims();
  c["iss"] = "https://evil.test";
  EXPECT_EQ(verify_jwt(craft(*ec_, header(*ec_), c), keys_, options_, &out),
            VerifyStatus::kIssuerMismatch);
  EXPECT_EQ(out.sub(), "");
}

// --- forgeries --------------------------------------------------------------------------------

TEST_F(JoseTest, AlgNoneInAnyCaseIsRefused) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    Json h = {{"alg", none}, {"kid", "ec-1"}, {"typ", "at+jwt"}};
    std::string unsigned_token =
        base64url_encode(h.dump()) + "." + base64url_encode(claims().dump()) + ".";
    EXPECT_EQ(verify(unsigned_token), VerifyStatus::kMalformed) << none;
    EXPECT_EQ(verify(unsigned_token + "AAAA"), VerifyStatus::kAlgNone) << none;
  }
}

TEST_F(JoseTest, Hs256KeyedWithThePublicKeyIsRefused) {
  Json h = {{"alg", "HS256"}, {"kid", "rsa-1"}, {"typ", "at+jwt"}};
  std::string input = base64url_encode(h.dump()) + "." + base64url_encode(claims().dump());
  std::string pub = rsa_->public_key().to_jwk().dump();
  Bytes mac = hmac_sha256(as_bytes(pub), as_bytes(input));
  EXPECT_EQ(verify(input + "." + base64url_encode(mac)), VerifyStatus::kAlgUnsupported);
}

TEST_F(JoseTest, AlgMustMatchTheKeysAlg) {
  // An EdDSA signature presented under the RSA key's kid.
  Json h = {{"alg", "EdDSA"}, {"kid", "rsa-1"}, {"typ", "at+jwt"}};
  EXPECT_EQ(verify(craft(*ed_, h, claims())), VerifyStatus::kAlgKeyMismatch);
  h["alg"] = "RS512";
  EXPECT_EQ(verify(craft(*rsa_, h, claims())), VerifyStatus::kAlgUnsupported);
  h.erase("alg");
  EXPECT_EQ(verify(craft(*rsa_, h, claims())), VerifyStatus::kAlgUnsupported);
}

TEST_F(JoseTest, StrippedAndSwappedSignaturesAreRefused) {
  std::string token = craft(*ec_, header(*ec_), claims());
  std::string stripped = token.substr(0, token.rfind('.') + 1);
  EXPECT_EQ(verify(stripped), VerifyStatus::kMalformed);
  // Same header (kid ec-1) and claims, signed by another P-256 key.
  std::string foreign = craft(*other_ec_, header(*ec_), claims());
  std::string swapped = stripped + foreign.substr(foreign.rfind('.') + 1);
  EXPECT_EQ(verify(swapped), VerifyStatus::kSignatureInvalid);
  EXPECT_EQ(verify(foreign), VerifyStatus::kSignatureInvalid);
  // Payload changed after signing.
  Json c = claims();
  c["sub"] = "admin";
  std::string tampered = token.substr(0, token.find('.') + 1) + base64url_encode(c.dump()) +
                         token.substr(token.rfind('.'));
  EXPECT_EQ(verify(tampered), VerifyStatus::kSignatureInvalid);
}

TEST_F(JoseTest, UnknownOrMissingKidIsRefused) {
  Json h = header(*ec_);
  h["kid"] = "attacker-key";
  EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kKidUnknown);
  h["kid"] = 7;
  EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kKidMissing);
  h.erase("kid");
  EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kKidMissing);
}

TEST_F(JoseTest, KeyCarryingHeadersAreRefused) {
  for (const char* name : {"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256"}) {
    Json h = header(*ec_);
    h[name] = name == std::string("jwk") ? Json(ec_->public_key().to_jwk())
                                         : Json("https://evil.test/keys");
    EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kForbiddenHeader) << name;
  }
}

TEST_F(JoseTest, CritIsRefused) {
  Json h = header(*ec_);
  h["crit"] = {"exp"};
  EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kCritUnsupported);
  h["crit"] = Json::array();
  EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kCritUnsupported);
}

TEST_F(JoseTest, TypIsChecked) {
  Json h = header(*ec_);
  for (const char* ok : {"at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"}) {
    h["typ"] = ok;
    EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kOk) << ok;
  }
  for (const char* bad : {"JWT", "application/jwt", "", "application/"}) {
    h["typ"] = bad;
    EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kTypMismatch) << bad;
  }
  h.erase("typ");
  EXPECT_EQ(verify(craft(*ec_, h, claims())), VerifyStatus::kTypMismatch);
}

TEST_F(JoseTest, HugeTokenIsRefusedBeforeDecoding) {
  std::string huge(1 << 20, 'A');
  huge[100] = '.';
  huge[200] = '.';
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(verify(huge), VerifyStatus::kTooLarge);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(50));  // O(1): the size is checked first
  std::string token = craft(*ec_, header(*ec_), claims());
  options_.max_token_size = token.size() - 1;
  EXPECT_EQ(verify(token), VerifyStatus::kTooLarge);
  options_.max_token_size = token.size();
  EXPECT_EQ(verify(token), VerifyStatus::kOk);
}

TEST_F(JoseTest, ShapeErrors) {
  std::string token = craft(*ec_, header(*ec_), claims());
  EXPECT_EQ(verify(""), VerifyStatus::kMalformed);
  EXPECT_EQ(verify("...."), VerifyStatus::kJwe);
  EXPECT_EQ(verify("a.b.c.d.e.f.g"), VerifyStatus::kMalformed);
  EXPECT_EQ(verify(std::string(500, '.')), VerifyStatus::kMalformed);
  EXPECT_EQ(verify(token + "."), VerifyStatus::kMalformed);
  EXPECT_EQ(verify(token + ".x"), VerifyStatus::kMalformed);
  EXPECT_EQ(verify("." + token), VerifyStatus::kMalformed);
  EXPECT_EQ(verify(R"({"payload":"e30","signatures":[]})"), VerifyStatus::kMalformed);
  // JWE compact: five parts, or an enc header.
  Json jwe = {{"alg", "RSA-OAEP"}, {"enc", "A256GCM"}, {"kid", "ec-1"}, {"typ", "at+jwt"}};
  EXPECT_EQ(verify(base64url_encode(jwe.dump()) + ".a.b.c.d"), VerifyStatus::kJwe);
  EXPECT_EQ(verify(craft(*ec_, jwe, claims())), VerifyStatus::kJwe);
  // base64url: padding, standard alphabet, spaces.
  std::string padded = token;
  padded.insert(token.find('.'), "=");
  EXPECT_EQ(verify(padded), VerifyStatus::kBadBase64);
  std::string spaced = token;
  spaced.insert(token.find('.'), " ");
  EXPECT_EQ(verify(spaced), VerifyStatus::kBadBase64);
  std::string bad_sig = token + "*";
  EXPECT_EQ(verify(bad_sig), VerifyStatus::kBadBase64);
  // Header and payload must be JSON objects.
  std::string rest = token.substr(token.find('.'));
  EXPECT_EQ(verify(base64url_encode("not json") + rest), VerifyStatus::kHeaderNotJson);
  EXPECT_EQ(verify(base64url_encode("[1,2]") + rest), VerifyStatus::kHeaderNotJson);
  EXPECT_EQ(verify(base64url_encode(std::string(40, '[') + std::string(40, ']')) + rest),
            VerifyStatus::kHeaderNotJson);
  std::string h = base64url_encode(header(*ec_).dump());
  std::string array_payload = h + "." + base64url_encode("[]");
  array_payload += "." + base64url_encode(sign_bytes(*ec_, array_payload));
  EXPECT_EQ(verify(array_payload), VerifyStatus::kPayloadNotJson);
}

TEST_F(JoseTest, DuplicateMemberNamesAreRefused) {
  std::string dup_header = R"({"alg":"ES256","kid":"ec-1","typ":"at+jwt","alg":"none"})";
  std::string input = base64url_encode(dup_header) + "." + base64url_encode(claims().dump());
  EXPECT_EQ(verify(input + "." + base64url_encode(sign_bytes(*ec_, input))),
            VerifyStatus::kDuplicateJsonKey);
  std::string payload = claims().dump();
  payload.insert(payload.size() - 1, R"(,"sub":"admin")");
  input = base64url_encode(header(*ec_).dump()) + "." + base64url_encode(payload);
  EXPECT_EQ(verify(input + "." + base64url_encode(sign_bytes(*ec_, input))),
            VerifyStatus::kDuplicateJsonKey);
}

TEST_F(JoseTest, IssuerAndAudience) {
  Json c = claims();
  c["iss"] = {kIssuer};
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kIssuerMismatch);
  c["iss"] = "https://id.example.test/";
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kIssuerMismatch);
  c.erase("iss");
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kMissingClaim);

  c = claims();
  c["aud"] = {"other-api", "third-api"};
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kAudienceMismatch);
  c["aud"] = {"other-api", kAudience};  // we are one of the audiences: accepted (RFC 7519)
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kOk);
  c["aud"] = Json::array();
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kAudienceMismatch);
  c["aud"] = {kAudience, 5};
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kAudienceMismatch);
  c["aud"] = "other-api";
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kAudienceMismatch);
  c.erase("aud");
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kMissingClaim);

  // Options without issuer or audience refuse everything (fail closed).
  std::string good = craft(*ec_, header(*ec_), claims());
  EXPECT_EQ(verify(good), VerifyStatus::kOk);
  options_.audience.clear();
  EXPECT_EQ(verify(good), VerifyStatus::kAudienceMismatch);
  options_.audience = kAudience;
  options_.issuer.clear();
  EXPECT_EQ(verify(good), VerifyStatus::kIssuerMismatch);
}

TEST_F(JoseTest, TimeEdgesWithLeeway) {
  const std::int64_t t0 = to_unix(clock_.now());
  Json c = claims();  // exp = t0 + 600, leeway 30
  std::string token = craft(*ec_, header(*ec_), c);
  clock_.set(t0 + 629);
  EXPECT_EQ(verify(token), VerifyStatus::kOk);
  clock_.set(t0 + 630);
  EXPECT_EQ(verify(token), VerifyStatus::kExpired);
  options_.leeway = 0;
  clock_.set(t0 + 599);
  EXPECT_EQ(verify(token), VerifyStatus::kOk);
  clock_.set(t0 + 600);
  EXPECT_EQ(verify(token), VerifyStatus::kExpired);
  options_.leeway = 30;

  c = claims();
  c["nbf"] = t0 + 100;
  c["iat"] = t0;
  token = craft(*ec_, header(*ec_), c);
  clock_.set(t0 + 69);
  EXPECT_EQ(verify(token), VerifyStatus::kNotYetValid);
  clock_.set(t0 + 70);
  EXPECT_EQ(verify(token), VerifyStatus::kOk);

  c = claims();
  c["iat"] = t0 + 31;
  c.erase("nbf");
  clock_.set(t0);
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kIssuedInFuture);
  c["iat"] = t0 + 30;
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kOk);

  c = claims();
  c["exp"] = std::numeric_limits<std::int64_t>::max();  // no overflow into the past
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kOk);
  c["exp"] = "2099-01-01";
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kClaimInvalid);
  c["exp"] = 1e300;
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kClaimInvalid);
  c.erase("exp");
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kMissingClaim);
  c = claims();
  c.erase("jti");
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kMissingClaim);
  c = claims();
  c["sub"] = 42;
  EXPECT_EQ(verify(craft(*ec_, header(*ec_), c)), VerifyStatus::kClaimInvalid);
}

TEST_F(JoseTest, PsychicEs256SignaturesAreRefused) {
  std::string token = craft(*ec_, header(*ec_), claims());
  std::string input = token.substr(0, token.rfind('.'));
  const Bytes n = *hex_decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  Bytes zero(64, 0);
  EXPECT_EQ(verify(input + "." + base64url_encode(zero)), VerifyStatus::kSignatureInvalid);
  EXPECT_FALSE(verify_signature(Alg::kES256, ec_->public_key(), input, zero));
  Bytes r_n_s_n = n;
  r_n_s_n.insert(r_n_s_n.end(), n.begin(), n.end());
  EXPECT_FALSE(verify_signature(Alg::kES256, ec_->public_key(), input, r_n_s_n));
  // A real signature with r replaced by r + n would be the same point mod n: refused by range.
  Bytes good = *base64url_decode(token.substr(token.rfind('.') + 1));
  EXPECT_TRUE(verify_signature(Alg::kES256, ec_->public_key(), input, good));
  Bytes long_sig = good;
  long_sig.push_back(0);
  EXPECT_FALSE(verify_signature(Alg::kES256, ec_->public_key(), input, long_sig));
}

TEST(JoseStatus, EveryStatusHasItsOwnName) {
  std::set<std::string_view> names;
  const int last = static_cast<int>(VerifyStatus::kClaimInvalid);
  for (int i = 0; i <= last; ++i) {
    auto name = to_string(static_cast<VerifyStatus>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(last + 1));
}

}  // namespace
}  // namespace latchkey::tokens
