#include "tokens/jose.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "tokens/strict_json.hpp"

namespace latchkey::tokens {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kEs256FieldBytes = 32;
constexpr std::size_t kEs256SignatureBytes = 64;
constexpr std::size_t kEd25519SignatureBytes = 64;

// The order n of the P-256 base point (FIPS 186-4 D.1.2.3).
constexpr std::array<std::uint8_t, kEs256FieldBytes> kP256Order = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

const EVP_MD* digest_for(Alg alg) {
  return alg == Alg::kEdDSA ? nullptr : EVP_sha256();
}

// A big-endian value v, 32 bytes: 0 < v < n?
bool in_scalar_range(std::span<const std::uint8_t> v) {
  bool zero = std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; });
  if (zero) return false;
  return std::lexicographical_compare(v.begin(), v.end(), kP256Order.begin(), kP256Order.end());
}

// JOSE r||s -> DER ECDSA-Sig-Value, refusing out-of-range scalars.
std::optional<Bytes> p1363_to_der(std::span<const std::uint8_t> sig) {
  if (sig.size() != kEs256SignatureBytes) return std::nullopt;
  auto r_bytes = sig.first(kEs256FieldBytes);
  auto s_bytes = sig.last(kEs256FieldBytes);
  // Invariant: r and s are in [1, n-1] before they reach any curve arithmetic.
  if (!in_scalar_range(r_bytes) || !in_scalar_range(s_bytes)) return std::nullopt;
  BnPtr r(BN_bin2bn(r_bytes.data(), kEs256FieldBytes, nullptr));
  BnPtr s(BN_bin2bn(s_bytes.data(), kEs256FieldBytes, nullptr));
  std::unique_ptr<ECDSA_SIG, SigFree> ecdsa(ECDSA_SIG_new());
  if (!r || !s || !ecdsa || ECDSA_SIG_set0(ecdsa.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by ecdsa now
  s.release();
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(ecdsa.get(), &der);
  if (len <= 0 || der == nullptr) return std::nullopt;
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// DER ECDSA-Sig-Value -> JOSE r||s (32 bytes each).
Bytes der_to_p1363(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> ecdsa(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!ecdsa) throw std::runtime_error("ECDSA signature unreadable");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(ecdsa.get(), &r, &s);
  Bytes out(kEs256SignatureBytes);
  if (BN_bn2binpad(r, out.data(), kEs256FieldBytes) != kEs256FieldBytes ||
      BN_bn2binpad(s, out.data() + kEs256FieldBytes, kEs256FieldBytes) != kEs256FieldBytes) {
    throw std::runtime_error("ECDSA signature too long");
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 7515 section 4.1.9: "application/" may be omitted; media types compare case-insensitively.
bool typ_matches(std::string_view got, std::string_view want) {
  constexpr std::string_view kPrefix = "application/";
  auto strip = [&](std::string_view v) {
    if (v.size() > kPrefix.size() && iequals(v.substr(0, kPrefix.size()), kPrefix)) {
      v.remove_prefix(kPrefix.size());
    }
    return v;
  };
  return iequals(strip(got), strip(want));
}

VerifyStatus map_parse(detail::JsonParse r, VerifyStatus not_json) {
  switch (r) {
    case detail::JsonParse::kOk:
      return VerifyStatus::kOk;
    case detail::JsonParse::kDuplicateKey:
      return VerifyStatus::kDuplicateJsonKey;
    default:
      return not_json;
  }
}

// NumericDate: a JSON number (integer, or finite non-integer truncated), in int64 range.
std::optional<std::int64_t> numeric_date(const Json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return v.get<std::int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(std::floor(d));
  }
  return std::nullopt;
}

// Saturating a + b for the time comparisons (claims are attacker-chosen up to int64 range).
std::int64_t add_sat(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return r;
}

struct Jws {
  std::string_view header_b64, payload_b64, signature_b64;
  Json header;
};

VerifyStatus check_jws(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                       Jws* jws) {
  // 1. size, before anything else looks at the bytes.
  if (token.size() > options.max_token_size) return VerifyStatus::kTooLarge;
  // 2. split.
  if (token.empty() || token.front() == '{') return VerifyStatus::kMalformed;
  const auto dots = std::count(token.begin(), token.end(), '.');
  if (dots == 4) return VerifyStatus::kJwe;
  if (dots != 2) return VerifyStatus::kMalformed;
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  jws->header_b64 = token.substr(0, first);
  jws->payload_b64 = token.substr(first + 1, second - first - 1);
  jws->signature_b64 = token.substr(second + 1);
  // An empty payload is a valid JWS (RFC 7515); it is refused later as a JWT (not an object).
  if (jws->header_b64.empty() || jws->signature_b64.empty()) return VerifyStatus::kMalformed;
  // 3. header.
  auto header_bytes = base64url_decode(jws->header_b64);
  if (!header_bytes) return VerifyStatus::kBadBase64;
  if (auto s =
          map_parse(detail::parse_json_object(latchkey::to_string(*header_bytes), &jws->header),
                    VerifyStatus::kHeaderNotJson);
      s != VerifyStatus::kOk) {
    return s;
  }
  const Json& h = jws->header;
  if (h.contains("enc")) return VerifyStatus::kJwe;
  // 4. typ.
  if (options.typ) {
    auto typ = h.find("typ");
    if (typ == h.end() || !typ->is_string() ||
        !typ_matches(typ->get_ref<const std::string&>(), *options.typ)) {
      return VerifyStatus::kTypMismatch;
    }
  }
  // 5. headers that would let the token choose its own key, and critical extensions.
  for (const char* name : {"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "zip"}) {
    if (h.contains(name)) return VerifyStatus::kForbiddenHeader;
  }
  if (h.contains("crit")) return VerifyStatus::kCritUnsupported;
  // 6. kid.
  auto kid = h.find("kid");
  if (kid == h.end() || !kid->is_string()) return VerifyStatus::kKidMissing;
  const PublicKey* key = keys.find(kid->get_ref<const std::string&>());
  if (key == nullptr) return VerifyStatus::kKidUnknown;
  // 7. alg, pinned to the key.
  auto alg_it = h.find("alg");
  if (alg_it == h.end() || !alg_it->is_string()) return VerifyStatus::kAlgUnsupported;
  const auto& alg_name = alg_it->get_ref<const std::string&>();
  if (iequals(alg_name, "none")) return VerifyStatus::kAlgNone;
  auto alg = parse_alg(alg_name);
  if (!alg) return VerifyStatus::kAlgUnsupported;
  if (*alg != key->alg()) return VerifyStatus::kAlgKeyMismatch;
  // 8. signature.
  auto signature = base64url_decode(jws->signature_b64);
  if (!signature) return VerifyStatus::kBadBase64;
  const std::string_view signing_input = token.substr(0, second);
  if (!verify_signature(*alg, *key, signing_input, *signature)) {
    return VerifyStatus::kSignatureInvalid;
  }
  return VerifyStatus::kOk;
}

VerifyStatus check_claims(const Json& c, const VerifyOptions& options) {
  // 10. iss.
  auto iss = c.find("iss");
  if (iss == c.end()) return VerifyStatus::kMissingClaim;
  if (options.issuer.empty() || !iss->is_string() || *iss != options.issuer) {
    return VerifyStatus::kIssuerMismatch;
  }
  // 11. aud.
  auto aud = c.find("aud");
  if (aud == c.end()) return VerifyStatus::kMissingClaim;
  bool for_us = false;
  if (aud->is_string()) {
    for_us = *aud == options.audience;
  } else if (aud->is_array() && !aud->empty()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return VerifyStatus::kAudienceMismatch;
      if (a == options.audience) for_us = true;
    }
  }
  if (options.audience.empty() || !for_us) return VerifyStatus::kAudienceMismatch;
  // 12. time and required claims.
  auto exp_it = c.find("exp");
  if (exp_it == c.end()) return VerifyStatus::kMissingClaim;
  auto exp = numeric_date(*exp_it);
  if (!exp) return VerifyStatus::kClaimInvalid;
  if (options.now >= add_sat(*exp, options.leeway)) return VerifyStatus::kExpired;
  if (auto nbf_it = c.find("nbf"); nbf_it != c.end()) {
    auto nbf = numeric_date(*nbf_it);
    if (!nbf) return VerifyStatus::kClaimInvalid;
    if (*nbf > add_sat(options.now, options.leeway)) return VerifyStatus::kNotYetValid;
  }
  if (auto iat_it = c.find("iat"); iat_it != c.end()) {
    auto iat = numeric_date(*iat_it);
    if (!iat) return VerifyStatus::kClaimInvalid;
    if (*iat > add_sat(options.now, options.leeway)) return VerifyStatus::kIssuedInFuture;
  }
  for (const auto& name : options.required_claims) {
    if (!c.contains(name)) return VerifyStatus::kMissingClaim;
  }
  for (const char* name : {"sub", "sid", "jti"}) {
    if (auto it = c.find(name); it != c.end() && !it->is_string())
      return VerifyStatus::kClaimInvalid;
  }
  return VerifyStatus::kOk;
}

}  // namespace

std::string_view to_string(VerifyStatus status) noexcept {
  switch (status) {
    case VerifyStatus::kOk:
      return "ok";
    case VerifyStatus::kTooLarge:
      return "token_too_large";
    case VerifyStatus::kMalformed:
      return "malformed";
    case VerifyStatus::kJwe:
      return "jwe_not_supported";
    case VerifyStatus::kBadBase64:
      return "bad_base64";
    case VerifyStatus::kHeaderNotJson:
      return "header_not_json_object";
    case VerifyStatus::kPayloadNotJson:
      return "payload_not_json_object";
    case VerifyStatus::kDuplicateJsonKey:
      return "duplicate_json_key";
    case VerifyStatus::kTypMismatch:
      return "typ_mismatch";
    case VerifyStatus::kForbiddenHeader:
      return "forbidden_header";
    case VerifyStatus::kCritUnsupported:
      return "crit_unsupported";
    case VerifyStatus::kKidMissing:
      return "kid_missing";
    case VerifyStatus::kKidUnknown:
      return "kid_unknown";
    case VerifyStatus::kAlgNone:
      return "alg_none";
    case VerifyStatus::kAlgUnsupported:
      return "alg_unsupported";
    case VerifyStatus::kAlgKeyMismatch:
      return "alg_key_mismatch";
    case VerifyStatus::kSignatureInvalid:
      return "signature_invalid";
    case VerifyStatus::kIssuerMismatch:
      return "issuer_mismatch";
    case VerifyStatus::kAudienceMismatch:
      return "audience_mismatch";
    case VerifyStatus::kExpired:
      return "expired";
    case VerifyStatus::kNotYetValid:
      return "not_yet_valid";
    case VerifyStatus::kIssuedInFuture:
      return "issued_in_future";
    case VerifyStatus::kMissingClaim:
      return "missing_claim";
    case VerifyStatus::kClaimInvalid:
      return "claim_invalid";
  }
  return "unknown";
}

std::string_view Claims::str(const char* name) const noexcept {
  auto it = json_.find(name);
  if (it == json_.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

std::optional<std::int64_t> Claims::integer(const char* name) const noexcept {
  auto it = json_.find(name);
  if (it == json_.end()) return std::nullopt;
  return numeric_date(*it);
}

bool Claims::email_verified() const noexcept {
  auto it = json_.find("email_verified");
  return it != json_.end() && it->is_boolean() && it->get<bool>();
}

std::vector<std::string> Claims::strings(const char* name) const {
  std::vector<std::string> out;
  auto it = json_.find(name);
  if (it == json_.end()) return out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool Claims::has_role(std::string_view role) const noexcept {
  auto it = json_.find("roles");
  if (it == json_.end() || !it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const Json& v) {
    return v.is_string() && v.get_ref<const std::string&>() == role;
  });
}

Bytes sign_bytes(const SigningKey& key, std::string_view signing_input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, digest_for(key.alg()), nullptr, key.native()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data, signing_input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign setup failed");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data, signing_input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  sig.resize(len);
  if (key.alg() == Alg::kES256) return der_to_p1363(sig);
  return sig;
}

std::string sign_compact(const SigningKey& key, const Json& extra_header, const Json& payload) {
  Json header = {{"alg", std::string(to_string(key.alg()))}, {"kid", key.kid()}};
  if (!extra_header.is_null()) {
    if (!extra_header.is_object()) throw std::invalid_argument("extra_header must be an object");
    for (const auto& [name, value] : extra_header.items()) {
      if (name == "alg" || name == "kid") throw std::invalid_argument("extra_header sets " + name);
      header[name] = value;
    }
  }
  // Invalid UTF-8 in a claim (user-supplied text) becomes U+FFFD instead of throwing.
  constexpr auto kReplace = Json::error_handler_t::replace;
  std::string input = base64url_encode(header.dump(-1, ' ', false, kReplace)) + "." +
                      base64url_encode(payload.dump(-1, ' ', false, kReplace));
  Bytes sig = sign_bytes(key, input);
  return input + "." + base64url_encode(sig);
}

bool verify_signature(Alg alg, const PublicKey& key, std::string_view signing_input,
                      std::span<const std::uint8_t> signature) noexcept {
  if (!key.valid() || alg != key.alg()) return false;
  std::optional<Bytes> der;
  switch (alg) {
    case Alg::kES256:
      der = p1363_to_der(signature);
      if (!der) return false;
      signature = *der;
      break;
    case Alg::kEdDSA:
      if (signature.size() != kEd25519SignatureBytes) return false;
      break;
    case Alg::kRS256:
      if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.native()))) {
        return false;
      }
      break;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg), nullptr, key.native()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

VerifyStatus verify_jws(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                        std::string* payload, Json* header) {
  Jws jws;
  VerifyStatus status = check_jws(token, keys, options, &jws);
  std::optional<Bytes> body;
  if (status == VerifyStatus::kOk) {
    body = base64url_decode(jws.payload_b64);
    if (!body) status = VerifyStatus::kBadBase64;
  }
  // Single exit: outputs are written only on success.
  if (payload) *payload = status == VerifyStatus::kOk ? latchkey::to_string(*body) : std::string();
  if (header) *header = status == VerifyStatus::kOk ? std::move(jws.header) : Json();
  return status;
}

VerifyStatus verify_jwt(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                        Claims* out) {
  std::string payload_text;
  Json payload;
  VerifyStatus status = verify_jws(token, keys, options, &payload_text, nullptr);
  if (status == VerifyStatus::kOk) {
    status =
        map_parse(detail::parse_json_object(payload_text, &payload), VerifyStatus::kPayloadNotJson);
  }
  if (status == VerifyStatus::kOk) status = check_claims(payload, options);
  // done(status): the one place a verdict leaves this function. Claims only on kOk.
  if (out) *out = status == VerifyStatus::kOk ? Claims(std::move(payload)) : Claims();
  return status;
}

}  // namespace latchkey::tokens
