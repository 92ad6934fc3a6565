// E-mail verification, resend, e-mail change and password recovery, with in-memory fakes, a
// fixed clock and the built-in templates.

#include "flows/verification/email_flow.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "courier/templates.hpp"
#include "flows/recovery/recovery_flow.hpp"
#include "kv/memory_key_value.hpp"
#include "testing/courier_fakes.hpp"
#include "testing/fakes.hpp"
#include "testing/verification_fakes.hpp"

namespace latchkey::flows {
namespace {

using namespace std::chrono_literals;
using methods::password::Argon2Params;

constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kNewPassword = "a different fine passphrase 77";

class EmailFlowTest : public ::testing::Test {
 protected:
  EmailFlowTest()
      : hasher_(random_, Argon2Params{8192, 1}),
        hash_pool_(2, 8),
        verifier_(hasher_, hash_pool_),
        kv_(clock_),
        revocations_(kv_, 660s, clock_),
        sessions_(session_repo_, users_, uow_, minter_, revocations_, audit_, clock_, random_, {}),
        templates_(courier::TemplateSet::load("", {"Latchkey", "", "https://id.example.com"})),
        mailer_(templates_, outbox_, clock_, random_),
        secrets_(clock_, random_, std::vector<std::uint8_t>(32, 7)),
        quota_(kv_, {60s, 5, 20}),
        email_(users_, verifications_, secrets_, mailer_, quota_, verifier_, sessions_, uow_,
               audit_, clock_, {"https://id.example.com", 24h, 5, false}),
        recovery_(users_, verifications_, secrets_, mailer_, quota_, verifier_, policy_, sessions_,
                  uow_, audit_, clock_, {"https://id.example.com", 1h}),
        signup_(users_, uow_, &email_, hasher_, policy_, hash_pool_, audit_, clock_, random_,
                {true, true}) {}

  // Signs up and returns the user id.
  std::string sign_up(const std::string& email, const std::string& locale = "") {
    SignupRequest req{email, kPassword, "Jane", {"198.51.100.1", "test"}, locale};
    auto r = signup_.run(req);
    EXPECT_TRUE(r) << r.error().message;
    auto u = users_.find_by_email(email);
    return u && *u ? (*u)->id : "";
  }

  // Every message queued since the last call (claimed, so each is returned once).
  std::vector<courier::Email> take_mail() {
    std::vector<courier::Email> out;
    auto claimed = outbox_.claim(clock_.now(), 24h * 365, 1000, "test");
    EXPECT_TRUE(claimed);
    if (claimed) {
      for (auto& m : *claimed) out.push_back(m.email);
    }
    return out;
  }

  static std::string token_in(const courier::Email& mail, const std::string& page) {
    std::smatch m;
    const std::regex re("https://id\\.example\\.com/" + page + "\\?token=([A-Za-z0-9_.-]+)");
    if (!std::regex_search(mail.text, m, re)) return "";
    return m[1];
  }
  static std::string code_in(const courier::Email& mail) {
    std::smatch m;
    if (!std::regex_search(mail.text, m, std::regex("(^|[^0-9])([0-9]{6})([^0-9]|$)"))) return "";
    return m[2];
  }

  identity::User user(const std::string& id) { return *users_.find_by_id(id).value(); }

  Result<VerifyEmailOutcome> verify_token(const std::string& token) {
    return email_.verify({token, "", "", {"198.51.100.1", "test"}});
  }
  Result<VerifyEmailOutcome> verify_code(const std::string& email, const std::string& code) {
    return email_.verify({"", email, code, {"198.51.100.1", "test"}});
  }

