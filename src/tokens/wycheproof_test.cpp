// Project Wycheproof vectors, read in place from LATCHKEY_VECTORS_DIR (see
// shared/vectors/wycheproof/SOURCE.md). When the directory is missing the tests are skipped with a
// notice, except under CI=true where they fail.
//
// How results map onto our verifier:
//  - "valid" with an algorithm we support (RS256, ES256, EdDSA): must be accepted.
//  - "valid" with an algorithm we do not support (HS*, PS*, ES384/512, RS384/512...): must be
//    refused — the verifier refuses everything it does not implement. Counted separately.
//  - "invalid": must be refused.
//  - "acceptable": either outcome passes; we count which one happened. (The only such case is an
//    RS256 PKCS#1 signature whose DigestInfo omits the NULL parameters; OpenSSL decides.)
// JWS cases are checked with verify_jws (header, kid, alg pinning, signature) with the typ check
// off, because the vectors are JWS over arbitrary payloads, not access tokens.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tokens/jose.hpp"

#ifndef LATCHKEY_VECTORS_DIR
#define LATCHKEY_VECTORS_DIR ""
#endif

namespace latchkey::tokens {
namespace {

using Json = nlohmann::json;

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

// Loads a vector file; on absence, fails (CI) or skips (elsewhere) the calling test.
#define LOAD_VECTORS_OR_SKIP(var, name)                                                      \
  Json var;                                                                                  \
  {                                                                                          \
    const std::filesystem::path path = std::filesystem::path(LATCHKEY_VECTORS_DIR) / (name); \
    std::ifstream in(path);                                                                  \
    if (!in) {                                                                               \
      if (running_in_ci()) FAIL() << "Wycheproof vectors missing under CI: " << path;        \
      GTEST_SKIP() << "Wycheproof vectors not found at " << path                             \
                   << " (shared/vectors/wycheproof beside the checkout); skipping";          \
    }                                                                                        \
    std::stringstream text;                                                                  \
    text << in.rdbuf();                                                                      \
    var = Json::parse(text.str());                                                           \
  }

struct Tally {
  int valid_accepted = 0;
  int valid_unsupported_refused = 0;
  int invalid_refused = 0;
  int acceptable_accepted = 0;
  int acceptable_refused = 0;
  void print(const std::string& what) const {
    std::cout << "[ wycheproof ] " << what << ": valid accepted " << valid_accepted
              << ", valid but unsupported algorithm refused " << valid_unsupported_refused
              << ", invalid refused " << invalid_refused << ", acceptable accepted "
              << acceptable_accepted << ", acceptable refused " << acceptable_refused << "\n";
  }
};

// The "alg" a compact JWS header names, if the header decodes at all.
std::string header_alg(const std::string& jws) {
  auto dot = jws.find('.');
  if (dot == std::string::npos) return {};
  auto bytes = base64url_decode(std::string_view(jws).substr(0, dot));
  if (!bytes) return {};
  Json h = Json::parse(latchkey::to_string(*bytes), nullptr, false);
  if (!h.is_object() || !h.contains("alg") || !h["alg"].is_string()) return {};
  return h["alg"].get<std::string>();
}

KeySet key_set_of(const Json& group) {
  if (!group.contains("public")) return {};  // symmetric-key groups: nothing we could use
  const Json& pub = group["public"];
  Json doc = pub.contains("keys") ? pub : Json{{"keys", {pub}}};
  auto set = parse_jwks(doc.dump());
  return set ? *set : KeySet{};
}

void run_jws_file(const Json& file, Tally* tally) {
  VerifyOptions options;
  options.typ = std::nullopt;
  for (const auto& group : file["testGroups"]) {
    const KeySet keys = key_set_of(group);
    for (const auto& t : group["tests"]) {
      const std::string jws = t["jws"].get<std::string>();
      const std::string result = t["result"].get<std::string>();
      const VerifyStatus status = verify_jws(jws, keys, options);
      const bool accepted = status == VerifyStatus::kOk;
      const bool supported = parse_alg(header_alg(jws)).has_value();
      const std::string where = "tcId " + std::to_string(t["tcId"].get<int>()) + " (" +
                                group["comment"].get<std::string>() + ": " +
                                t["comment"].get<std::string>() + ") -> " +
                                std::string(to_string(status));
      if (result == "valid" && supported) {
        EXPECT_TRUE(accepted) << where;
        ++tally->valid_accepted;
      } else if (result == "valid") {
        EXPECT_FALSE(accepted) << where;
        ++tally->valid_unsupported_refused;
      } else if (result == "invalid") {
        EXPECT_FALSE(accepted) << where;
        ++tally->invalid_refused;
      } else {
        ++(accepted ? tally->acceptable_accepted : tally->acceptable_refused);
      }
    }
  }
}

TEST(Wycheproof, JsonWebSignature) {
  LOAD_VECTORS_OR_SKIP(file, "json_web_signature_test.json");
  Tally tally;
  run_jws_file(file, &tally);
  tally.print("json_web_signature");
  EXPECT_GT(tally.valid_accepted, 0);
  EXPECT_GT(tally.valid_unsupported_refused, 0);
  EXPECT_GT(tally.invalid_refused, 0);
}

TEST(Wycheproof, JsonWebKey) {
  LOAD_VECTORS_OR_SKIP(file, "json_web_key_test.json");
  Tally tally;
  run_jws_file(file, &tally);
  tally.print("json_web_key");
  // The ROCA group's key is refused for its fingerprint, not merely by a failed signature.
  bool roca_seen = false;
  for (const auto& group : file["testGroups"]) {
    if (group["comment"] != "jws_rsa_roca_key") continue;
    roca_seen = true;
    KeySet keys = key_set_of(group);
    EXPECT_TRUE(keys.empty());
    ASSERT_EQ(keys.rejected().size(), 1u);
    EXPECT_NE(keys.rejected()[0].find("ROCA"), std::string::npos) << keys.rejected()[0];
  }
  EXPECT_TRUE(roca_seen);
  EXPECT_GT(tally.valid_accepted, 0);
  EXPECT_GT(tally.invalid_refused, 0);
}

// Primitive vectors: verify_signature over raw messages with the group's public key.
void run_primitive_file(const Json& file, Alg alg, const char* jwk_member, Tally* tally) {
  for (const auto& group : file["testGroups"]) {
    Json jwk;
    if (group.contains(jwk_member)) {
      jwk = group[jwk_member];
    } else if (group["publicKey"].contains("uncompressed")) {  // some ECDSA groups have no JWK
      Bytes point = *hex_decode(group["publicKey"]["uncompressed"].get<std::string>());
      if (point.size() == 65 && point[0] == 0x04) {
        jwk = {{"kty", "EC"},
               {"crv", "P-256"},
               {"x", base64url_encode(std::span(point).subspan(1, 32))},
               {"y", base64url_encode(std::span(point).subspan(33, 32))}};
      }
    }
    jwk["alg"] = std::string(to_string(alg));
    auto key = parse_jwk(jwk);
    for (const auto& t : group["tests"]) {
      const std::string result = t["result"].get<std::string>();
      const Bytes msg = *hex_decode(t["msg"].get<std::string>());
      const Bytes sig = *hex_decode(t["sig"].get<std::string>());
      const bool accepted = key && verify_signature(alg, *key, latchkey::to_string(msg), sig);
      const std::string where = "tcId " + std::to_string(t["tcId"].get<int>()) + " (" +
                                t["comment"].get<std::string>() + ")" +
                                (key ? "" : " key refused: " + key.error().message);
      if (result == "valid") {
        EXPECT_TRUE(accepted) << where;
        ++tally->valid_accepted;
      } else if (result == "invalid") {
        EXPECT_FALSE(accepted) << where;
        ++tally->invalid_refused;
      } else {
        ++(accepted ? tally->acceptable_accepted : tally->acceptable_refused);
      }
    }
  }
}

TEST(Wycheproof, Es256P1363) {
  LOAD_VECTORS_OR_SKIP(file, "ecdsa_secp256r1_sha256_p1363_test.json");
  Tally tally;
  run_primitive_file(file, Alg::kES256, "publicKeyJwk", &tally);
  tally.print("ES256 (P1363)");
  EXPECT_GT(tally.valid_accepted, 0);
  EXPECT_GT(tally.invalid_refused, 0);
}

TEST(Wycheproof, Ed25519) {
  LOAD_VECTORS_OR_SKIP(file, "ed25519_test.json");
  Tally tally;
  run_primitive_file(file, Alg::kEdDSA, "publicKeyJwk", &tally);
  tally.print("Ed25519");
  EXPECT_GT(tally.valid_accepted, 0);
  EXPECT_GT(tally.invalid_refused, 0);
}

TEST(Wycheproof, Rs256) {
  LOAD_VECTORS_OR_SKIP(file, "rsa_signature_2048_sha256_test.json");
  Tally tally;
  run_primitive_file(file, Alg::kRS256, "keyJwk", &tally);
  tally.print("RS256 (PKCS#1 v1.5, 2048)");
  EXPECT_GT(tally.valid_accepted, 0);
  EXPECT_GT(tally.invalid_refused, 0);
}

}  // namespace
}  // namespace latchkey::tokens
