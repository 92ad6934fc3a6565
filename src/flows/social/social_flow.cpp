#include "flows/social/social_flow.hpp"

#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "flows/social/return_to.hpp"
#include "identity/email.hpp"

namespace latchkey::flows {
namespace {

using methods::social::Profile;
using methods::social::Provider;

constexpr std::size_t kMaxStateLength = 128;
constexpr std::string_view kStatePrefix = "social:state:";
constexpr std::string_view kUsedPrefix = "social:used:";
constexpr std::string_view kStartIpPrefix = "social:start-ip:";

Error state_invalid(std::string detail) {
  return Error{ErrorCode::kSocialStateInvalid,
               "the sign-in attempt is unknown, used or expired",
               {},
               {},
               std::move(detail)};
}

// The record a state stands for, as kept in the KV store.
struct StateRecord {
  std::string provider, verifier, nonce, return_to, binding_hash, link_user;

  std::string dump() const {
    return nlohmann::json{{"p", provider},  {"v", verifier},     {"n", nonce},
                          {"r", return_to}, {"b", binding_hash}, {"u", link_user}}
        .dump();
  }
  static std::optional<StateRecord> parse(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    StateRecord r;
    for (auto [field, name] : {std::pair{&r.provider, "p"}, std::pair{&r.verifier, "v"},
                               std::pair{&r.nonce, "n"}, std::pair{&r.return_to, "r"},
                               std::pair{&r.binding_hash, "b"}, std::pair{&r.link_user, "u"}}) {
      auto it = j.find(name);
      if (it == j.end() || !it->is_string()) return std::nullopt;
      *field = it->get<std::string>();
    }
    return r;
  }
};

// A placeholder address for accounts whose provider gave no verified address: unique per
// identity, under the reserved .invalid domain (RFC 2606), never mailed.
std::string placeholder_email(const std::string& provider, const std::string& subject) {
  return hex_encode(sha256(provider + "\n" + subject)).substr(0, 32) + "@social.invalid";
}

}  // namespace

SocialFlow::SocialFlow(std::vector<methods::social::Provider*> providers,
                       identity::IdentityRepository& identities, identity::UserRepository& users,
                       UnitOfWork& uow, kv::KeyValue& kv, sessions::SessionService& sessions,
                       SecondFactorGate* gate, audit::AuditSink& audit, const Clock& clock,
                       Random& random, SocialOptions options)
    : providers_(std::move(providers)),
      identities_(identities),
      users_(users),
      uow_(uow),
      kv_(kv),
      sessions_(sessions),
      gate_(gate),
      audit_(audit),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {
  if (options_.allowed_return_to.empty()) {
    options_.allowed_return_to = {options_.public_url + "/"};
  }
}

std::vector<SocialProviderInfo> SocialFlow::providers() const {
  std::vector<SocialProviderInfo> out;
  for (const auto* p : providers_) {
    out.push_back({p->id(), std::string(methods::social::to_string(p->kind())), p->name()});
  }
  return out;
}

Provider* SocialFlow::find(const std::string& id) const {
  for (auto* p : providers_) {
    if (p->id() == id) return p;
  }
  return nullptr;
}

std::string SocialFlow::redirect_uri(const std::string& provider_id) const {
  return options_.public_url + "/api/auth/social/" + provider_id + "/callback";
}

Result<SocialStart> SocialFlow::start(const std::string& provider_id, const std::string& return_to,
                                      const std::string& client_ip,
                                      const std::string& link_user_id) {
  Provider* provider = find(provider_id);
  if (provider == nullptr) return Error::make(ErrorCode::kNotFound, "no such provider");
  const std::string target = return_to.empty() ? options_.public_url + "/" : return_to;
  // No open redirects: only back under a configured prefix.
  if (!return_to_allowed(target, options_.allowed_return_to)) {
    return Error::on_field(ErrorCode::kInvalidReturnTo, "return_to",
                           "return_to is not an allowed address");
  }
  if (options_.start_ip_hourly_cap > 0 && !client_ip.empty()) {
    const std::string key = std::string(kStartIpPrefix) + client_ip;
    auto starts = kv_.incr(key, 1, std::chrono::hours(1));
    if (!starts) return starts.error();
    if (*starts > options_.start_ip_hourly_cap) {
      Error e = Error::make(ErrorCode::kRateLimited, "too many sign-in attempts; try again later");
      auto ttl = kv_.ttl(key);
      e.retry_after = static_cast<int>(ttl && *ttl ? **ttl : 3600);
      return e;
    }
  }
  const std::string state = random_.token(32);
  StateRecord record;
  record.provider = provider_id;
  record.verifier = random_.token(32);
  record.nonce = provider->openid() ? random_.token(24) : std::string();
  record.return_to = target;
  SocialStart out;
  out.binding = random_.token(32);
  record.binding_hash = sha256_hex(out.binding);
  record.link_user = link_user_id;
  auto url = provider->authorize_url(
      {state, record.nonce, base64url_encode(sha256(record.verifier)), redirect_uri(provider_id)});
  if (!url) return url.error();
  if (auto st =
          kv_.set(std::string(kStatePrefix) + sha256_hex(state), record.dump(), options_.state_ttl);
      !st) {
    return st.error();
  }
  out.redirect_url = std::move(*url);
  return out;
}

SocialOutcome SocialFlow::callback(const std::string& provider_id, const SocialCallback& cb) {
  SocialOutcome out;
  const auto fail = [&](Error e) {
    audit_.record({.type = out.link ? "social.link" : "login",
                   .outcome = "failure",
                   .ip = cb.client.ip,
                   .user_agent = cb.client.user_agent,
                   .details = {{"method", "social"},
                               {"provider", provider_id},
                               {"reason", std::string(code_id(e.code))},
                               {"detail", e.log_detail}}});
    out.error = std::move(e);
    return out;
  };
  Provider* provider = find(provider_id);
  if (provider == nullptr) return fail(Error::make(ErrorCode::kNotFound, "no such provider"));

  // 1. The state: known, for this provider, from this browser, and used once.
  const auto state_it = cb.query.find("state");
  if (state_it == cb.query.end() || state_it->second.empty() ||
      state_it->second.size() > kMaxStateLength) {
    return fail(state_invalid("missing state"));
  }
  const std::string hash = sha256_hex(state_it->second);
  const std::string key = std::string(kStatePrefix) + hash;
  auto stored = kv_.get(key);
  if (!stored) return fail(stored.error());
  if (!*stored) return fail(state_invalid("unknown or expired state"));
  auto record = StateRecord::parse(**stored);
  if (!record) return fail(state_invalid("unreadable state record"));
  if (record->provider != provider_id) return fail(state_invalid("state of another provider"));
  out.link = !record->link_user.empty();
  // Invariant: the callback completes only in the browser that started it (login CSRF).
  if (!cb.binding || cb.binding->empty() ||
      !constant_time_equal(sha256_hex(*cb.binding), record->binding_hash)) {
    return fail(state_invalid("state not bound to this browser"));
  }
  auto uses = kv_.incr(std::string(kUsedPrefix) + hash, 1, options_.state_ttl);
  if (!uses) return fail(uses.error());
  if (*uses != 1) return fail(state_invalid("state replayed"));
  (void)kv_.del(key);
  out.return_to = record->return_to;

  // 2. What the provider says.
  if (auto err = cb.query.find("error"); err != cb.query.end()) {
    if (err->second == "access_denied") {
      return fail(Error::make(ErrorCode::kSocialCancelled, "sign-in was cancelled"));
    }
    return fail(Error{ErrorCode::kSocialProviderError,
                      "the provider refused the sign-in",
                      {},
                      {},
                      provider_id + " authorize: " + err->second.substr(0, 64)});
  }
  const auto code = cb.query.find("code");
  if (code == cb.query.end() || code->second.empty() || code->second.size() > 2048) {
    return fail(Error{ErrorCode::kSocialProviderError,
                      "the provider sent no code",
                      {},
                      {},
                      provider_id + " authorize: no code"});
  }
  auto profile = provider->exchange(
      {code->second, record->verifier, record->nonce, redirect_uri(provider_id), state_it->second});
  if (!profile) return fail(profile.error());

  // 3. Link mode: attach to the signed-in user who started it.
  if (out.link) {
    if (auto st = link(record->link_user, *provider, *profile, cb.client); !st) {
      return fail(st.error());
    }
    return out;
  }

  // 4. Sign-in mode.
  auto user = resolve(*provider, *profile, cb.client);
  if (!user) return fail(user.error());
  if (user->state != identity::AccountState::kActive) {
    return fail(Error::make(user->state == identity::AccountState::kDisabled
                                ? ErrorCode::kAccountDisabled
                                : ErrorCode::kAccountPending,
                            "the account cannot sign in"));
  }
  const std::vector<std::string> amr = {"fed"};
  if (gate_ != nullptr) {
    auto challenge = gate_->challenge_if_needed(*user, amr, cb.client);
    if (!challenge) return fail(challenge.error());
    if (*challenge) {
      out.challenge = std::move(**challenge);
      return out;
    }
  }
  auto event = sessions::sign_in_event(*user, cb.client, "social");
  event.details["provider"] = provider_id;
  auto tokens = sessions_.start(*user, amr, cb.client, std::move(event));
  if (!tokens) return fail(tokens.error());
  out.tokens = std::move(*tokens);
  return out;
}

Result<identity::User> SocialFlow::resolve(const Provider& provider, const Profile& profile,
                                           const sessions::ClientInfo& client) {
  auto existing = identities_.find(provider.id(), profile.subject);
  if (!existing) return existing.error();
  if (*existing) {
    auto user = users_.find_by_id((*existing)->user_id);
    if (!user) return user.error();
    if (!*user) return Error::internal("identity of a missing user");
    return **user;
  }
  std::optional<std::string> verified_email;
  if (!profile.email.empty()) {
    auto normalized = identity::normalize_email(profile.email);
    if (normalized) {
      auto local = users_.find_by_email(*normalized);
      if (!local) return local.error();
      if (*local) {
        // Invariant (pre-account takeover): auto-link only when both sides proved the address.
        if (!profile.email_verified || !(*local)->email_verified) {
          return Error::make(ErrorCode::kSocialLinkRequired,
                             "an account with this address exists: log in and link it from "
                             "your settings");
        }
        if (auto st = link((*local)->id, provider, profile, client); !st) return st.error();
        return **local;
      }
      if (profile.email_verified) verified_email = *normalized;
    }
  }
  if (!options_.signup_enabled) {
    return Error::make(ErrorCode::kSocialSignupClosed, "sign-up is closed");
  }
  const auto now = clock_.now();
  identity::User user;
  user.id = new_uuid_v7(clock_, random_);
  user.email = verified_email.value_or(placeholder_email(provider.id(), profile.subject));
  user.email_verified = verified_email.has_value();
  user.name = profile.name.substr(0, 100);
  user.state = identity::AccountState::kActive;
  user.roles = {std::string(identity::kRoleUser)};
  user.created_at = user.updated_at = now;
  identity::LinkedIdentity linked{random_.token(16), user.id,       provider.id(),
                                  profile.subject,   profile.email, now};
  auto st = uow_.run([&]() -> Status {
    if (auto s = users_.create(user); !s) return s;
    return identities_.create(linked);
  });
  if (!st) {
    // A concurrent sign-up took the address, or a concurrent callback linked the identity.
    if (st.error().code == ErrorCode::kConflict) {
      return Error::make(ErrorCode::kSocialLinkRequired,
                         "an account with this address exists: log in and link it from your "
                         "settings");
    }
    return st.error();
  }
  audit_.record({.type = "signup",
                 .outcome = "success",
                 .actor_id = user.id,
                 .subject_id = user.id,
                 .ip = client.ip,
                 .user_agent = client.user_agent,
                 .details = {{"method", "social"}, {"provider", provider.id()}}});
  return user;
}

Status SocialFlow::link(const std::string& user_id, const Provider& provider,
                        const Profile& profile, const sessions::ClientInfo& client) {
  auto existing = identities_.find(provider.id(), profile.subject);
  if (!existing) return existing.error();
  const auto already = [] {
    return Error::make(ErrorCode::kIdentityAlreadyLinked,
                       "this provider account is linked to another user");
  };
  if (*existing) {
    if ((*existing)->user_id != user_id) return already();
    return {};  // linked to this user already: nothing to do
  }
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (!*user || (*user)->state == identity::AccountState::kDisabled) {
    return Error::make(ErrorCode::kAccountDisabled, "the account cannot be linked");
  }
  identity::LinkedIdentity linked{random_.token(16), user_id,       provider.id(),
                                  profile.subject,   profile.email, clock_.now()};
  if (auto st = identities_.create(linked); !st) {
    if (st.error().code == ErrorCode::kConflict) return already();  // a concurrent link won
    return st;
  }
  audit_.record({.type = "social.linked",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent,
                 .details = {{"provider", provider.id()}, {"identity_id", linked.id}}});
  return {};
}

Result<std::vector<IdentityView>> SocialFlow::list(const std::string& user_id) {
  auto rows = identities_.list_for_user(user_id);
  if (!rows) return rows.error();
  std::vector<IdentityView> out;
  for (auto& row : *rows) {
    const Provider* p = find(row.provider);
    std::string name = p != nullptr ? p->name() : row.provider;
    out.push_back({std::move(row), std::move(name)});
  }
  return out;
}

Status SocialFlow::unlink(const std::string& user_id, const std::string& identity_id,
                          const sessions::ClientInfo& client) {
  auto rows = identities_.list_for_user(user_id);
  if (!rows) return rows.error();
  const auto it =
      std::find_if(rows->begin(), rows->end(), [&](const auto& r) { return r.id == identity_id; });
  // Another user's identity reads exactly like a missing one.
  if (it == rows->end()) return Error::make(ErrorCode::kNotFound, "no such linked account");
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kNotFound, "no such linked account");
  const bool password = !(*user)->password_hash.empty();
  const bool phone = options_.phone_login_enabled && (*user)->phone_verified;
  const bool other_identity = rows->size() > 1;
  // Invariant: an account always keeps at least one way to log in.
  if (!password && !phone && !other_identity) {
    return Error::make(ErrorCode::kLastLoginMethod,
                       "this is the only way to log in to the account: set a password or link "
                       "another account first");
  }
  auto removed = identities_.remove(user_id, identity_id);
  if (!removed) return removed.error();
  if (!*removed) return Error::make(ErrorCode::kNotFound, "no such linked account");
  audit_.record({.type = "social.unlinked",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent,
                 .details = {{"provider", it->provider}, {"identity_id", identity_id}}});
  return {};
}

}  // namespace latchkey::flows