  FakeClock clock_;
  SeededRandom random_;
  methods::password::PasswordHasher hasher_;
  methods::password::PasswordPolicy policy_;
  methods::password::HashPool hash_pool_;
  PasswordVerifier verifier_;
  kv::MemoryKeyValue kv_;
  testing::FakeUserRepository users_;
  testing::FakeSessionRepository session_repo_;
  testing::FakeUnitOfWork uow_;
  testing::FakeMinter minter_;
  testing::RecordingAudit audit_;
  testing::FakeOutboxRepository outbox_;
  testing::FakeVerificationRepository verifications_;
  sessions::RevocationList revocations_;
  sessions::SessionService sessions_;
  courier::TemplateSet templates_;
  courier::Mailer mailer_;
  VerificationSecrets secrets_;
  SendQuota quota_;
  EmailFlow email_;
  RecoveryFlow recovery_;
  SignupFlow signup_;
  sessions::ClientInfo client_{"198.51.100.1", "test"};
};

TEST_F(EmailFlowTest, SignupQueuesOneMailWithLinkAndCodeAndLeavesTheAccountPending) {
  const auto id = sign_up("jane@example.com");
  EXPECT_EQ(user(id).state, identity::AccountState::kPending);
  auto mail = take_mail();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0].to, "jane@example.com");
  EXPECT_EQ(mail[0].template_id, "verify_email");
  EXPECT_FALSE(token_in(mail[0], "verify-email").empty());
  EXPECT_EQ(code_in(mail[0]).size(), 6u);
}

TEST_F(EmailFlowTest, TheLinkActivatesOnceOnly) {
  const auto id = sign_up("jane@example.com");
  const auto token = token_in(take_mail().at(0), "verify-email");
  auto done = verify_token(token);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->purpose, Purpose::kVerifyEmail);
  EXPECT_EQ(user(id).state, identity::AccountState::kActive);
  EXPECT_TRUE(user(id).email_verified);
  EXPECT_FALSE(done->tokens);  // login_after_verification is off
  EXPECT_EQ(verify_token(token).error().code, ErrorCode::kVerificationTokenUsed);
  // One verification event; the replay is recorded as a failed attempt, not a second one.
  EXPECT_EQ(audit_.count("email.verified"), 1u);
  EXPECT_TRUE(audit_.saw("email.verify", "failure"));
}

TEST_F(EmailFlowTest, EachBadTokenHasItsOwnCode) {
  sign_up("jane@example.com");
  const auto token = token_in(take_mail().at(0), "verify-email");
  std::string tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_token(tampered).error().code, ErrorCode::kVerificationTokenInvalid);
  EXPECT_EQ(verify_token("not a token").error().code, ErrorCode::kVerificationTokenInvalid);
  std::string unknown = token;
  unknown[0] = unknown[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_token(unknown).error().code, ErrorCode::kVerificationTokenUnknown);
  clock_.advance(24h);
  EXPECT_EQ(verify_token(token).error().code, ErrorCode::kVerificationTokenExpired);
  EXPECT_EQ(user(users_.find_by_email("jane@example.com").value().value().id).state,
            identity::AccountState::kPending);
}

TEST_F(EmailFlowTest, CodePathAndItsAttemptLimit) {
  const auto id = sign_up("jane@example.com");
  const auto code = code_in(take_mail().at(0));
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(verify_code("jane@example.com", wrong).error().code, ErrorCode::kInvalidCode);
  }
  EXPECT_EQ(verify_code("jane@example.com", wrong).error().code, ErrorCode::kCodeAttemptsExceeded);
  EXPECT_EQ(verify_code("jane@example.com", code).error().code, ErrorCode::kCodeAttemptsExceeded);
  EXPECT_EQ(user(id).state, identity::AccountState::kPending);
}

TEST_F(EmailFlowTest, RightCodeActivatesAndAnotherUsersCodeDoesNot) {
  const auto jane = sign_up("jane@example.com");
  const auto jane_code = code_in(take_mail().at(0));
  sign_up("kim@example.com");
  const auto kim_code = code_in(take_mail().at(0));
  if (kim_code != jane_code) {
    EXPECT_EQ(verify_code("kim@example.com", jane_code).error().code, ErrorCode::kInvalidCode);
  }
  EXPECT_EQ(verify_code("nobody@example.com", jane_code).error().code, ErrorCode::kInvalidCode);
  auto done = verify_code("jane@EXAMPLE.com", jane_code);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(user(jane).state, identity::AccountState::kActive);
}

