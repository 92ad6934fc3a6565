#include "access.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace notes {
namespace {

using namespace std::chrono_literals;
using testing::FakeLatchkey;

TEST(BearerToken, AcceptsTheRfc6750Form) {
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER  a-b_c~d+e/f=="), "a-b_c~d+e/f==");
  EXPECT_EQ(bearer_token("Bearer abc "), "abc");
}

TEST(BearerToken, RefusesEverythingElse) {
  EXPECT_EQ(bearer_token(""), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token("Basic dXNlcjpwdw=="), "");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token("Bearer a b"), "");
  EXPECT_EQ(bearer_token("Bearer a=b"), "");
  EXPECT_EQ(bearer_token("Bearer =abc"), "");
  EXPECT_EQ(bearer_token("Bearer a\"b"), "");
  EXPECT_EQ(bearer_token("Bearer\tabc"), "");
}

class RevocationCheckerTest : public ::testing::Test {
 protected:
  latchkey::FakeClock clock_{1'700'000'000};
  int calls_ = 0;
  CheckVerdict answer_ = CheckVerdict::kActive;
  CheckFn fn_ = [this](std::string_view) {
    ++calls_;
    return answer_;
  };
  std::int64_t exp_in(std::int64_t s) const { return latchkey::to_unix(clock_.now()) + s; }
};

TEST_F(RevocationCheckerTest, ActiveIsReusedForTheTtlOnly) {
  RevocationChecker checker(fn_, clock_, {.ttl = 1000ms, .max_entries = 100});
  EXPECT_EQ(checker.check("t1", exp_in(600)), CheckVerdict::kActive);
  clock_.advance(999ms);
  EXPECT_EQ(checker.check("t1", exp_in(600)), CheckVerdict::kActive);
  EXPECT_EQ(calls_, 1);
  // Logged out meanwhile: the next look after the ttl sees it.
  answer_ = CheckVerdict::kRevoked;
  clock_.advance(1ms);
  EXPECT_EQ(checker.check("t1", exp_in(600)), CheckVerdict::kRevoked);
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(checker.check("t2", exp_in(600)), CheckVerdict::kRevoked);  // per token
  EXPECT_EQ(calls_, 3);
}

TEST_F(RevocationCheckerTest, RefusalsAreFinalAndRememberedUntilExp) {
  RevocationChecker checker(fn_, clock_, {.ttl = 1000ms, .max_entries = 100});
  answer_ = CheckVerdict::kRevoked;
  const std::int64_t exp = exp_in(60);
  EXPECT_EQ(checker.check("t", exp), CheckVerdict::kRevoked);
  answer_ = CheckVerdict::kActive;  // cannot happen for a revoked session; proves the cache
  clock_.advance(59s);
  EXPECT_EQ(checker.check("t", exp), CheckVerdict::kRevoked);
  EXPECT_EQ(calls_, 1);
  clock_.advance(1s);
  EXPECT_EQ(checker.check("t", exp), CheckVerdict::kActive);
  EXPECT_EQ(calls_, 2);
}

TEST_F(RevocationCheckerTest, UnavailableIsNeverCached) {
  RevocationChecker checker(fn_, clock_, {.ttl = 1000ms, .max_entries = 100});
  answer_ = CheckVerdict::kUnavailable;
  EXPECT_EQ(checker.check("t", exp_in(600)), CheckVerdict::kUnavailable);
  EXPECT_EQ(checker.check("t", exp_in(600)), CheckVerdict::kUnavailable);
  answer_ = CheckVerdict::kActive;
  EXPECT_EQ(checker.check("t", exp_in(600)), CheckVerdict::kActive);
  EXPECT_EQ(calls_, 3);
  EXPECT_EQ(checker.cached(), 1u);
}

TEST_F(RevocationCheckerTest, ZeroTtlAsksEveryTime) {
  RevocationChecker checker(fn_, clock_, {.ttl = 0ms, .max_entries = 100});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(checker.check("t", exp_in(600)), CheckVerdict::kActive);
  EXPECT_EQ(calls_, 3);
  EXPECT_EQ(checker.cached(), 0u);
}

TEST_F(RevocationCheckerTest, TheCacheIsBounded) {
  RevocationChecker checker(fn_, clock_, {.ttl = 1000ms, .max_entries = 10});
  for (int i = 0; i < 25; ++i) checker.check("t" + std::to_string(i), exp_in(600));
  EXPECT_LE(checker.cached(), 10u);
  clock_.advance(2s);  // all expired: the next insert sweeps them
  for (int i = 0; i < 10; ++i) checker.check("u" + std::to_string(i), exp_in(600));
  EXPECT_EQ(checker.cached(), 10u);
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  latchkey::FakeClock clock_{1'700'000'000};
  FakeLatchkey latchkey_{clock_};
  latchkey::tokens::JwksCache keys_{latchkey_.jwks(), clock_, {}};
  RevocationChecker revocations_{latchkey_.check(), clock_, {}};
  Authenticator auth_{keys_,
                      &revocations_,
                      {.issuer = testing::kIssuer, .audience = testing::kAudience, .leeway = 30s}};

  Problem refusal(std::string_view header) {
    auto out = auth_.authenticate(header);
    const auto* e = std::get_if<ApiError>(&out);
    if (e == nullptr) {
      ADD_FAILURE() << "accepted " << header;
      return Problem::kInternal;
    }
    return e->problem;
  }
};

TEST_F(AuthenticatorTest, AValidActiveTokenNamesTheCaller) {
  auto out = auth_.authenticate("Bearer " + latchkey_.mint("alice", {"user", "admin"}));
  ASSERT_TRUE(std::holds_alternative<Caller>(out));
  const auto& caller = std::get<Caller>(out);
  EXPECT_EQ(caller.sub, "alice");
  EXPECT_EQ(caller.roles, (std::vector<std::string>{"user", "admin"}));
  EXPECT_EQ(latchkey_.check_calls, 1);
}

TEST_F(AuthenticatorTest, RefusesMissingMalformedForgedAndExpiredTokens) {
  EXPECT_EQ(refusal(""), Problem::kUnauthenticated);
  EXPECT_EQ(refusal("Basic dXNlcjpwdw=="), Problem::kInvalidToken);
  EXPECT_EQ(refusal("Bearer not-a-jwt"), Problem::kInvalidToken);
  EXPECT_EQ(refusal("Bearer " + latchkey_.mint("alice", {}, 600, "other-api")),
            Problem::kInvalidToken);
  std::string tampered = latchkey_.mint("alice");
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(refusal("Bearer " + tampered), Problem::kInvalidToken);
  const std::string short_lived = latchkey_.mint("alice", {}, 60);
  clock_.advance(91s);  // exp + leeway
  EXPECT_EQ(refusal("Bearer " + short_lived), Problem::kTokenExpired);
  EXPECT_EQ(latchkey_.check_calls, 0);  // local failures never reach Latchkey
}

TEST_F(AuthenticatorTest, MapsLatchkeysVerdicts) {
  const std::string revoked = latchkey_.mint("alice");
  const std::string expired = latchkey_.mint("bob");
  const std::string retired = latchkey_.mint("carol");
  latchkey_.set_verdict(revoked, CheckVerdict::kRevoked);
  latchkey_.set_verdict(expired, CheckVerdict::kExpired);
  latchkey_.set_verdict(retired, CheckVerdict::kInvalid);
  EXPECT_EQ(refusal("Bearer " + revoked), Problem::kTokenRevoked);
  EXPECT_EQ(refusal("Bearer " + expired), Problem::kTokenExpired);
  EXPECT_EQ(refusal("Bearer " + retired), Problem::kInvalidToken);
}

TEST_F(AuthenticatorTest, FailsClosedWhenLatchkeyCannotAnswer) {
  const std::string token = latchkey_.mint("alice");
  ASSERT_TRUE(keys_.refresh());
  latchkey_.down = true;
  EXPECT_EQ(refusal("Bearer " + token), Problem::kUnavailable);
}

TEST_F(AuthenticatorTest, NoKeysAtAllIsUnavailableNotInvalid) {
  latchkey_.down = true;
  EXPECT_EQ(refusal("Bearer " + latchkey_.mint("alice")), Problem::kUnavailable);
  latchkey_.down = false;
  clock_.advance(30s);  // the JWKS rate limit
  EXPECT_TRUE(std::holds_alternative<Caller>(auth_.authenticate("Bearer " + latchkey_.mint("a"))));
}

TEST_F(AuthenticatorTest, WithoutRevocationCheckTokensAreTrustedUntilExp) {
  Authenticator ttl_only(
      keys_, nullptr, {.issuer = testing::kIssuer, .audience = testing::kAudience, .leeway = 30s});
  const std::string token = latchkey_.mint("alice");
  latchkey_.set_verdict(token, CheckVerdict::kRevoked);
  EXPECT_TRUE(std::holds_alternative<Caller>(ttl_only.authenticate("Bearer " + token)));
  EXPECT_EQ(latchkey_.check_calls, 0);
}

}  // namespace
}  // namespace notes
