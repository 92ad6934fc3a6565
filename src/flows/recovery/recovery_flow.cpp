#include "flows/recovery/recovery_flow.hpp"

#include <ctime>

#include "identity/email.hpp"

namespace latchkey::flows {

std::string format_utc_minute(TimePoint t) {
  const std::time_t secs = static_cast<std::time_t>(to_unix(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

RecoveryFlow::RecoveryFlow(identity::UserRepository& users, VerificationRepository& verifications,
                           VerificationSecrets& secrets, courier::Mailer& mailer, SendQuota& quota,
                           PasswordVerifier& passwords,
                           const methods::password::PasswordPolicy& policy,
                           sessions::SessionService& sessions, UnitOfWork& uow,
                           audit::AuditSink& audit, const Clock& clock, RecoveryOptions options)
    : users_(users),
      verifications_(verifications),
      secrets_(secrets),
      mailer_(mailer),
      quota_(quota),
      passwords_(passwords),
      policy_(policy),
      sessions_(sessions),
      uow_(uow),
      audit_(audit),
      clock_(clock),
      options_(std::move(options)) {}

Status RecoveryFlow::forgot(const std::string& email, const sessions::ClientInfo& client) {
  if (auto st = quota_.allow_ip(client.ip); !st) return st;
  auto normalized = identity::normalize_email(email);
  if (!normalized) return normalized.error();
  auto user = users_.find_by_email(*normalized);
  if (!user) return user.error();
  if (!*user || (*user)->state == identity::AccountState::kDisabled) return {};
  auto allowed = quota_.allow_address("reset_password", *normalized);
  if (!allowed) return allowed.error();
  if (!*allowed) return {};
  const identity::User& u = **user;
  auto st = send_link(u, options_.reset_ttl);
  if (!st) return st;
  audit_.record({.type = "password.reset_requested",
                 .outcome = "success",
                 .subject_id = u.id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  return {};
}

Status RecoveryFlow::send_link(const identity::User& u, std::chrono::seconds ttl) {
  return uow_.run([&]() -> Status {
    const auto now = clock_.now();
    if (auto s = verifications_.supersede(u.id, Purpose::kResetPassword, now); !s) return s;
    auto issued = secrets_.issue(u.id, Purpose::kResetPassword, u.email, ttl,
                                 /*with_code=*/false);
    if (auto s = verifications_.create(issued.row); !s) return s;
    const auto minutes = std::max<std::int64_t>(1, ttl.count() / 60);
    auto queued =
        mailer_.queue(courier::kPasswordReset, u.locale, u.email, u.name,
                      {{"link", link_to(options_.public_url, "reset-password", issued.token)},
                       {"expires_minutes", std::to_string(minutes)}});
    if (!queued) return queued.error();
    return {};
  });
}

Status RecoveryFlow::reset(const std::string& token, const std::string& password,
                           const sessions::ClientInfo& client) {
  if (auto st = check_password_length(password); !st) return st;
  auto selector = VerificationSecrets::selector_of(token);
  if (!selector) return selector.error();
  auto row = verifications_.find(*selector);
  if (!row) return row.error();
  if (!*row) return unknown_token_error();
  const Verification v = **row;
  audit::Event event{.type = "password.reset",
                     .outcome = "failure",
                     .subject_id = v.user_id,
                     .ip = client.ip,
                     .user_agent = client.user_agent};
  if (auto st = secrets_.check_token(v, token, {Purpose::kResetPassword}); !st) {
    event.details = {{"reason", std::string(code_id(st.error().code))}};
    audit_.record(event);
    return st;
  }
  auto user = users_.find_by_id(v.user_id);
  if (!user) return user.error();
  if (!*user || (*user)->email != v.email) return unknown_token_error();
  if (auto st = policy_.check(password, (*user)->email); !st) return st;
  auto hash = passwords_.hash(password);  // outside the unit: hashing is slow
  if (!hash) return hash.error();

  const auto now = clock_.now();
  const identity::User& u = **user;
  auto st = uow_.run([&]() -> Status {
    auto consumed = verifications_.consume(v.id, now);
    if (!consumed) return consumed.error();
    if (!*consumed) return used_token_error();
    if (auto s = users_.set_password_hash(u.id, *hash, now); !s) return s;
    // Following the link proved the address, as a verification link would have.
    if (auto s = users_.mark_email_verified(u.id, now); !s) return s;
    auto ended = sessions_.end_all(u.id, "password_reset");
    if (!ended) return ended.error();
    auto queued = mailer_.queue(courier::kPasswordChanged, u.locale, u.email, u.name,
                                {{"time", format_utc_minute(now)}});
    if (!queued) return queued.error();
    return {};
  });
  if (!st) return st;
  event.outcome = "success";
  event.actor_id = u.id;
  audit_.record(event);
  return {};
}

}  // namespace latchkey::flows
