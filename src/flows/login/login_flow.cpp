#include "flows/login/login_flow.hpp"

#include "common/encoding.hpp"
#include "identity/email.hpp"

namespace latchkey::flows {
namespace {

using methods::password::PasswordHasher;

std::string account_key(const std::string& email) {
  return "login:acct:" + email;
}
std::string ip_key(const std::string& ip) {
  return "login:ip:" + ip;
}

Error bad_credentials() {
  return Error::make(ErrorCode::kInvalidCredentials, "the e-mail or password is incorrect");
}

}  // namespace

Status check_password_length(std::string_view password, const char* field) {
  if (password.size() > 4 * kMaxPasswordLength || utf8_length(password) > kMaxPasswordLength) {
    return Error::on_field(ErrorCode::kInvalidField, field,
                           std::string(field) + " is too long (at most 128 characters)");
  }
  return {};
}

Result<PasswordVerifier::Outcome> PasswordVerifier::verify(std::string_view password,
                                                           std::string_view stored) {
  return hash_pool_.run([&] {
    Outcome out;
    if (stored.empty()) {
      hasher_.dummy_verify(password);
      return out;
    }
    const auto verdict = hasher_.verify(password, stored);
    out.match = verdict != PasswordHasher::Verdict::kMismatch;
    if (verdict == PasswordHasher::Verdict::kMatchNeedsRehash)
      out.upgraded_hash = hasher_.hash(password);
    return out;
  });
}

Result<std::string> PasswordVerifier::hash(std::string_view password) {
  return hash_pool_.run([&] { return hasher_.hash(password); });
}

Status PasswordVerifier::confirm(std::string_view password, std::string_view stored,
                                 const char* field) {
  if (auto st = check_password_length(password, field); !st) return st;
  auto checked = verify(password, stored);
  if (!checked) return checked.error();
  if (!checked->match || stored.empty()) {
    return Error::on_field(ErrorCode::kInvalidCredentials, field, "the password is incorrect");
  }
  return {};
}

LoginFlow::LoginFlow(identity::UserRepository& users, PasswordVerifier& verifier,
                     Throttle& account_throttle, Throttle& ip_throttle,
                     sessions::SessionService& sessions, audit::AuditSink& audit,
                     const Clock& clock, SecondFactorGate* gate)
    : users_(users),
      verifier_(verifier),
      account_throttle_(account_throttle),
      ip_throttle_(ip_throttle),
      sessions_(sessions),
      audit_(audit),
      clock_(clock),
      gate_(gate) {}

void LoginFlow::record_failure(const std::string& email, const LoginRequest& request,
                               const std::string& subject, const std::string& reason) {
  // Only wrong passwords count towards throttling; a right password on a pending or disabled
  // account is audited but not punished.
  if (reason == "bad_password" || reason == "no_user") {
    (void)account_throttle_.record_failure(account_key(email));
    (void)ip_throttle_.record_failure(ip_key(request.client.ip));
  }
  audit_.record({.type = "login",
                 .outcome = "failure",
                 .subject_id = subject,
                 .ip = request.client.ip,
                 .user_agent = request.client.user_agent,
                 .details = {{"reason", reason}, {"email_hash", sha256_hex(email).substr(0, 16)}}});
}

Result<LoginOutcome> LoginFlow::run(const LoginRequest& request) {
  auto email = identity::normalize_email(request.email);
  if (!email) return email.error();
  if (request.password.empty()) {
    return Error::on_field(ErrorCode::kInvalidField, "password", "password is required");
  }
  if (auto st = check_password_length(request.password); !st) return st.error();

  // Throttling before any hashing: a locked account or IP costs the attacker nothing to ask
  // and us nothing to answer.
  for (auto* t : {&account_throttle_, &ip_throttle_}) {
    const auto key = t == &account_throttle_ ? account_key(*email) : ip_key(request.client.ip);
    auto blocked = t->blocked_for(key);
    if (!blocked) return blocked.error();
    if (*blocked) {
      audit_.record({.type = "login.throttled",
                     .outcome = "failure",
                     .ip = request.client.ip,
                     .user_agent = request.client.user_agent,
                     .details = {{"scope", t == &account_throttle_ ? "account" : "ip"}}});
      Error err = Error::make(ErrorCode::kRateLimited, "too many failed attempts; try again later");
      err.retry_after = **blocked;
      return err;
    }
  }

  auto found = users_.find_by_email(*email);
  if (!found) return found.error();
  const std::string stored = *found ? (*found)->password_hash : std::string();
  auto checked = verifier_.verify(request.password, stored);
  if (!checked) return checked.error();
  if (!*found || !checked->match) {
    record_failure(*email, request, *found ? (*found)->id : "",
                   *found ? "bad_password" : "no_user");
    return bad_credentials();
  }
  identity::User user = **found;
  (void)account_throttle_.reset(account_key(*email));
  if (checked->upgraded_hash) {
    // Best effort: a failed upgrade must not block the login; it is retried next time.
    if (users_.set_password_hash(user.id, *checked->upgraded_hash, clock_.now())) {
      user.password_hash = *checked->upgraded_hash;
    }
  }
  if (user.state != identity::AccountState::kActive) {
    record_failure(*email, request, user.id, std::string(identity::to_string(user.state)));
    if (user.state == identity::AccountState::kPending) {
      return Error::make(ErrorCode::kAccountPending,
                         "verify your e-mail address before signing in");
    }
    return Error::make(ErrorCode::kAccountDisabled, "this account is disabled");
  }
  if (gate_ != nullptr) {
    auto challenge = gate_->challenge_if_needed(user, {"pwd"}, request.client);
    if (!challenge) return challenge.error();
    if (*challenge) {
      audit_.record({.type = "login.second_factor_required",
                     .outcome = "success",
                     .actor_id = user.id,
                     .subject_id = user.id,
                     .ip = request.client.ip,
                     .user_agent = request.client.user_agent});
      return LoginOutcome{std::nullopt, std::move(*challenge)};
    }
  }
  auto tokens = sessions_.start(user, {"pwd"}, request.client,
                                sessions::sign_in_event(user, request.client, "password"));
  if (!tokens) return tokens.error();
  return LoginOutcome{std::move(*tokens), std::nullopt};
}

}  // namespace latchkey::flows
