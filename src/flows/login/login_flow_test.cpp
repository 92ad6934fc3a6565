#include "flows/login/login_flow.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

#include "flows/settings/settings_flow.hpp"
#include "flows/signup/signup_flow.hpp"
#include "kv/memory_key_value.hpp"
#include "testing/fakes.hpp"

namespace latchkey::flows {
namespace {

using namespace std::chrono_literals;
using methods::password::Argon2Params;
using methods::password::HashPool;
using methods::password::PasswordHasher;
using methods::password::PasswordPolicy;

constexpr const char* kPassword = "correct horse battery staple";

// Sign-up, login and settings wired to in-memory fakes, a fixed clock and cheap argon2 params.
class FlowTest : public ::testing::Test {
 protected:
  FlowTest()
      : hasher_(random_, Argon2Params{8192, 1}),
        hash_pool_(2, 8),
        verifier_(hasher_, hash_pool_),
        kv_(clock_),
        account_throttle_(kv_, clock_, {3, 1s, 60s, 900s}),
        ip_throttle_(kv_, clock_, {10, 1s, 60s, 900s}),
        revocations_(kv_, 660s, clock_),
        sessions_(session_repo_, users_, uow_, minter_, revocations_, audit_, clock_, random_, {}),
        signup_(users_, uow_, nullptr, hasher_, policy_, hash_pool_, audit_, clock_, random_,
                {true, false}),
        login_(users_, verifier_, account_throttle_, ip_throttle_, sessions_, audit_, clock_),
        settings_(users_, verifier_, policy_, sessions_, audit_, clock_) {}

  Result<sessions::Tokens> login(const std::string& email, const std::string& password,
                                 const std::string& ip = "198.51.100.1") {
    auto r = login_.run({email, password, {ip, "test"}});
    if (!r) return r.error();
    if (!r->tokens) return Error::internal("a challenge instead of tokens");
    return std::move(*r->tokens);
  }
  std::string signup(const std::string& email) {
    auto r = signup_.run({email, kPassword, "Jane", {"198.51.100.1", "test"}, ""});
    EXPECT_TRUE(r);
    auto u = users_.find_by_email(email);
    return u && *u ? (*u)->id : "";
  }

  FakeClock clock_;
  SeededRandom random_;
  PasswordHasher hasher_;
  PasswordPolicy policy_;
  HashPool hash_pool_;
  PasswordVerifier verifier_;
  kv::MemoryKeyValue kv_;
  Throttle account_throttle_;
  Throttle ip_throttle_;
  testing::FakeUserRepository users_;
  testing::FakeSessionRepository session_repo_;
  testing::FakeUnitOfWork uow_;
  testing::FakeMinter minter_;
  testing::RecordingAudit audit_;
  sessions::RevocationList revocations_;
  sessions::SessionService sessions_;
  SignupFlow signup_;
  LoginFlow login_;
  SettingsFlow settings_;
};

TEST_F(FlowTest, SignupNormalisesAndLogsIn) {
  signup("  Jane@EXAMPLE.com ");
  auto t = login("Jane@example.com", kPassword);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(minter_.last.amr, std::vector<std::string>{"pwd"});
  EXPECT_TRUE(audit_.saw("login", "success"));
}

TEST_F(FlowTest, DuplicateSignupLooksTheSameAndChangesNothing) {
  const auto id = signup("jane@example.com");
  auto again = signup_.run({"jane@example.com", "another fine passphrase 42", "Evil", {}, ""});
  ASSERT_TRUE(again);
  EXPECT_EQ(users_.size(), 1u);
  auto u = users_.find_by_id(id);
  EXPECT_EQ((*u)->name, "Jane");
  EXPECT_TRUE(login("jane@example.com", kPassword));
  EXPECT_FALSE(login("jane@example.com", "another fine passphrase 42"));
}

TEST_F(FlowTest, SignupRejectsBadInputWithoutWriting) {
  EXPECT_EQ(signup_.run({"not-an-email", kPassword, "", {}, ""}).error().code,
            ErrorCode::kInvalidEmail);
  EXPECT_EQ(signup_.run({"jane@example.com", "short", "", {}, ""}).error().code,
            ErrorCode::kWeakPassword);
  EXPECT_EQ(signup_.run({"jane@example.com", "password1", "", {}, ""}).error().code,
            ErrorCode::kWeakPassword);
  EXPECT_EQ(users_.size(), 0u);
}

class CountingSender final : public VerificationSender {
 public:
  Status send_verification(const identity::User& user) override {
    sent_to.push_back(user.email);
    return {};
  }
  std::vector<std::string> sent_to;
};

TEST_F(FlowTest, RequireVerificationMakesPendingAccountsThatCannotLogIn) {
  CountingSender sender;
  SignupFlow pending(users_, uow_, &sender, hasher_, policy_, hash_pool_, audit_, clock_, random_,
                     {true, true});
  auto r = pending.run({"jane@example.com", kPassword, "", {}, ""});
  ASSERT_TRUE(r);
  EXPECT_EQ(sender.sent_to, std::vector<std::string>{"jane@example.com"});
  EXPECT_TRUE(r->verification_required);
  auto t = login("jane@example.com", kPassword);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kAccountPending);
  // A wrong password on a pending account says nothing about the account.
  EXPECT_EQ(login("jane@example.com", "wrong wrong wrong").error().code,
            ErrorCode::kInvalidCredentials);
}

TEST_F(FlowTest, UnknownUserAndWrongPasswordGiveTheSameAnswer) {
  signup("jane@example.com");
  auto unknown = login("nobody@example.com", kPassword);
  auto wrong = login("jane@example.com", "not the password");
  ASSERT_FALSE(unknown);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(unknown.error().message, wrong.error().message);
}

TEST_F(FlowTest, OverlongPasswordsAreRefusedBeforeHashing) {
  auto r = login("jane@example.com", std::string(129, 'a'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidField);
  EXPECT_TRUE(audit_.events.empty());  // never reached the user lookup
}

TEST_F(FlowTest, ThrottlesPerAccountWithBackoffEvenForTheRightPassword) {
  signup("jane@example.com");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login("jane@example.com", "wrong password x").error().code,
              ErrorCode::kInvalidCredentials);
  }
  // The 3rd failure (security.login_free_attempts = 3 here) locks for base_delay (1 s).
  auto locked = login("jane@example.com", kPassword);
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, ErrorCode::kRateLimited);
  ASSERT_TRUE(locked.error().retry_after);
  EXPECT_GE(*locked.error().retry_after, 1);
  EXPECT_EQ(audit_.count("login.throttled"), 1u);  // one lockout event for the one refused try
  clock_.advance(1s);
  EXPECT_TRUE(login("jane@example.com", kPassword));
  // Success resets the account's count.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(login("jane@example.com", "wrong password x").error().code,
              ErrorCode::kInvalidCredentials);
  }
}

