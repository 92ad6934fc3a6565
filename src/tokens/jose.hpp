#pragma once
// Pure JOSE: sign and verify compact JWS / JWT with RS256, ES256 and EdDSA. No I/O; the current
// time is an argument (VerifyOptions::now). Failures are a closed enum, VerifyStatus, with one
// stable string per value (to_string).
//
//   std::string jwt = sign_compact(key, {{"typ", "at+jwt"}}, {{"sub", "u1"}, {"exp", 1700000900}});
//   Claims claims;
//   VerifyStatus s = verify_jwt(jwt, keys, {.issuer = "https://id.example", .audience = "api",
//                                           .now = unix_now}, &claims);
//   if (s != VerifyStatus::kOk) log(to_string(s));
//   bool ok = verify_signature(Alg::kES256, key.public_key(), signing_input, signature_bytes);
//
// verify_jwt checks, in this order, and stops at the first failure:
//   1. size        token longer than options.max_token_size (default 8 KiB), before any decoding
//   2. split       exactly three parts header.payload.signature, header and signature non-empty;
//                  five parts (JWE) and the JSON serialization are refused
//   3. header      base64url, a JSON object, no duplicate member names; "enc" (JWE) refused
//   4. typ         options.typ ("at+jwt"; "application/at+jwt" is the same, case-insensitive);
//                  skipped only when options.typ is nullopt
//   5. headers     jku, x5u, jwk, x5c, x5t, x5t#S256 and zip are refused (we never fetch or trust
//                  keys named by the token); any "crit" is refused (we implement no extension)
//   6. kid         present, a string, and in the KeySet
//   7. alg         present; "none" in any letter case refused; must be RS256/ES256/EdDSA and equal
//                  to the algorithm pinned to the key found by kid
//   8. signature   base64url, verify_signature with the key's algorithm
//   9. payload     base64url, a JSON object, no duplicate member names
//  10. iss         equals options.issuer (an empty options.issuer refuses every token)
//  11. aud         a string equal to options.audience, or an array of strings containing it
//                  (RFC 7519 section 4.1.3: a token may name several audiences; it is for us when
//                  we are one of them). Empty arrays, non-string members and a missing aud fail.
//  12. time        exp required; now < exp + leeway; nbf (if present) <= now + leeway;
//                  iat (if present) <= now + leeway; options.required_claims present.
// verify_jws runs steps 1-8 only (for JWS whose payload is not a JWT, e.g. test vectors).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokens/jwk.hpp"

namespace latchkey::tokens {

enum class VerifyStatus : std::uint8_t {
  kOk,
  kTooLarge,          // longer than max_token_size
  kMalformed,         // not three non-empty dot-separated parts (or JSON serialization)
  kJwe,               // five parts or an "enc" header: encrypted tokens are not accepted
  kBadBase64,         // a part is not canonical unpadded base64url
  kHeaderNotJson,     // header is not a JSON object (or nested too deep)
  kPayloadNotJson,    // payload is not a JSON object (or nested too deep)
  kDuplicateJsonKey,  // a JSON object repeats a member name
  kTypMismatch,       // typ missing or not the expected media type
  kForbiddenHeader,   // jku, x5u, jwk, x5c, x5t, x5t#S256 or zip present
  kCritUnsupported,   // crit present: we implement no critical extension
  kKidMissing,        // no kid (or not a string)
  kKidUnknown,        // kid not in the key set
  kAlgNone,           // alg "none" in any letter case
  kAlgUnsupported,    // alg missing, not a string, or not RS256/ES256/EdDSA
  kAlgKeyMismatch,    // alg differs from the algorithm pinned to the key
  kSignatureInvalid,  // signature does not verify
  kIssuerMismatch,    // iss missing, not a string, or not ours
  kAudienceMismatch,  // aud missing, malformed, or does not name us
  kExpired,           // now >= exp + leeway
  kNotYetValid,       // nbf > now + leeway
  kIssuedInFuture,    // iat > now + leeway
  kMissingClaim,      // exp or a required claim is missing
  kClaimInvalid,      // a registered claim has the wrong type (exp not a number, sub not string)
};

// Stable snake_case id per value, e.g. "alg_none", "signature_invalid", "expired".
std::string_view to_string(VerifyStatus status) noexcept;

struct VerifyOptions {
  std::string issuer{};                       // required: iss must equal it
  std::string audience{};                     // required: aud must name it
  std::optional<std::string> typ = "at+jwt";  // nullopt: typ not checked
  std::int64_t now = 0;                       // unix seconds
  std::int64_t leeway = 30;                   // seconds of clock skew allowed on exp/nbf/iat
  std::size_t max_token_size = 8 * 1024;
  std::vector<std::string> required_claims = {"sub", "iat", "jti"};  // besides iss, aud, exp
};

// The verified payload plus typed accessors. Absent or mistyped claims read as empty / nullopt.
class Claims {
 public:
  Claims() = default;
  explicit Claims(nlohmann::json payload) : json_(std::move(payload)) {}
  const nlohmann::json& json() const noexcept { return json_; }

  std::string_view sub() const noexcept { return str("sub"); }
  std::string_view sid() const noexcept { return str("sid"); }
  std::string_view jti() const noexcept { return str("jti"); }
  std::string_view iss() const noexcept { return str("iss"); }
  std::string_view email() const noexcept { return str("email"); }
  std::int64_t exp() const noexcept { return integer("exp").value_or(0); }
  std::int64_t iat() const noexcept { return integer("iat").value_or(0); }
  std::optional<std::int64_t> auth_time() const noexcept { return integer("auth_time"); }
  bool email_verified() const noexcept;
  std::vector<std::string> roles() const { return strings("roles"); }
  std::vector<std::string> amr() const { return strings("amr"); }
  bool has_role(std::string_view role) const noexcept;

 private:
  std::string_view str(const char* name) const noexcept;
  std::optional<std::int64_t> integer(const char* name) const noexcept;
  std::vector<std::string> strings(const char* name) const;
  nlohmann::json json_ = nlohmann::json::object();
};

// Raw JOSE signature over signing_input (ES256: 64-byte r||s; EdDSA: 64 bytes; RS256: PKCS#1 v1.5).
Bytes sign_bytes(const SigningKey& key, std::string_view signing_input);

// header {"alg": key.alg(), "kid": key.kid(), ...extra_header} . payload . signature.
// extra_header may not set alg or kid (std::invalid_argument: a programming error).
std::string sign_compact(const SigningKey& key, const nlohmann::json& extra_header,
                         const nlohmann::json& payload);

// True when signature is a valid alg signature of signing_input under key. False when alg is not
// the key's pinned algorithm, for a wrong length, and for ES256 when r or s is 0 or >= n
// ("psychic signatures", CVE-2022-21449), before any curve arithmetic.
bool verify_signature(Alg alg, const PublicKey& key, std::string_view signing_input,
                      std::span<const std::uint8_t> signature) noexcept;

// Steps 1-8 above. On kOk, *payload (if given) receives the decoded payload bytes and *header
// (if given) the header; both are left empty on failure.
VerifyStatus verify_jws(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                        std::string* payload = nullptr, nlohmann::json* header = nullptr);

// Steps 1-12 above. On kOk, *out (if given) holds the claims; on failure it is reset to empty.
VerifyStatus verify_jwt(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                        Claims* out);

}  // namespace latchkey::tokens
