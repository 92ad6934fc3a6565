#include "methods/social/provider.hpp"

#include <stdexcept>

#include "common/encoding.hpp"

namespace latchkey::methods::social {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdTokenSize = 16 * 1024;
constexpr auto kJwksRefetchInterval = std::chrono::seconds(60);

Error provider_error(std::string detail) {
  return Error{ErrorCode::kSocialProviderError,
               "the provider could not be reached or answered "
               "something unusable",
               {},
               {},
               std::move(detail)};
}

Error token_invalid(std::string detail) {
  return Error{ErrorCode::kSocialTokenInvalid,
               "the provider's identity token was refused",
               {},
               {},
               std::move(detail)};
}

// A JSON member as a string: strings as they are, integers in decimal (GitHub and Kakao ids are
// numbers). Anything else reads as empty.
std::string id_string(const json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  return {};
}

std::string text(const json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool truthy(const json& object, const char* name) {
  if (!object.is_object()) return false;
  auto it = object.find(name);
  if (it == object.end()) return false;
  // Some providers (older Google, AWS Cognito) send the string "true".
  return (it->is_boolean() && it->get<bool>()) ||
         (it->is_string() && it->get<std::string>() == "true");
}

const json& member(const json& object, const char* name) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

std::optional<json> parse_object(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

struct KindDefaults {
  std::string_view name;
  std::string_view issuer;
  std::string_view authorize, token, userinfo;
  std::vector<std::string> scopes;
};

KindDefaults defaults_of(Kind kind) {
  switch (kind) {
    case Kind::kGoogle:
      return {"Google", "https://accounts.google.com", "", "", "", {"openid", "email", "profile"}};
    case Kind::kGithub:
      return {"GitHub",
              "",
              "https://github.com/login/oauth/authorize",
              "https://github.com/login/oauth/access_token",
              "https://api.github.com/user",
              {"read:user", "user:email"}};
    case Kind::kKakao:
      return {"Kakao",
              "",
              "https://kauth.kakao.com/oauth/authorize",
              "https://kauth.kakao.com/oauth/token",
              "https://kapi.kakao.com/v2/user/me",
              {"account_email", "profile_nickname"}};
    case Kind::kNaver:
      return {"Naver",
              "",
              "https://nid.naver.com/oauth2.0/authorize",
              "https://nid.naver.com/oauth2.0/token",
              "https://openapi.naver.com/v1/nid/me",
              {}};
    case Kind::kOidc:
      return {"", "", "", "", "", {"openid", "email", "profile"}};
  }
  return {};
}

bool is_https(const std::string& url) {
  return url.rfind("https://", 0) == 0;
}

std::string join(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out.push_back(sep);
    out += s;
  }
  return out;
}

}  // namespace

std::optional<Kind> parse_kind(std::string_view name) noexcept {
  if (name == "google") return Kind::kGoogle;
  if (name == "github") return Kind::kGithub;
  if (name == "kakao") return Kind::kKakao;
  if (name == "naver") return Kind::kNaver;
  if (name == "oidc") return Kind::kOidc;
  return std::nullopt;
}

std::string_view to_string(Kind kind) noexcept {
  switch (kind) {
    case Kind::kGoogle:
      return "google";
    case Kind::kGithub:
      return "github";
    case Kind::kKakao:
      return "kakao";
    case Kind::kNaver:
      return "naver";
    case Kind::kOidc:
      return "oidc";
  }
  return "oidc";
}

// --- Profile mapping -----------------------------------------------------------------------------

Result<Profile> map_github(const json& user, const json& emails) {
  Profile p;
  p.subject = id_string(user, "id");
  if (p.subject.empty()) return provider_error("github: /user has no id");
  p.name = text(user, "name");
  if (p.name.empty()) p.name = text(user, "login");
  if (emails.is_array()) {
    // The primary address when it is verified, else none: an unverified or secondary address
    // must never be used to find an account.
    for (const auto& e : emails) {
      if (truthy(e, "primary") && truthy(e, "verified") && !text(e, "email").empty()) {
        p.email = text(e, "email");
        p.email_verified = true;
        break;
      }
    }
    if (p.email.empty()) {
      for (const auto& e : emails) {
        if (truthy(e, "primary") && !text(e, "email").empty()) p.email = text(e, "email");
      }
    }
  }
  if (p.email.empty()) p.email = text(user, "email");  // public address, unverified here
  return p;
}

Result<Profile> map_kakao(const json& me) {
  Profile p;
  p.subject = id_string(me, "id");
  if (p.subject.empty()) return provider_error("kakao: /v2/user/me has no id");
  const json& account = member(me, "kakao_account");
  p.email = text(account, "email");
  p.email_verified =
      !p.email.empty() && truthy(account, "is_email_valid") && truthy(account, "is_email_verified");
  p.name = text(member(account, "profile"), "nickname");
  if (p.name.empty()) p.name = text(member(me, "properties"), "nickname");
  return p;
}

Result<Profile> map_naver(const json& me) {
  if (text(me, "resultcode") != "00") {
    return provider_error("naver: /v1/nid/me resultcode " + text(me, "resultcode") + " " +
                          text(me, "message"));
  }
  const json& r = member(me, "response");
  Profile p;
  p.subject = text(r, "id");
  if (p.subject.empty()) return provider_error("naver: /v1/nid/me has no response.id");
  p.email = text(r, "email");
  p.email_verified = false;  // Naver does not say
  p.name = text(r, "name");
  if (p.name.empty()) p.name = text(r, "nickname");
  return p;
}

Result<Profile> map_oidc(const json& id_claims, const json* userinfo) {
  Profile p;
  p.subject = text(id_claims, "sub");
  if (p.subject.empty()) return token_invalid("id_token has no sub");
  p.email = text(id_claims, "email");
  p.email_verified = !p.email.empty() && truthy(id_claims, "email_verified");
  p.name = text(id_claims, "name");
  // UserInfo only for the same subject (Core 1.0 section 5.3.2: a different sub must not be
  // used); the address and its verified flag are taken together, never mixed.
  if (userinfo != nullptr && text(*userinfo, "sub") == p.subject) {
    if (p.email.empty() && !text(*userinfo, "email").empty()) {
      p.email = text(*userinfo, "email");
      p.email_verified = truthy(*userinfo, "email_verified");
    }
    if (p.name.empty()) p.name = text(*userinfo, "name");
  }
  return p;
}

// --- id_token ------------------------------------------------------------------------------------

IdTokenResult validate_id_token(std::string_view id_token, const tokens::KeySet& keys,
                                const IdTokenRules& rules) {
  IdTokenResult out;
  tokens::VerifyOptions options;
  options.issuer = rules.issuer;
  options.audience = rules.client_id;
  options.typ = std::nullopt;  // id_tokens carry "JWT" or nothing
  options.now = rules.now;
  options.leeway = rules.leeway;
  options.max_token_size = kMaxIdTokenSize;
  options.required_claims = {"sub", "iat"};
  tokens::Claims claims;
  const auto status = tokens::verify_jwt(id_token, keys, options, &claims);
  if (status != tokens::VerifyStatus::kOk) {
    out.failure = std::string(tokens::to_string(status));
    out.kid_unknown = status == tokens::VerifyStatus::kKidUnknown;
    return out;
  }
  const json& payload = claims.json();
  // azp: required to be us when the token names several audiences, and us whenever present.
  const json& aud = member(payload, "aud");
  const bool several = aud.is_array() && aud.size() > 1;
  const auto azp = payload.find("azp");
  if ((several && azp == payload.end()) ||
      (azp != payload.end() && (!azp->is_string() || azp->get<std::string>() != rules.client_id))) {
    out.failure = "azp_mismatch";
    return out;
  }
  // The nonce ties the token to the browser's login attempt (replay of a stolen id_token).
  const std::string nonce = text(payload, "nonce");
  if (rules.nonce.empty() || nonce.empty() || !constant_time_equal(nonce, rules.nonce)) {
    out.failure = "nonce_mismatch";
    return out;
  }
  out.claims = std::move(claims);
  return out;
}

Result<tokens::KeySet> parse_provider_jwks(std::string_view jwks_text) {
  auto doc = parse_object(jwks_text);
  if (!doc || !doc->contains("keys") || !(*doc)["keys"].is_array()) {
    return Error::make(ErrorCode::kInvalidField, "JWKS is not a JSON object with a keys array");
  }
  json keys = json::array();
  for (auto key : (*doc)["keys"]) {
    if (!key.is_object()) continue;
    if (key.contains("use") && key["use"] != "sig") continue;  // encryption keys
    if (!key.contains("alg")) {
      const std::string kty = text(key, "kty");
      const std::string crv = text(key, "crv");
      if (kty == "RSA") {
        key["alg"] = "RS256";
      } else if (kty == "EC" && crv == "P-256") {
        key["alg"] = "ES256";
      } else if (kty == "OKP" && crv == "Ed25519") {
        key["alg"] = "EdDSA";
      } else {
        continue;
      }
    }
    keys.push_back(std::move(key));
  }
  return tokens::parse_jwks(json{{"keys", keys}}.dump());
}

// --- Provider ------------------------------------------------------------------------------------

Provider::Provider(ProviderSettings settings, HttpClient& http, const Clock& clock)
    : settings_(std::move(settings)), kind_(Kind::kOidc), http_(http), clock_(clock) {
  auto kind = parse_kind(settings_.kind);
  if (!kind) throw std::invalid_argument("social." + settings_.id + ".kind: unknown kind");
  kind_ = *kind;
  const KindDefaults d = defaults_of(kind_);
  if (settings_.name.empty()) settings_.name = d.name.empty() ? settings_.id : std::string(d.name);
  if (settings_.issuer.empty()) settings_.issuer = std::string(d.issuer);
  if (settings_.scopes.empty()) settings_.scopes = d.scopes;
  openid_ = kind_ == Kind::kGoogle || kind_ == Kind::kOidc ||
            (kind_ == Kind::kKakao && !settings_.issuer.empty());
  if (!openid_) {
    // OAuth 2.0 kinds: fixed endpoints, no discovery.
    Endpoints ep;
    ep.authorize =
        settings_.authorize_url.empty() ? std::string(d.authorize) : settings_.authorize_url;
    ep.token = settings_.token_url.empty() ? std::string(d.token) : settings_.token_url;
    ep.userinfo = settings_.userinfo_url.empty() ? std::string(d.userinfo) : settings_.userinfo_url;
    endpoints_ = ep;
  }
}

Result<Provider::Endpoints> Provider::endpoints() {
  {
    std::lock_guard lock(mutex_);
    if (endpoints_) return *endpoints_;
  }
  // OpenID Connect Discovery 1.0: the issuer's configuration document, whose "issuer" must be
  // exactly the configured issuer (section 4.3).
  std::string base = settings_.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto doc = get_json(base + "/.well-known/openid-configuration", "", "discovery");
  if (!doc) return doc.error();
  const json& d = *doc;
  if (text(d, "issuer") != settings_.issuer) {
    return provider_error(settings_.id + ": discovery issuer '" + text(d, "issuer") +
                          "' is not the configured issuer");
  }
  Endpoints ep;
  ep.authorize =
      settings_.authorize_url.empty() ? text(d, "authorization_endpoint") : settings_.authorize_url;
  ep.token = settings_.token_url.empty() ? text(d, "token_endpoint") : settings_.token_url;
  ep.userinfo =
      settings_.userinfo_url.empty() ? text(d, "userinfo_endpoint") : settings_.userinfo_url;
  ep.jwks = text(d, "jwks_uri");
  if (!is_https(ep.authorize) || !is_https(ep.token) || !is_https(ep.jwks) ||
      (!ep.userinfo.empty() && !is_https(ep.userinfo))) {
    return provider_error(settings_.id + ": discovery lacks https endpoints");
  }
  const json& methods = member(d, "token_endpoint_auth_methods_supported");
  if (methods.is_array()) {
    bool post = false, basic = false;
    for (const auto& m : methods) {
      post = post || m == "client_secret_post";
      basic = basic || m == "client_secret_basic";
    }
    ep.basic_auth = basic && !post;
  } else {
    ep.basic_auth = true;  // the default of OpenID Connect Discovery
  }
  std::lock_guard lock(mutex_);
  endpoints_ = ep;
  return ep;
}

Result<std::string> Provider::authorize_url(const AuthorizeRequest& request) {
  auto ep = endpoints();
  if (!ep) return ep.error();
  std::vector<std::pair<std::string, std::string>> params = {
      {"response_type", "code"},
      {"client_id", settings_.client_id},
      {"redirect_uri", request.redirect_uri},
      {"state", request.state},
      {"code_challenge", request.code_challenge},
      {"code_challenge_method", "S256"},
  };
  if (!settings_.scopes.empty()) {
    // Kakao separates scopes with commas; everyone else with spaces (RFC 6749 section 3.3).
    params.emplace_back("scope",
                        join(settings_.scopes, kind_ == Kind::kKakao && !openid_ ? ',' : ' '));
  }
  if (openid_) params.emplace_back("nonce", request.nonce);
  const char sep = ep->authorize.find('?') == std::string::npos ? '?' : '&';
  return ep->authorize + sep + form_encode(params);
}

Result<nlohmann::json> Provider::get_json(const std::string& url, const std::string& access_token,
                                          std::string_view what) {
  std::vector<std::string> headers = {"Accept: application/json"};
  if (!access_token.empty()) headers.push_back("Authorization: Bearer " + access_token);
  auto reply = http_.get(url, headers);
  const std::string who = settings_.id + " " + std::string(what);
  if (!reply) return provider_error(who + ": " + reply.error().log_detail);
  if (reply->status != 200) return provider_error(who + ": HTTP " + std::to_string(reply->status));
  // GitHub's /user/emails is an array; everything else an object.
  json parsed = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !(parsed.is_object() || parsed.is_array())) {
    return provider_error(who + ": not JSON");
  }
  return parsed;
}

