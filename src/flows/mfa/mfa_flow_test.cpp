// TOTP enrolment, recovery codes and the second step of a login, with in-memory fakes and a
// fixed clock.

#include "flows/mfa/mfa_flow.hpp"

#include <gtest/gtest.h>

#include "kv/memory_key_value.hpp"
#include "methods/totp/totp.hpp"
#include "testing/courier_fakes.hpp"
#include "testing/factor_fakes.hpp"
#include "testing/fakes.hpp"

namespace latchkey::flows {
namespace {

using namespace std::chrono_literals;
using methods::password::Argon2Params;

constexpr const char* kPassword = "correct horse battery staple";

class MfaFlowTest : public ::testing::Test {
 protected:
  MfaFlowTest()
      : hasher_(random_, Argon2Params{8192, 1}),
        hash_pool_(2, 8),
        verifier_(hasher_, hash_pool_),
        kv_(clock_),
        revocations_(kv_, 660s, clock_),
        sessions_(session_repo_, users_, uow_, minter_, revocations_, audit_, clock_, random_, {}),
        templates_(courier::TemplateSet::load("", {"Latchkey", "", "https://id.example.com"})),
        mailer_(templates_, outbox_, clock_, random_),
        sms_codes_(kv_, random_, std::vector<std::uint8_t>(32, 3), {300s, 5, 60s}),
        mfa_(users_, factors_, sms_codes_, kv_, verifier_, mailer_, sessions_, uow_, audit_, clock_,
             random_, std::vector<std::uint8_t>(32, 1), std::vector<std::uint8_t>(32, 2),
             {"Latchkey", 300s, 5, "Latchkey"}) {
    user_.id = "0190aaaa-0000-7000-8000-000000000001";
    user_.email = "jane@example.com";
    user_.state = identity::AccountState::kActive;
    user_.roles = {"user"};
    user_.password_hash = hasher_.hash(kPassword);
    EXPECT_TRUE(users_.create(user_));
  }

  // Enrols and confirms TOTP; returns the secret and the recovery codes.
  std::pair<std::vector<std::uint8_t>, std::vector<std::string>> enrol() {
    auto e = mfa_.start_totp(user_.id);
    EXPECT_TRUE(e);
    auto secret = methods::totp::base32_decode(e->secret).value();
    auto codes =
        mfa_.confirm_totp(user_.id, methods::totp::totp_code(secret, clock_.now()), client_);
    EXPECT_TRUE(codes) << (codes ? "" : codes.error().message);
    return {secret, codes ? *codes : std::vector<std::string>{}};
  }

  MfaChallenge challenge() {
    auto c = mfa_.challenge_if_needed(user_, {"pwd"}, client_);
    EXPECT_TRUE(c && *c);
    return c && *c ? **c : MfaChallenge{};
  }

  FakeClock clock_;
  SeededRandom random_;
  methods::password::PasswordHasher hasher_;
  methods::password::HashPool hash_pool_;
  PasswordVerifier verifier_;
  kv::MemoryKeyValue kv_;
  testing::FakeUserRepository users_;
  testing::FakeSessionRepository session_repo_;
  testing::FakeUnitOfWork uow_;
  testing::FakeMinter minter_;
  testing::RecordingAudit audit_;
  testing::FakeOutboxRepository outbox_;
  testing::FakeFactorRepository factors_;
  sessions::RevocationList revocations_;
  sessions::SessionService sessions_;
  courier::TemplateSet templates_;
  courier::Mailer mailer_;
  methods::SmsCodes sms_codes_;
  MfaFlow mfa_;
  identity::User user_;
  sessions::ClientInfo client_{"198.51.100.1", "browser-1"};
};

TEST_F(MfaFlowTest, NoFactorNoChallenge) {
  auto c = mfa_.challenge_if_needed(user_, {"pwd"}, client_);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->has_value());
  // An enrolment that was never confirmed does not count either.
  ASSERT_TRUE(mfa_.start_totp(user_.id));
  EXPECT_FALSE(mfa_.challenge_if_needed(user_, {"pwd"}, client_).value().has_value());
}

TEST_F(MfaFlowTest, ConfirmNeedsAValidCodeAndGivesTenRecoveryCodes) {
  auto e = mfa_.start_totp(user_.id);
  ASSERT_TRUE(e);
  EXPECT_NE(e->otpauth_uri.find("otpauth://totp/Latchkey:jane%40example.com?secret="),
            std::string::npos);
  EXPECT_NE(e->qr_svg.find("<svg"), std::string::npos);
  EXPECT_EQ(mfa_.confirm_totp(user_.id, "000000", client_).error().code, ErrorCode::kInvalidCode);
  auto secret = methods::totp::base32_decode(e->secret).value();
  auto codes = mfa_.confirm_totp(user_.id, methods::totp::totp_code(secret, clock_.now()), client_);
  ASSERT_TRUE(codes);
  EXPECT_EQ(codes->size(), 10u);
  auto st = mfa_.status(user_.id);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->totp);
  EXPECT_EQ(st->recovery_codes_left, 10);
  EXPECT_TRUE(audit_.saw("mfa.totp_enabled", "success"));
  // A second enrolment over a confirmed factor is refused.
  EXPECT_EQ(mfa_.start_totp(user_.id).error().code, ErrorCode::kConflict);
}