TEST_F(FlowTest, ThrottlesPerIpAcrossAccounts) {
  for (int i = 0; i < 10; ++i) (void)login("user" + std::to_string(i) + "@example.com", "x y z w");
  (void)login("another@example.com", "x y z w");
  auto r = login("yet-another@example.com", "x y z w");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRateLimited);
  // Another IP is not affected.
  EXPECT_EQ(login("yet-another@example.com", "x y z w", "198.51.100.2").error().code,
            ErrorCode::kInvalidCredentials);
}

TEST_F(FlowTest, BcryptHashesAreAcceptedAndUpgradedToArgon2id) {
  identity::User u;
  u.id = "0190aaaa-0000-7000-8000-0000000000aa";
  u.email = "legacy@example.com";
  u.state = identity::AccountState::kActive;
  u.roles = {"user"};
  crypt_data data{};
  const char* bcrypt = crypt_r(kPassword, "$2b$04$abcdefghijklmnopqrstuu", &data);
  ASSERT_NE(bcrypt, nullptr);
  u.password_hash = bcrypt;
  ASSERT_EQ(u.password_hash.rfind("$2b$04$", 0), 0u);
  ASSERT_TRUE(users_.create(u));
  ASSERT_TRUE(login("legacy@example.com", kPassword));
  auto stored = users_.find_by_id(u.id);
  EXPECT_EQ((*stored)->password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(login("legacy@example.com", kPassword));
}

TEST_F(FlowTest, ChangedArgonParametersAreRehashedAtLogin) {
  PasswordHasher stronger(random_, Argon2Params{16384, 1});
  identity::User u;
  u.id = "0190aaaa-0000-7000-8000-0000000000bb";
  u.email = "old@example.com";
  u.state = identity::AccountState::kActive;
  u.password_hash = stronger.hash(kPassword);
  ASSERT_TRUE(users_.create(u));
  ASSERT_TRUE(login("old@example.com", kPassword));
  auto stored = users_.find_by_id(u.id);
  EXPECT_NE((*stored)->password_hash.find("m=8192"), std::string::npos);
}

TEST_F(FlowTest, ChangePasswordEndsOtherSessionsOnly) {
  const auto id = signup("jane@example.com");
  auto a = login("jane@example.com", kPassword);
  auto b = login("jane@example.com", kPassword);
  auto wrong =
      settings_.change_password(id, a->session_id, "nope nope nope", "brand new passphrase 7", {});
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(wrong.error().field, "current");
  auto weak = settings_.change_password(id, a->session_id, kPassword, "password", {});
  EXPECT_EQ(weak.error().code, ErrorCode::kWeakPassword);
  EXPECT_EQ(weak.error().field, "new");
  ASSERT_TRUE(
      settings_.change_password(id, a->session_id, kPassword, "brand new passphrase 7", {}));
  EXPECT_FALSE(revocations_.is_revoked(a->session_id));
  EXPECT_TRUE(revocations_.is_revoked(b->session_id));
  EXPECT_FALSE(login("jane@example.com", kPassword));
  EXPECT_TRUE(login("jane@example.com", "brand new passphrase 7"));
}

TEST_F(FlowTest, DeleteAccountNeedsThePassword) {
  const auto id = signup("jane@example.com");
  auto t = login("jane@example.com", kPassword);
  EXPECT_EQ(settings_.delete_account(id, "wrong wrong wrong", {}).error().code,
            ErrorCode::kInvalidCredentials);
  EXPECT_EQ(users_.size(), 1u);
  ASSERT_TRUE(settings_.delete_account(id, kPassword, {}));
  EXPECT_EQ(users_.size(), 0u);
  EXPECT_TRUE(revocations_.is_revoked(t->session_id));
  EXPECT_EQ(settings_.profile(id).error().code, ErrorCode::kSessionRevoked);
}

}  // namespace
}  // namespace latchkey::flows