Result<std::shared_ptr<const tokens::KeySet>> Provider::jwks(const Endpoints& ep, bool refetch) {
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now();
    if (keys_ && !refetch) return keys_;
    // A token with an unknown kid may follow a key rotation; refetching is rate-limited so that
    // forged kids cannot make us hammer the provider.
    if (keys_ && keys_fetched_ && now - *keys_fetched_ < kJwksRefetchInterval) return keys_;
    keys_fetched_ = now;
  }
  auto doc = http_.get(ep.jwks, {"Accept: application/json"});
  if (!doc) return provider_error(settings_.id + " jwks: " + doc.error().log_detail);
  if (doc->status != 200) {
    return provider_error(settings_.id + " jwks: HTTP " + std::to_string(doc->status));
  }
  auto keys = parse_provider_jwks(doc->body);
  if (!keys) return provider_error(settings_.id + " jwks: " + keys.error().message);
  auto shared = std::make_shared<const tokens::KeySet>(std::move(*keys));
  std::lock_guard lock(mutex_);
  keys_ = shared;
  return shared;
}

Result<tokens::Claims> Provider::check_id_token(const std::string& id_token, const Endpoints& ep,
                                                const std::string& nonce) {
  const IdTokenRules rules{settings_.issuer, settings_.client_id, nonce, to_unix(clock_.now()), 60};
  auto keys = jwks(ep, /*refetch=*/false);
  if (!keys) return keys.error();
  auto result = validate_id_token(id_token, **keys, rules);
  if (result.kid_unknown) {
    auto fresh = jwks(ep, /*refetch=*/true);
    if (!fresh) return fresh.error();
    result = validate_id_token(id_token, **fresh, rules);
  }
  if (!result.claims) return token_invalid(settings_.id + " id_token: " + result.failure);
  return std::move(*result.claims);
}

