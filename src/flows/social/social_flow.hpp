#pragma once
// Social ("SNS") login and account linking (issue 5).
//
//   start     -> a state record in the KV store (single use, 10 min) bound to the browser by a
//                random value whose hash is in the record and whose value goes into an HttpOnly
//                cookie; PKCE S256 verifier and (OpenID Connect) nonce; the provider's URL.
//   callback  -> consume the state (once), check the browser binding, exchange the code, validate
//                (id_token or user API), resolve (provider, subject) -> user, sign in (amr fed).
//
// Account rules (pre-account takeover): an identity is linked to an existing account
// automatically only when the provider says the address is verified AND the local account's
// address is verified. Otherwise no second account is made for the address: the answer is
// kSocialLinkRequired (log in with an existing method, then link from settings). A new account
// gets the provider's address only when the provider verified it; else (or without an address)
// a placeholder under the reserved .invalid domain, which is never mailed.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "flows/login/second_factor.hpp"
#include "identity/identity_repository.hpp"
#include "identity/user_repository.hpp"
#include "kv/key_value.hpp"
#include "methods/social/provider.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct SocialOptions {
  std::string public_url;                      // redirect_uri base and the default return_to
  std::vector<std::string> allowed_return_to;  // empty: public_url + "/" only
  bool signup_enabled = true;
  bool phone_login_enabled = false;  // a verified phone counts as a way to log in
  std::chrono::seconds state_ttl{600};
  // Each start stores a state record: starts per client IP and hour are capped (0 = no cap), so
  // that one client cannot fill the KV store.
  int start_ip_hourly_cap = 300;
};

struct SocialProviderInfo {
  std::string id, kind, name;
};

struct SocialStart {
  std::string redirect_url;  // the provider's authorization URL
  std::string binding;       // the browser-binding secret: the HttpOnly cookie's value
};

struct SocialCallback {
  std::map<std::string, std::string> query;  // state, code, error from the provider's redirect
  std::optional<std::string> binding;        // the cookie, if the browser sent it
  sessions::ClientInfo client;
};

// How a callback ends. `link` says which page failures go back to (profile for link mode).
struct SocialOutcome {
  bool link = false;
  std::string return_to;
  std::optional<Error> error;
  std::optional<sessions::Tokens> tokens;  // sign-in success
  std::optional<MfaChallenge> challenge;   // sign-in needs a second factor first
};

struct IdentityView {
  identity::LinkedIdentity identity;
  std::string provider_name;
};

class SocialFlow {
 public:
  // `providers` must outlive the flow.
  SocialFlow(std::vector<methods::social::Provider*> providers,
             identity::IdentityRepository& identities, identity::UserRepository& users,
             UnitOfWork& uow, kv::KeyValue& kv, sessions::SessionService& sessions,
             SecondFactorGate* gate, audit::AuditSink& audit, const Clock& clock, Random& random,
             SocialOptions options);

  std::vector<SocialProviderInfo> providers() const;

  // kNotFound (unknown provider), kInvalidReturnTo, kRateLimited (start_ip_hourly_cap),
  // kSocialProviderError (discovery failed). `link_user_id` set: link mode, for that (signed-in)
  // user.
  Result<SocialStart> start(const std::string& provider_id, const std::string& return_to,
                            const std::string& client_ip, const std::string& link_user_id = {});

  SocialOutcome callback(const std::string& provider_id, const SocialCallback& callback);

  Result<std::vector<IdentityView>> list(const std::string& user_id);
  // kNotFound for an id that is not the user's; kLastLoginMethod when nothing else would be left.
  Status unlink(const std::string& user_id, const std::string& identity_id,
                const sessions::ClientInfo& client);

  bool has_provider(const std::string& id) const { return find(id) != nullptr; }

 private:
  methods::social::Provider* find(const std::string& id) const;
  std::string redirect_uri(const std::string& provider_id) const;
  Result<identity::User> resolve(const methods::social::Provider& provider,
                                 const methods::social::Profile& profile,
                                 const sessions::ClientInfo& client);
  Status link(const std::string& user_id, const methods::social::Provider& provider,
              const methods::social::Profile& profile, const sessions::ClientInfo& client);

  std::vector<methods::social::Provider*> providers_;
  identity::IdentityRepository& identities_;
  identity::UserRepository& users_;
  UnitOfWork& uow_;
  kv::KeyValue& kv_;
  sessions::SessionService& sessions_;
  SecondFactorGate* gate_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  SocialOptions options_;
};

}  // namespace latchkey::flows
