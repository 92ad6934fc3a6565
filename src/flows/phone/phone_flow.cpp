#include "flows/phone/phone_flow.hpp"

#include "common/ids.hpp"
#include "flows/mfa/mfa_flow.hpp"
#include "flows/recovery/recovery_flow.hpp"
#include "identity/phone.hpp"

namespace latchkey::flows {

namespace {

constexpr std::string_view kVerifyPurpose = "verify_phone";
constexpr std::string_view kLoginPurpose = "sms_login";
constexpr std::chrono::seconds kPendingTtl{600};

Error rate_limited() {
  Error e = Error::make(ErrorCode::kRateLimited, "too many codes for this number; try later");
  e.retry_after = 3600;
  return e;
}

}  // namespace

PhoneFlow::PhoneFlow(identity::UserRepository& users, methods::SmsCodes& codes, SendQuota& quota,
                     kv::KeyValue& kv, PasswordVerifier& passwords, courier::Mailer& mailer,
                     sessions::SessionService& sessions, SecondFactorGate* gate,
                     audit::AuditSink& audit, const Clock& clock, Random& random,
                     PhoneOptions options)
    : users_(users),
      codes_(codes),
      quota_(quota),
      kv_(kv),
      passwords_(passwords),
      mailer_(mailer),
      sessions_(sessions),
      gate_(gate),
      audit_(audit),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {}

Result<std::string> PhoneFlow::normalize(const std::string& phone) const {
  return identity::normalize_phone(phone, options_.default_region);
}

Status PhoneFlow::send(std::string_view purpose, const std::string& phone,
                       const std::string& locale) {
  auto code = codes_.issue(purpose, phone);
  if (!code) return code.error();
  auto queued = mailer_.queue_sms(phone,
                                  sms_code_text(locale.empty() ? options_.default_locale : locale,
                                                options_.product_name, *code),
                                  std::string(purpose));
  if (!queued) return queued.error();
  return {};
}

Result<std::string> PhoneFlow::start_verification(const std::string& user_id,
                                                  const std::string& phone,
                                                  const sessions::ClientInfo& client) {
  auto number = normalize(phone);
  if (!number) return number.error();
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kUnauthenticated, "the account no longer exists");
  auto owner = users_.find_by_phone(*number);
  if (!owner) return owner.error();
  if (*owner && (*owner)->id != user_id) {
    return Error::on_field(ErrorCode::kConflict, "phone", "this number belongs to another account");
  }
  if (auto st = quota_.allow_ip(client.ip); !st) return st.error();
  auto allowed = quota_.allow_address("verify_phone", *number);
  if (!allowed) return allowed.error();
  if (!*allowed) return rate_limited();
  if (auto st = send(kVerifyPurpose, *number, (*user)->locale); !st) return st.error();
  if (auto st = kv_.set("phone:pending:" + user_id, *number, kPendingTtl); !st) {
    return st.error();
  }
  return *number;
}

