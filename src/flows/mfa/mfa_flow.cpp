#include "flows/mfa/mfa_flow.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "common/sealed_box.hpp"
#include "flows/recovery/recovery_flow.hpp"
#include "methods/recovery_code/recovery_codes.hpp"
#include "methods/totp/qr.hpp"
#include "methods/totp/totp.hpp"

namespace latchkey::flows {

namespace {

constexpr std::size_t kMfaTokenBytes = 32;
constexpr std::string_view kSmsPurpose = "mfa";

Error invalid_code() {
  return Error::on_field(ErrorCode::kInvalidCode, "code", "the code is not correct");
}

Error invalid_mfa_token() {
  return Error::make(ErrorCode::kInvalidMfaToken,
                     "the sign-in step expired or is unknown; sign in again");
}

bool has(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::string sms_code_text(std::string_view locale, std::string_view product,
                          std::string_view code) {
  if (locale.substr(0, 2) == "ko") {
    return "[" + std::string(product) + "] 인증번호 " + std::string(code) +
           " (5분 안에 입력하세요. 다른 사람에게 알려 주지 마세요.)";
  }
  return "[" + std::string(product) + "] Your code is " + std::string(code) +
         ". It expires in 5 minutes. Do not share it.";
}

MfaFlow::MfaFlow(identity::UserRepository& users, methods::FactorRepository& factors,
                 methods::SmsCodes& sms_codes, kv::KeyValue& kv, PasswordVerifier& passwords,
                 courier::Mailer& mailer, sessions::SessionService& sessions, UnitOfWork& uow,
                 audit::AuditSink& audit, const Clock& clock, Random& random,
                 std::vector<std::uint8_t> master_key, std::vector<std::uint8_t> recovery_key,
                 MfaOptions options)
    : users_(users),
      factors_(factors),
      sms_codes_(sms_codes),
      kv_(kv),
      passwords_(passwords),
      mailer_(mailer),
      sessions_(sessions),
      uow_(uow),
      audit_(audit),
      clock_(clock),
      random_(random),
      master_key_(std::move(master_key)),
      recovery_key_(std::move(recovery_key)),
      options_(std::move(options)) {}

Result<identity::User> MfaFlow::load(const std::string& user_id) {
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kUnauthenticated, "the account no longer exists");
  return std::move(**user);
}

Result<MfaStatus> MfaFlow::status(const std::string& user_id) {
  auto user = load(user_id);
  if (!user) return user.error();
  auto totp = factors_.find_totp(user_id);
  if (!totp) return totp.error();
  auto left = factors_.unused_recovery_codes(user_id);
  if (!left) return left.error();
  return MfaStatus{*totp && (*totp)->confirmed_at.has_value(),
                   user->phone_verified && !user->phone.empty(), *left};
}

Result<TotpEnrolment> MfaFlow::start_totp(const std::string& user_id) {
  auto user = load(user_id);
  if (!user) return user.error();
  const auto secret = methods::totp::new_totp_secret(random_);
  methods::TotpFactor factor;
  factor.user_id = user_id;
  factor.secret_sealed = seal_box(master_key_, secret, random_);
  factor.created_at = clock_.now();
  if (auto st = factors_.put_totp(factor); !st) {
    if (st.error().code == ErrorCode::kConflict) {
      return Error::make(ErrorCode::kConflict,
                         "the authenticator app is already on; turn it off first");
    }
    return st.error();
  }
  TotpEnrolment out;
  out.secret = methods::totp::base32_encode(secret);
  out.otpauth_uri = methods::totp::otpauth_uri(options_.totp_issuer, user->email, secret);
  out.qr_svg = methods::totp::qr_svg(out.otpauth_uri, "QR code for your authenticator app");
  return out;
}

Result<std::vector<std::string>> MfaFlow::store_new_recovery_codes(const std::string& user_id) {
  auto codes = methods::recovery_code::new_recovery_codes(random_, 10);
  std::vector<std::string> hashes;
  for (const auto& c : codes) {
    hashes.push_back(methods::recovery_code::recovery_code_hash(
        recovery_key_, methods::recovery_code::normalize_recovery_code(c)));
  }
  if (auto st = factors_.replace_recovery_codes(user_id, hashes, clock_.now()); !st) {
    return st.error();
  }
  return codes;
}

Result<std::vector<std::string>> MfaFlow::confirm_totp(const std::string& user_id,
                                                       const std::string& code,
                                                       const sessions::ClientInfo& client) {
  auto user = load(user_id);
  if (!user) return user.error();
  auto factor = factors_.find_totp(user_id);
  if (!factor) return factor.error();
  if (!*factor || (*factor)->confirmed_at) {
    return Error::make(ErrorCode::kConflict, "start the authenticator setup first");
  }
  auto secret = open_box(master_key_, (*factor)->secret_sealed);
  if (!secret) return Error::internal("totp: the stored secret cannot be opened");
  const auto now = clock_.now();
  auto step = methods::totp::totp_verify(*secret, code, now, std::nullopt);
  if (!step) return invalid_code();
  auto codes =
      in_unit_of_work<std::vector<std::string>>(uow_, [&]() -> Result<std::vector<std::string>> {
        auto confirmed = factors_.confirm_totp(user_id, now, *step);
        if (!confirmed) return confirmed.error();
        if (!*confirmed) return Error::make(ErrorCode::kConflict, "already turned on");
        auto left = factors_.unused_recovery_codes(user_id);
        if (!left) return left.error();
        if (*left > 0) return std::vector<std::string>{};
        return store_new_recovery_codes(user_id);
      });
  if (!codes) return codes;
  notify(*user, "totp_enabled", client, "mfa.totp_enabled");
  return codes;
}

Result<std::string> MfaFlow::check_code(const identity::User& user, const std::string& method,
                                        const std::string& code) {
  if (method == "recovery_code") {
    const auto normalized = methods::recovery_code::normalize_recovery_code(code);
    if (normalized.empty()) return invalid_code();
    auto used = factors_.use_recovery_code(
        user.id, methods::recovery_code::recovery_code_hash(recovery_key_, normalized),
        clock_.now());
    if (!used) return used.error();
    if (!*used) return invalid_code();
    return std::string("recovery_code");
  }
  if (method == "totp") {
    auto factor = factors_.find_totp(user.id);
    if (!factor) return factor.error();
    if (!*factor || !(*factor)->confirmed_at) return invalid_code();
    auto secret = open_box(master_key_, (*factor)->secret_sealed);
    if (!secret) return Error::internal("totp: the stored secret cannot be opened");
    auto step = methods::totp::totp_verify(*secret, code, clock_.now(), (*factor)->last_step);
    if (!step) return invalid_code();
    auto fresh = factors_.use_totp_step(user.id, *step);  // a code works once
    if (!fresh) return fresh.error();
    if (!*fresh) return invalid_code();
    return std::string("otp");
  }
  return Error::on_field(ErrorCode::kInvalidField, "method",
                         "method must be totp, sms or recovery_code");
}

Status MfaFlow::disable_totp(const std::string& user_id, const std::string& password,
                             const std::string& code, const sessions::ClientInfo& client) {
  auto user = load(user_id);
  if (!user) return user.error();
  if (auto st = passwords_.confirm(password, user->password_hash, "password"); !st) return st;
  auto factor = factors_.find_totp(user_id);
  if (!factor) return factor.error();
  if (!*factor || !(*factor)->confirmed_at) {
    return Error::make(ErrorCode::kNotFound, "the authenticator app is not on");
  }
  const bool recovery = methods::recovery_code::normalize_recovery_code(code) != "";
  auto checked = check_code(*user, recovery ? "recovery_code" : "totp", code);
  if (!checked) return checked.error();
  auto st = uow_.run([&]() -> Status {
    auto removed = factors_.remove_totp(user_id);
    if (!removed) return removed.error();
    // Without a factor, recovery codes recover nothing.
    return factors_.remove_recovery_codes(user_id);
  });
  if (!st) return st;
  notify(*user, "totp_disabled", client, "mfa.totp_disabled");
  return {};
}

Result<std::vector<std::string>> MfaFlow::regenerate_recovery_codes(
    const std::string& user_id, const std::string& password, const std::string& code,
    const sessions::ClientInfo& client) {
  auto user = load(user_id);
  if (!user) return user.error();
  if (auto st = passwords_.confirm(password, user->password_hash, "password"); !st) {
    return st.error();
  }
  auto factor = factors_.find_totp(user_id);
  if (!factor) return factor.error();
  if (!*factor || !(*factor)->confirmed_at) {
    return Error::make(ErrorCode::kNotFound, "turn on the authenticator app first");
  }
  auto checked = check_code(*user, "totp", code);
  if (!checked) return checked.error();
  auto codes = store_new_recovery_codes(user_id);
  if (!codes) return codes;
  notify(*user, "recovery_codes_regenerated", client, "mfa.recovery_codes_regenerated");
  return codes;
}

std::string MfaFlow::challenge_key(const std::string& token) const {
  return "mfa:challenge:" + sha256_hex(token);
}

Result<std::optional<MfaChallenge>> MfaFlow::challenge_if_needed(
    const identity::User& user, const std::vector<std::string>& amr,
    const sessions::ClientInfo& client) {
  auto factor = factors_.find_totp(user.id);
  if (!factor) return factor.error();
  if (!*factor || !(*factor)->confirmed_at) return std::optional<MfaChallenge>{};
  std::vector<std::string> methods = {"totp", "recovery_code"};
  // SMS is a second factor only when the first one was not an SMS code itself.
  if (user.phone_verified && !user.phone.empty() && !has(amr, "sms")) methods.push_back("sms");
  MfaChallenge c;
  c.mfa_token = random_.token(kMfaTokenBytes);
  c.methods = methods;
  c.expires_in = options_.challenge_ttl.count();
  nlohmann::json pending = {
      {"user_id", user.id}, {"amr", amr}, {"methods", methods}, {"ua", client.user_agent}};
  if (auto st = kv_.set(challenge_key(c.mfa_token), pending.dump(), options_.challenge_ttl); !st) {
    return st.error();
  }
  return std::optional<MfaChallenge>(std::move(c));
}

Result<MfaFlow::Pending> MfaFlow::pending(const std::string& mfa_token,
                                          const sessions::ClientInfo& client) {
  if (mfa_token.empty() || mfa_token.size() > 128) return invalid_mfa_token();
  auto raw = kv_.get(challenge_key(mfa_token));
  if (!raw) return raw.error();
  if (!*raw) return invalid_mfa_token();
  auto j = nlohmann::json::parse(**raw, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::internal("mfa: corrupt challenge");
  Pending p;
  p.user_id = j.value("user_id", "");
  p.amr = j.value("amr", std::vector<std::string>{});
  p.methods = j.value("methods", std::vector<std::string>{});
  p.user_agent = j.value("ua", "");
  // Bound to the browser or app that passed the first step.
  if (!constant_time_equal(p.user_agent, client.user_agent)) return invalid_mfa_token();
  return p;
}

Status MfaFlow::send_sms(const std::string& mfa_token, const sessions::ClientInfo& client) {
  auto p = pending(mfa_token, client);
  if (!p) return p.error();
  if (!has(p->methods, "sms")) {
    return Error::on_field(ErrorCode::kInvalidField, "method", "SMS is not offered here");
  }
  auto user = load(p->user_id);
  if (!user) return user.error();
  auto code = sms_codes_.issue(kSmsPurpose, user->phone);
  if (!code) return code.error();
  auto queued = mailer_.queue_sms(
      user->phone, sms_code_text(user->locale, options_.product_name, *code), "mfa_code");
  if (!queued) return queued.error();
  return {};
}

Result<sessions::Tokens> MfaFlow::verify(const std::string& mfa_token, const std::string& method,
                                         const std::string& code,
                                         const sessions::ClientInfo& client) {
  auto p = pending(mfa_token, client);
  if (!p) return p.error();
  if (!has(p->methods, method)) {
    return Error::on_field(ErrorCode::kInvalidField, "method",
                           "method must be one of the methods offered");
  }
  const std::string key = challenge_key(mfa_token);
  // Every try counts, right or wrong; the challenge dies after max_attempts.
  auto tries = kv_.incr(key + ":tries", 1, options_.challenge_ttl);
  if (!tries) return tries.error();
  if (*tries > options_.max_attempts) {
    (void)kv_.del(key);
    return Error::on_field(ErrorCode::kCodeAttemptsExceeded, "code",
                           "too many wrong codes; sign in again");
  }
  auto user = load(p->user_id);
  if (!user) return user.error();
  audit::Event event{.type = "login.second_factor",
                     .outcome = "failure",
                     .actor_id = user->id,
                     .subject_id = user->id,
                     .ip = client.ip,
                     .user_agent = client.user_agent,
                     .details = {{"method", method}}};
  std::string amr_method;
  if (method == "sms") {
    if (auto st = sms_codes_.verify(kSmsPurpose, user->phone, code); !st) {
      audit_.record(event);
      return st.error();
    }
    amr_method = "sms";
  } else {
    auto checked = check_code(*user, method, code);
    if (!checked) {
      audit_.record(event);
      return checked.error();
    }
    amr_method = *checked;
  }
  // Single use: only the request that takes the challenge away signs in.
  auto used = kv_.incr(key + ":used", 1, options_.challenge_ttl);
  if (!used) return used.error();
  if (*used != 1) return invalid_mfa_token();
  (void)kv_.del(key);
  if (user->state != identity::AccountState::kActive) {
    return Error::make(user->state == identity::AccountState::kDisabled
                           ? ErrorCode::kAccountDisabled
                           : ErrorCode::kAccountPending,
                       "the account cannot sign in");
  }
  std::vector<std::string> amr = p->amr;
  if (amr_method == "recovery_code") {
    amr.push_back("kba");  // RFC 8176: knowledge-based (a code kept on paper)
  } else {
    amr.push_back(amr_method);
  }
  amr.push_back("mfa");
  event.outcome = "success";
  auto tokens = sessions_.start(*user, amr, client, std::move(event));
  if (!tokens) return tokens.error();
  if (amr_method == "recovery_code") {
    notify(*user, "recovery_code_used", client, "mfa.recovery_code_used");
  }
  return tokens;
}

void MfaFlow::notify(const identity::User& user, std::string_view change,
                     const sessions::ClientInfo& client, std::string_view event_type) {
  audit_.record({.type = std::string(event_type),
                 .outcome = "success",
                 .actor_id = user.id,
                 .subject_id = user.id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  auto queued =
      mailer_.queue(courier::kSecurityNotice, user.locale, user.email, user.name,
                    {{"change", std::string(change)}, {"time", format_utc_minute(clock_.now())}});
  (void)queued;  // the change stands even if the notice cannot be queued; the audit has it
}

}  // namespace latchkey::flows