TEST_F(MfaFlowTest, LoginWithTotpAndReplayIsRefused) {
  auto [secret, codes] = enrol();
  clock_.advance(31s);  // the confirmation used the current step
  auto c = challenge();
  EXPECT_EQ(c.methods, (std::vector<std::string>{"totp", "recovery_code"}));
  const auto code = methods::totp::totp_code(secret, clock_.now());
  auto tokens = mfa_.verify(c.mfa_token, "totp", code, client_);
  ASSERT_TRUE(tokens) << tokens.error().message;
  EXPECT_EQ(minter_.last.amr, (std::vector<std::string>{"pwd", "otp", "mfa"}));
  // The challenge is single use, and the same code cannot sign in again.
  EXPECT_EQ(mfa_.verify(c.mfa_token, "totp", code, client_).error().code,
            ErrorCode::kInvalidMfaToken);
  auto again = challenge();
  EXPECT_EQ(mfa_.verify(again.mfa_token, "totp", code, client_).error().code,
            ErrorCode::kInvalidCode);
}

TEST_F(MfaFlowTest, ChallengeIsBoundToTheUserAgentAndExpires) {
  auto [secret, codes] = enrol();
  clock_.advance(31s);
  auto c = challenge();
  const auto code = methods::totp::totp_code(secret, clock_.now());
  EXPECT_EQ(mfa_.verify(c.mfa_token, "totp", code, {"198.51.100.1", "other-browser"}).error().code,
            ErrorCode::kInvalidMfaToken);
  clock_.advance(301s);
  EXPECT_EQ(
      mfa_.verify(c.mfa_token, "totp", methods::totp::totp_code(secret, clock_.now()), client_)
          .error()
          .code,
      ErrorCode::kInvalidMfaToken);
}

TEST_F(MfaFlowTest, SixthTryKillsTheChallenge) {
  auto [secret, codes] = enrol();
  clock_.advance(31s);
  auto c = challenge();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(mfa_.verify(c.mfa_token, "totp", "000000", client_).error().code,
              ErrorCode::kInvalidCode);
  }
  EXPECT_EQ(
      mfa_.verify(c.mfa_token, "totp", methods::totp::totp_code(secret, clock_.now()), client_)
          .error()
          .code,
      ErrorCode::kCodeAttemptsExceeded);
}

TEST_F(MfaFlowTest, RecoveryCodeWorksOnceAndIsNotified) {
  auto [secret, codes] = enrol();
  auto c = challenge();
  auto tokens = mfa_.verify(c.mfa_token, "recovery_code", codes[0], client_);
  ASSERT_TRUE(tokens);
  EXPECT_EQ(minter_.last.amr, (std::vector<std::string>{"pwd", "kba", "mfa"}));
  EXPECT_EQ(mfa_.status(user_.id)->recovery_codes_left, 9);
  auto again = challenge();
  EXPECT_EQ(mfa_.verify(again.mfa_token, "recovery_code", codes[0], client_).error().code,
            ErrorCode::kInvalidCode);
  EXPECT_TRUE(audit_.saw("mfa.recovery_code_used", "success"));
}

TEST_F(MfaFlowTest, SmsIsOfferedForAVerifiedPhone) {
  ASSERT_TRUE(users_.set_phone(user_.id, "+821012345678", true, clock_.now()));
  user_ = *users_.find_by_id(user_.id).value();
  enrol();
  auto c = challenge();
  EXPECT_EQ(c.methods, (std::vector<std::string>{"totp", "recovery_code", "sms"}));
  ASSERT_TRUE(mfa_.send_sms(c.mfa_token, client_));
  auto sent = outbox_.claim(clock_.now(), 1h, 100, "t");
  ASSERT_TRUE(sent);
  std::string code;
  for (const auto& m : *sent) {
    if (m.channel == "sms") code = m.sms.text.substr(m.sms.text.find("is ") + 3, 6);
  }
  ASSERT_EQ(code.size(), 6u);
  auto tokens = mfa_.verify(c.mfa_token, "sms", code, client_);
  ASSERT_TRUE(tokens) << tokens.error().message;
  EXPECT_EQ(minter_.last.amr, (std::vector<std::string>{"pwd", "sms", "mfa"}));
  // After an SMS first step, SMS is not offered again as the second.
  auto after_sms = mfa_.challenge_if_needed(user_, {"sms"}, client_);
  EXPECT_EQ((*after_sms)->methods, (std::vector<std::string>{"totp", "recovery_code"}));
}

TEST_F(MfaFlowTest, DisableAndRegenerateNeedPasswordAndCode) {
  auto [secret, codes] = enrol();
  clock_.advance(31s);
  const auto code = methods::totp::totp_code(secret, clock_.now());
  EXPECT_EQ(mfa_.regenerate_recovery_codes(user_.id, "wrong password", code, client_).error().code,
            ErrorCode::kInvalidCredentials);
  auto fresh = mfa_.regenerate_recovery_codes(user_.id, kPassword, code, client_);
  ASSERT_TRUE(fresh);
  EXPECT_NE(*fresh, codes);
  EXPECT_EQ(mfa_.status(user_.id)->recovery_codes_left, 10);
  EXPECT_EQ(mfa_.disable_totp(user_.id, kPassword, "000000", client_).error().code,
            ErrorCode::kInvalidCode);
  ASSERT_TRUE(mfa_.disable_totp(user_.id, kPassword, (*fresh)[0], client_));
  EXPECT_FALSE(mfa_.status(user_.id)->totp);
  EXPECT_EQ(mfa_.status(user_.id)->recovery_codes_left, 0);
  EXPECT_FALSE(mfa_.challenge_if_needed(user_, {"pwd"}, client_).value().has_value());
  EXPECT_TRUE(audit_.saw("mfa.totp_disabled", "success"));
}

}  // namespace
}  // namespace latchkey::flows