Result<std::string> PhoneFlow::confirm(const std::string& user_id, const std::string& code,
                                       const sessions::ClientInfo& client) {
  auto pending = kv_.get("phone:pending:" + user_id);
  if (!pending) return pending.error();
  if (!*pending) {
    return Error::on_field(ErrorCode::kInvalidCode, "code", "ask for a code first");
  }
  const std::string number = **pending;
  if (auto st = codes_.verify(kVerifyPurpose, number, code); !st) return st.error();
  if (auto st = users_.set_phone(user_id, number, true, clock_.now()); !st) {
    if (st.error().code == ErrorCode::kConflict) {
      return Error::on_field(ErrorCode::kConflict, "phone",
                             "this number belongs to another account");
    }
    return st.error();
  }
  (void)kv_.del("phone:pending:" + user_id);
  audit_.record({.type = "phone.verified",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  auto user = users_.find_by_id(user_id);
  if (user && *user) {
    (void)mailer_.queue(courier::kSecurityNotice, (*user)->locale, (*user)->email, (*user)->name,
                        {{"change", "phone_verified"}, {"time", format_utc_minute(clock_.now())}});
  }
  return number;
}

Status PhoneFlow::remove(const std::string& user_id, const std::string& password,
                         const sessions::ClientInfo& client) {
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kUnauthenticated, "the account no longer exists");
  if ((*user)->password_hash.empty()) {
    // An account made by SMS has no other way in.
    return Error::make(ErrorCode::kConflict, "the phone is this account's only way to sign in");
  }
  if (auto st = passwords_.confirm(password, (*user)->password_hash, "password"); !st) return st;
  if (auto st = users_.set_phone(user_id, "", false, clock_.now()); !st) return st;
  audit_.record({.type = "phone.removed",
                 .outcome = "success",
                 .actor_id = user_id,
                 .subject_id = user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  (void)mailer_.queue(courier::kSecurityNotice, (*user)->locale, (*user)->email, (*user)->name,
                      {{"change", "phone_removed"}, {"time", format_utc_minute(clock_.now())}});
  return {};
}

Status PhoneFlow::start_login(const std::string& phone, const std::string& locale,
                              const sessions::ClientInfo& client) {
  auto number = normalize(phone);
  if (!number) return number.error();
  if (auto st = quota_.allow_ip(client.ip); !st) return st;
  auto user = users_.find_by_phone(*number);
  if (!user) return user.error();
  const bool known =
      *user && (*user)->phone_verified && (*user)->state != identity::AccountState::kDisabled;
  // A number without an account gets a code only when sign-up by phone is open; the answer is
  // the same either way.
  if (!known && !options_.signup_enabled) return {};
  auto allowed = quota_.allow_address("sms_login", *number);
  if (!allowed) return allowed.error();
  if (!*allowed) return rate_limited();
  return send(kLoginPurpose, *number, known ? (*user)->locale : locale);
}

Result<LoginOutcome> PhoneFlow::finish_login(const std::string& phone, const std::string& code,
                                             const std::string& locale,
                                             const sessions::ClientInfo& client) {
  auto number = normalize(phone);
  if (!number) return number.error();
  if (auto st = codes_.verify(kLoginPurpose, *number, code); !st) {
    audit_.record(
        {.type = "login",
         .outcome = "failure",
         .ip = client.ip,
         .user_agent = client.user_agent,
         .details = {{"method", "sms"}, {"reason", std::string(code_id(st.error().code))}}});
    return st.error();
  }
  auto found = users_.find_by_phone(*number);
  if (!found) return found.error();
  identity::User user;
  if (*found && (*found)->phone_verified) {
    user = **found;
  } else if (!*found && options_.signup_enabled) {
    const auto now = clock_.now();
    user.id = new_uuid_v7(clock_, random_);
    // The schema wants an address; a phone-only account gets one under the reserved .invalid
    // domain (RFC 2606), which is never mailed and never verified.
    user.email = number->substr(1) + "@phone.invalid";
    user.state = identity::AccountState::kActive;
    user.roles = {std::string(identity::kRoleUser)};
    user.phone = *number;
    user.phone_verified = true;
    user.locale = locale;
    user.created_at = user.updated_at = now;
    if (auto st = users_.create(user); !st) return st.error();
    audit_.record({.type = "signup",
                   .outcome = "success",
                   .actor_id = user.id,
                   .subject_id = user.id,
                   .ip = client.ip,
                   .user_agent = client.user_agent,
                   .details = {{"method", "sms"}}});
  } else {
    // A code for a number whose account is not (or no longer) verified: nothing to sign in to.
    return Error::on_field(ErrorCode::kInvalidCode, "code", "the code is not correct");
  }
  if (user.state != identity::AccountState::kActive) {
    return Error::make(user.state == identity::AccountState::kDisabled ? ErrorCode::kAccountDisabled
                                                                       : ErrorCode::kAccountPending,
                       "the account cannot sign in");
  }
  if (gate_ != nullptr) {
    auto challenge = gate_->challenge_if_needed(user, {"sms"}, client);
    if (!challenge) return challenge.error();
    if (*challenge) return LoginOutcome{std::nullopt, std::move(*challenge)};
  }
  auto tokens =
      sessions_.start(user, {"sms"}, client, sessions::sign_in_event(user, client, "sms"));
  if (!tokens) return tokens.error();
  return LoginOutcome{std::move(*tokens), std::nullopt};
}

}  // namespace latchkey::flows