Result<Profile> Provider::exchange(const CodeExchange& request) {
  auto ep = endpoints();
  if (!ep) return ep.error();
  std::vector<std::pair<std::string, std::string>> form = {
      {"grant_type", "authorization_code"},
      {"code", request.code},
      {"redirect_uri", request.redirect_uri},
      {"code_verifier", request.code_verifier},
  };
  std::vector<std::string> headers = {"Accept: application/json"};
  if (ep->basic_auth) {
    // RFC 6749 section 2.3.1: id and secret are form-encoded before base64.
    const std::string credentials = form_encode({{"u", settings_.client_id}}).substr(2) + ":" +
                                    form_encode({{"p", settings_.client_secret}}).substr(2);
    headers.push_back("Authorization: Basic " + base64_encode(as_bytes(credentials)));
  } else {
    form.emplace_back("client_id", settings_.client_id);
    form.emplace_back("client_secret", settings_.client_secret);
  }
  if (kind_ == Kind::kNaver) form.emplace_back("state", request.state);
  auto reply = http_.post_form(ep->token, headers, form_encode(form));
  if (!reply) return provider_error(settings_.id + " token: " + reply.error().log_detail);
  auto body = parse_object(reply->body);
  // GitHub answers errors with 200 and an "error" member; others with 400/401.
  if (!body || body->contains("error") || reply->status != 200) {
    std::string detail = body ? text(*body, "error") : std::string("not a JSON object");
    return provider_error(settings_.id + " token: HTTP " + std::to_string(reply->status) + " " +
                          detail);
  }
  const std::string access_token = text(*body, "access_token");
  if (openid_) {
    const std::string id_token = text(*body, "id_token");
    if (id_token.empty()) return provider_error(settings_.id + " token: no id_token");
    auto claims = check_id_token(id_token, *ep, request.nonce);
    if (!claims) return claims.error();
    std::optional<json> userinfo;
    if (!ep->userinfo.empty() && !access_token.empty()) {
      auto info = get_json(ep->userinfo, access_token, "userinfo");
      if (!info) return info.error();
      userinfo = std::move(*info);
    }
    return map_oidc(claims->json(), userinfo ? &*userinfo : nullptr);
  }
  if (access_token.empty()) return provider_error(settings_.id + " token: no access_token");
  auto me = get_json(ep->userinfo, access_token, "user");
  if (!me) return me.error();
  switch (kind_) {
    case Kind::kGithub: {
      auto emails = get_json(ep->userinfo + "/emails", access_token, "emails");
      if (!emails) return emails.error();
      return map_github(*me, *emails);
    }
    case Kind::kKakao:
      return map_kakao(*me);
    case Kind::kNaver:
      return map_naver(*me);
    default:
      return provider_error(settings_.id + ": no profile mapping");
  }
}

}  // namespace latchkey::methods::social
