// JWS/JWT parsing and verification (tokens/jose), two ways, chosen by the first byte:
//  - raw: the bytes are the compact token (forged, truncated, polyglot, oversized...);
//  - signed: the bytes are "header JSON \0 payload JSON", signed with one of our keys, so the
//    fuzzer reaches every check behind the signature (typ, crit, jku, alg pinning, claims).
// For signed inputs a verified token must really be what the verifier promises: our alg and
// kid, no forbidden or critical header, our issuer and audience, a live expiry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "invariant.hpp"
#include "tokens/jose.hpp"
#include "tokens/jwk.hpp"

namespace tokens = latchkey::tokens;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

struct Keys {
  tokens::SigningKey keys[3] = {tokens::generate_signing_key(tokens::Alg::kRS256, "rs"),
                                tokens::generate_signing_key(tokens::Alg::kES256, "es"),
                                tokens::generate_signing_key(tokens::Alg::kEdDSA, "ed")};
  tokens::KeySet set;
  Keys() {
    for (const auto& k : keys) set.add(k.public_key());
  }
};

const Keys& keys() {
  static const Keys k;
  return k;
}

tokens::VerifyOptions options() {
  tokens::VerifyOptions o;
  o.issuer = "https://auth.example";
  o.audience = "api";
  o.now = kNow;
  return o;
}

void check(bool ok, const char* what) {
  if (!ok) latchkey::fuzz::fail("verified token", what);
}

bool names_audience(const nlohmann::json& aud, std::string_view audience) {
  if (aud.is_string()) return aud.get<std::string>() == audience;
  if (!aud.is_array()) return false;
  for (const auto& a : aud) {
    if (a.is_string() && a.get<std::string>() == audience) return true;
  }
  return false;
}

void check_verified(const tokens::SigningKey& key, std::string_view header_text,
                    const tokens::Claims& claims) {
  const auto header = nlohmann::json::parse(header_text, nullptr, false);
  check(header.is_object(), "header is an object");
  check(header.value("alg", "") == tokens::to_string(key.alg()), "alg is the key's alg");
  check(header.value("kid", "") == key.kid(), "kid names the key");
  for (const char* forbidden : {"jku", "x5u", "jwk", "x5c", "crit", "enc", "zip"}) {
    check(!header.contains(forbidden), forbidden);
  }
  const auto& p = claims.json();
  check(p.value("iss", "") == "https://auth.example", "issuer");
  check(p.contains("aud") && names_audience(p["aud"], "api"), "audience");
  check(p.contains("exp") && p["exp"].is_number() && claims.exp() + 30 > kNow, "live expiry");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  keys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto opts = options();
  tokens::Claims claims;
  if (data[0] % 2 == 0) {  // raw token
    (void)tokens::verify_jws(input, keys().set, opts);
    (void)tokens::verify_jwt(input, keys().set, opts, &claims);
    return 0;
  }
  const auto split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  const auto header = input.substr(0, split);
  const auto payload = input.substr(split + 1);
  const auto& key = keys().keys[(data[0] / 2) % 3];
  const std::string signing_input =
      latchkey::base64url_encode(header) + "." + latchkey::base64url_encode(payload);
  const auto signature = tokens::sign_bytes(key, signing_input);
  const std::string token = signing_input + "." + latchkey::base64url_encode(signature);
  if (tokens::verify_jwt(token, keys().set, opts, &claims) == tokens::VerifyStatus::kOk) {
    check_verified(key, header, claims);
  }
  return 0;
}