TEST_F(EmailFlowTest, ResendSupersedesAndRespectsCooldownAndIpCap) {
  sign_up("jane@example.com");
  const auto first = token_in(take_mail().at(0), "verify-email");
  clock_.advance(61s);  // past the cooldown that sign-up does not start, to be explicit
  ASSERT_TRUE(email_.resend("jane@example.com", client_));
  auto mail = take_mail();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(verify_token(first).error().code, ErrorCode::kVerificationTokenUsed);
  ASSERT_TRUE(email_.resend("jane@example.com", client_));  // within the cooldown
  EXPECT_TRUE(take_mail().empty());
  ASSERT_TRUE(email_.resend("nobody@example.com", client_));  // same answer, no mail
  EXPECT_TRUE(take_mail().empty());
  ASSERT_TRUE(verify_token(token_in(mail[0], "verify-email")));
  clock_.advance(61s);
  ASSERT_TRUE(email_.resend("jane@example.com", client_));  // verified: nothing to send
  EXPECT_TRUE(take_mail().empty());
  Status st;
  for (int i = 0; i < 20 && st; ++i) st = email_.resend("x@example.com", {"203.0.113.9", "t"});
  ASSERT_TRUE(st);
  st = email_.resend("x@example.com", {"203.0.113.9", "t"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(st.error().retry_after.has_value());
}

TEST_F(EmailFlowTest, DailyCapPerAddress) {
  sign_up("jane@example.com");
  take_mail();
  int sent = 0;
  for (int i = 0; i < 8; ++i) {
    clock_.advance(61s);
    ASSERT_TRUE(email_.resend("jane@example.com", {"203.0.113." + std::to_string(i), "t"}));
    sent += static_cast<int>(take_mail().size());
  }
  EXPECT_EQ(sent, 5);
}

TEST_F(EmailFlowTest, KoreanLocaleIsUsedForTheUsersMail) {
  sign_up("kim@example.com", "ko");
  auto mail = take_mail();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_NE(mail[0].subject.find("확인"), std::string::npos) << mail[0].subject;
}

TEST_F(EmailFlowTest, ResetSetsThePasswordEndsEverySessionAndNotifies) {
  const auto id = sign_up("jane@example.com");
  ASSERT_TRUE(verify_token(token_in(take_mail().at(0), "verify-email")));
  auto session = sessions_.start(user(id), {"pwd"}, client_);
  ASSERT_TRUE(session);
  ASSERT_TRUE(recovery_.forgot("jane@example.com", client_));
  auto mail = take_mail();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0].template_id, "password_reset");
  const auto token = token_in(mail[0], "reset-password");
  ASSERT_FALSE(token.empty());

  // A weak password is refused and the token survives.
  EXPECT_EQ(recovery_.reset(token, "password1", client_).error().code, ErrorCode::kWeakPassword);
  // A reset token is no verification token.
  EXPECT_EQ(verify_token(token).error().code, ErrorCode::kVerificationTokenUnknown);

  ASSERT_TRUE(recovery_.reset(token, kNewPassword, client_));
  EXPECT_EQ(sessions_.refresh(session->refresh_token, client_).error().code,
            ErrorCode::kInvalidRefreshToken);
  EXPECT_TRUE(revocations_.is_revoked(session->session_id));
  auto notice = take_mail();
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_EQ(notice[0].template_id, "password_changed");
  auto check = verifier_.verify(kNewPassword, user(id).password_hash);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->match);
  EXPECT_EQ(recovery_.reset(token, kNewPassword, client_).error().code,
            ErrorCode::kVerificationTokenUsed);
  EXPECT_TRUE(audit_.saw("password.reset", "success"));
}

