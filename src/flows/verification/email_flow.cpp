#include "flows/verification/email_flow.hpp"

#include <algorithm>

#include "identity/email.hpp"

namespace latchkey::flows {

namespace {

Error invalid_code() {
  return Error::on_field(ErrorCode::kInvalidCode, "code", "the code is not correct");
}

}  // namespace

EmailFlow::EmailFlow(identity::UserRepository& users, VerificationRepository& verifications,
                     VerificationSecrets& secrets, courier::Mailer& mailer, SendQuota& quota,
                     PasswordVerifier& passwords, sessions::SessionService& sessions,
                     UnitOfWork& uow, audit::AuditSink& audit, const Clock& clock,
                     EmailFlowOptions options)
    : users_(users),
      verifications_(verifications),
      secrets_(secrets),
      mailer_(mailer),
      quota_(quota),
      passwords_(passwords),
      sessions_(sessions),
      uow_(uow),
      audit_(audit),
      clock_(clock),
      options_(std::move(options)) {}

Status EmailFlow::issue_and_queue(const identity::User& user, Purpose purpose,
                                  const std::string& to) {
  return uow_.run([&]() -> Status {
    // A new secret replaces the ones mailed before: only the latest link and code work.
    if (auto st = verifications_.supersede(user.id, purpose, clock_.now()); !st) return st;
    auto issued = secrets_.issue(user.id, purpose, to, options_.verify_ttl, /*with_code=*/true);
    if (auto st = verifications_.create(issued.row); !st) return st;
    const auto hours = std::max<std::int64_t>(1, options_.verify_ttl.count() / 3600);
    std::map<std::string, std::string> values = {
        {"link", link_to(options_.public_url, "verify-email", issued.token)},
        {"code", issued.code},
        {"expires_hours", std::to_string(hours)}};
    std::string_view template_id = courier::kVerifyEmail;
    if (purpose == Purpose::kChangeEmail) {
      template_id = courier::kEmailChangeVerify;
      values["new_email"] = to;
    }
    auto queued = mailer_.queue(template_id, user.locale, to, user.name, values);
    if (!queued) return queued.error();
    return {};
  });
}

Status EmailFlow::send_verification(const identity::User& user) {
  return issue_and_queue(user, Purpose::kVerifyEmail, user.email);
}

Result<std::optional<Verification>> EmailFlow::code_target(const std::string& email) {
  const auto now = clock_.now();
  auto row = verifications_.find_code_target(email, Purpose::kVerifyEmail, now);
  if (!row || *row) return row;
  return verifications_.find_code_target(email, Purpose::kChangeEmail, now);
}

Result<VerifyEmailOutcome> EmailFlow::verify(const VerifyEmailRequest& request) {
  audit::Event failed{.type = "email.verify",
                      .outcome = "failure",
                      .ip = request.client.ip,
                      .user_agent = request.client.user_agent};
  if (!request.token.empty()) {
    auto selector = VerificationSecrets::selector_of(request.token);
    if (!selector) return selector.error();
    auto row = verifications_.find(*selector);
    if (!row) return row.error();
    if (!*row) return unknown_token_error();
    if (auto st = secrets_.check_token(**row, request.token,
                                       {Purpose::kVerifyEmail, Purpose::kChangeEmail});
        !st) {
      failed.subject_id = (*row)->user_id;
      failed.details = {{"reason", std::string(code_id(st.error().code))}};
      audit_.record(failed);
      return st.error();
    }
    return complete(**row, request.client);
  }

  auto email = identity::normalize_email(request.email);
  if (!email) return email.error();
  auto row = code_target(*email);
  if (!row) return row.error();
  if (!*row) return invalid_code();
  const Verification& v = **row;
  if (v.attempts >= options_.code_attempts) {
    return Error::on_field(ErrorCode::kCodeAttemptsExceeded, "code",
                           "too many wrong codes; ask for a new one");
  }
  if (!secrets_.code_matches(v, request.code)) {
    auto attempts = verifications_.add_failed_attempt(v.id);
    if (!attempts) return attempts.error();
    failed.subject_id = v.user_id;
    failed.details = {{"reason", "invalid_code"}, {"attempts", *attempts}};
    audit_.record(failed);
    if (*attempts >= options_.code_attempts) {
      return Error::on_field(ErrorCode::kCodeAttemptsExceeded, "code",
                             "too many wrong codes; ask for a new one");
    }
    return invalid_code();
  }
  return complete(v, request.client);
}

Result<VerifyEmailOutcome> EmailFlow::complete(const Verification& row,
                                               const sessions::ClientInfo& client) {
  const auto now = clock_.now();
  auto done = in_unit_of_work<VerifyEmailOutcome>(uow_, [&]() -> Result<VerifyEmailOutcome> {
    auto user = users_.find_by_id(row.user_id);
    if (!user) return user.error();
    if (!*user) return unknown_token_error();
    auto consumed = verifications_.consume(row.id, now);
    if (!consumed) return consumed.error();
    if (!*consumed) return used_token_error();
    if (row.purpose == Purpose::kVerifyEmail) {
      // The account's address changed since this mail was sent: it proves nothing now.
      if ((*user)->email != row.email) return unknown_token_error();
      if (auto st = users_.mark_email_verified(row.user_id, now); !st) return st.error();
    } else {
      auto st = users_.change_email(row.user_id, row.email, now);
      if (!st && st.error().code == ErrorCode::kConflict) {
        return Error::make(ErrorCode::kConflict, "this address is now used by another account");
      }
      if (!st) return st.error();
    }
    if (auto st = verifications_.supersede(row.user_id, row.purpose, now); !st) return st.error();
    return VerifyEmailOutcome{row.user_id, row.email, row.purpose, std::nullopt};
  });
  if (!done) return done;

  audit_.record({.type = row.purpose == Purpose::kVerifyEmail ? "email.verified" : "email.changed",
                 .outcome = "success",
                 .actor_id = row.user_id,
                 .subject_id = row.user_id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  if (row.purpose == Purpose::kVerifyEmail && options_.login_after_verification) {
    auto user = users_.find_by_id(row.user_id);
    if (!user) return user.error();
    if (*user && (*user)->state == identity::AccountState::kActive) {
      auto tokens = sessions_.start(**user, {"email"}, client,
                                    sessions::sign_in_event(**user, client, "email_link"));
      if (!tokens) return tokens.error();
      done->tokens = std::move(*tokens);
    }
  }
  return done;
}

Status EmailFlow::resend(const std::string& email, const sessions::ClientInfo& client) {
  if (auto st = quota_.allow_ip(client.ip); !st) return st;
  auto normalized = identity::normalize_email(email);
  if (!normalized) return normalized.error();
  auto user = users_.find_by_email(*normalized);
  if (!user) return user.error();
  // Unknown, already verified and disabled accounts get the same answer and no mail.
  if (!*user || (*user)->email_verified || (*user)->state == identity::AccountState::kDisabled) {
    return {};
  }
  auto allowed = quota_.allow_address("verify_email", *normalized);
  if (!allowed) return allowed.error();
  if (!*allowed) return {};
  if (auto st = send_verification(**user); !st) return st;
  audit_.record({.type = "email.verification_resent",
                 .outcome = "success",
                 .subject_id = (*user)->id,
                 .ip = client.ip,
                 .user_agent = client.user_agent});
  return {};
}

Result<std::string> EmailFlow::start_change(const std::string& user_id,
                                            const std::string& new_email,
                                            const std::string& password,
                                            const sessions::ClientInfo& client) {
  auto user = users_.find_by_id(user_id);
  if (!user) return user.error();
  if (!*user) return Error::make(ErrorCode::kUnauthenticated, "the account no longer exists");
  auto normalized = identity::normalize_email(new_email);
  if (!normalized) {
    Error e = std::move(normalized).error();
    e.field = "new_email";
    return e;
  }
  if (auto st = passwords_.confirm(password, (*user)->password_hash, "password"); !st) {
    return st.error();
  }
  if (*normalized == (*user)->email) {
    return Error::on_field(ErrorCode::kInvalidField, "new_email", "this is already your address");
  }
  auto allowed = quota_.allow_address("change_email", user_id);
  if (!allowed) return allowed.error();
  if (!*allowed) {
    Error e = Error::make(ErrorCode::kRateLimited, "a confirmation was sent a moment ago");
    e.retry_after = 60;
    return e;
  }
  audit::Event event{.type = "email.change_requested",
                     .outcome = "success",
                     .actor_id = user_id,
                     .subject_id = user_id,
                     .ip = client.ip,
                     .user_agent = client.user_agent};
  auto owner = users_.find_by_email(*normalized);
  if (!owner) return owner.error();
  if (*owner) {
    // Taken: send nothing (the answer must not tell that the address has an account).
    event.outcome = "failure";
    event.details = {{"reason", "email_taken"}};
    audit_.record(event);
    return *normalized;
  }
  auto st = uow_.run([&]() -> Status {
    if (auto s = issue_and_queue(**user, Purpose::kChangeEmail, *normalized); !s) return s;
    auto notice = mailer_.queue(courier::kEmailChangeNotice, (*user)->locale, (*user)->email,
                                (*user)->name, {{"new_email", *normalized}});
    if (!notice) return notice.error();
    return {};
  });
  if (!st) return st.error();
  audit_.record(event);
  return *normalized;
}

}  // namespace latchkey::flows