TEST_F(EmailFlowTest, VerificationTokenCannotResetAndUnknownAddressGetsNoMail) {
  sign_up("jane@example.com");
  const auto token = token_in(take_mail().at(0), "verify-email");
  EXPECT_EQ(recovery_.reset(token, kNewPassword, client_).error().code,
            ErrorCode::kVerificationTokenUnknown);
  ASSERT_TRUE(recovery_.forgot("nobody@example.com", client_));
  EXPECT_TRUE(take_mail().empty());
}

TEST_F(EmailFlowTest, ResetLinkExpiresAfterAnHour) {
  sign_up("jane@example.com");
  take_mail();
  ASSERT_TRUE(recovery_.forgot("jane@example.com", client_));
  const auto token = token_in(take_mail().at(0), "reset-password");
  clock_.advance(1h);
  EXPECT_EQ(recovery_.reset(token, kNewPassword, client_).error().code,
            ErrorCode::kVerificationTokenExpired);
}

TEST_F(EmailFlowTest, ChangeOfAddressNeedsThePasswordAndTheNewAddressesConfirmation) {
  const auto id = sign_up("jane@example.com");
  ASSERT_TRUE(verify_token(token_in(take_mail().at(0), "verify-email")));

  auto wrong = email_.start_change(id, "jane@new.example", "not my password", client_);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_TRUE(take_mail().empty());
  EXPECT_EQ(email_.start_change(id, "jane@example.com", kPassword, client_).error().code,
            ErrorCode::kInvalidField);

  auto pending = email_.start_change(id, "jane@New.EXAMPLE", kPassword, client_);
  ASSERT_TRUE(pending) << pending.error().message;
  EXPECT_EQ(*pending, "jane@new.example");
  auto mail = take_mail();
  ASSERT_EQ(mail.size(), 2u);
  const auto& confirm = mail[0].to == "jane@new.example" ? mail[0] : mail[1];
  const auto& notice = mail[0].to == "jane@new.example" ? mail[1] : mail[0];
  EXPECT_EQ(confirm.template_id, "email_change_verify");
  EXPECT_EQ(notice.template_id, "email_change_notice");
  EXPECT_EQ(notice.to, "jane@example.com");
  EXPECT_EQ(user(id).email, "jane@example.com");  // not before the confirmation

  auto done = verify_token(token_in(confirm, "verify-email"));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->purpose, Purpose::kChangeEmail);
  EXPECT_EQ(user(id).email, "jane@new.example");
  EXPECT_TRUE(user(id).email_verified);
}

TEST_F(EmailFlowTest, ChangeToATakenAddressSendsNothing) {
  const auto id = sign_up("jane@example.com");
  sign_up("kim@example.com");
  take_mail();
  auto pending = email_.start_change(id, "kim@example.com", kPassword, client_);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(take_mail().empty());
  EXPECT_TRUE(audit_.saw("email.change_requested", "failure"));
}

TEST_F(EmailFlowTest, LoginAfterVerificationStartsASession) {
  EmailFlow flow(users_, verifications_, secrets_, mailer_, quota_, verifier_, sessions_, uow_,
                 audit_, clock_, {"https://id.example.com", 24h, 5, true});
  sign_up("jane@example.com");
  const auto token = token_in(take_mail().at(0), "verify-email");
  auto done = flow.verify({token, "", "", client_});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->tokens);
  EXPECT_EQ(minter_.last.amr, std::vector<std::string>{"email"});
  EXPECT_TRUE(minter_.last.email_verified);
  // The sign-in is audited like any other, with its session.
  ASSERT_EQ(audit_.count("login"), 1u);
  const auto& login = audit_.events.back();
  EXPECT_EQ(login.outcome, "success");
  EXPECT_EQ(login.details.value("method", ""), "email_link");
  EXPECT_EQ(login.details.value("session_id", ""), done->tokens->session_id);
}

TEST_F(EmailFlowTest, AFailedUnitOfWorkCreatesNoAccount) {
  uow_.fail_next = 1;
  SignupRequest req{"jane@example.com", kPassword, "Jane", client_, ""};
  auto r = signup_.run(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(take_mail().empty());
}

}  // namespace
}  // namespace latchkey::flows
