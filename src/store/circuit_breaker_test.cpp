#include "store/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace latchkey::store {
namespace {

using std::chrono::milliseconds;
using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreaker::Clock::time_point t0 =
      CircuitBreaker::Clock::time_point{} + std::chrono::hours(1);
  CircuitBreaker breaker{{.threshold = 3, .cooldown = milliseconds(2500)}};

  void fail(int times, CircuitBreaker::Clock::time_point at) {
    for (int i = 0; i < times; ++i) breaker.failure(at);
  }
};

TEST_F(CircuitBreakerTest, ClosedAdmitsEveryOperation) {
  for (int i = 0; i < 100; ++i) {
    auto pass = breaker.admit(t0);
    EXPECT_TRUE(pass.allowed);
    EXPECT_FALSE(pass.trial);
  }
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.openings(), 0u);
}

TEST_F(CircuitBreakerTest, OpensAfterThresholdFailuresInARow) {
  EXPECT_FALSE(breaker.failure(t0));
  EXPECT_FALSE(breaker.failure(t0));
  EXPECT_TRUE(breaker.admit(t0).allowed);  // two failures: still closed
  EXPECT_TRUE(breaker.failure(t0));        // the third opens it, and says so
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.openings(), 1u);

  auto pass = breaker.admit(t0 + milliseconds(100));
  EXPECT_FALSE(pass.allowed);
  EXPECT_EQ(pass.retry_after, 3);  // 2.4 s left, rounded up
  pass = breaker.admit(t0 + milliseconds(2400));
  EXPECT_FALSE(pass.allowed);
  EXPECT_EQ(pass.retry_after, 1);  // never 0
}

TEST_F(CircuitBreakerTest, ASuccessInBetweenStartsTheCountAgain) {
  fail(2, t0);
  EXPECT_FALSE(breaker.success());  // it was closed: nothing to report
  fail(2, t0);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.admit(t0).allowed);
  breaker.failure(t0);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, FailuresWhileOpenDoNotExtendTheCooldown) {
  fail(3, t0);
  fail(5, t0 + milliseconds(2000));  // operations admitted before it opened, failing late
  EXPECT_FALSE(breaker.admit(t0 + milliseconds(2499)).allowed);
  EXPECT_TRUE(breaker.admit(t0 + milliseconds(2500)).allowed);
  EXPECT_EQ(breaker.openings(), 1u);
}

TEST_F(CircuitBreakerTest, AfterTheCooldownOneTrialGoesThroughAndOthersWait) {
  fail(3, t0);
  const auto later = t0 + milliseconds(3000);
  auto trial = breaker.admit(later);
  EXPECT_TRUE(trial.allowed);
  EXPECT_TRUE(trial.trial);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  for (int i = 0; i < 10; ++i) {
    auto other = breaker.admit(later + milliseconds(i * 1000));
    EXPECT_FALSE(other.allowed);
    EXPECT_EQ(other.retry_after, 1);
  }
}

TEST_F(CircuitBreakerTest, ATrialThatSucceedsClosesIt) {
  fail(3, t0);
  ASSERT_TRUE(breaker.admit(t0 + milliseconds(2500)).trial);
  EXPECT_TRUE(breaker.success());  // reported: it closed
  EXPECT_EQ(breaker.state(), State::kClosed);
  auto pass = breaker.admit(t0 + milliseconds(2501));
  EXPECT_TRUE(pass.allowed);
  EXPECT_FALSE(pass.trial);
  // And the count starts from zero again.
  fail(2, t0 + milliseconds(2600));
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, ATrialThatFailsOpensItForAnotherCooldown) {
  fail(3, t0);
  const auto trial_at = t0 + milliseconds(2500);
  ASSERT_TRUE(breaker.admit(trial_at).trial);
  EXPECT_FALSE(breaker.failure(trial_at + milliseconds(6000)));  // re-opening is not news
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.openings(), 2u);
  EXPECT_FALSE(breaker.admit(trial_at + milliseconds(8499)).allowed);
  EXPECT_TRUE(breaker.admit(trial_at + milliseconds(8500)).trial);
}

TEST_F(CircuitBreakerTest, AnAbandonedTrialOpensItAgainRatherThanBlockingForever) {
  fail(3, t0);
  ASSERT_TRUE(breaker.admit(t0 + milliseconds(2500)).trial);
  breaker.abandon_trial(t0 + milliseconds(7500));
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_TRUE(breaker.admit(t0 + milliseconds(10000)).trial);
}

TEST_F(CircuitBreakerTest, ASuccessWhileOpenClosesIt) {
  // An operation admitted before the circuit opened was answered after all: the database is
  // back, no need to wait for the trial.
  fail(3, t0);
  EXPECT_TRUE(breaker.success());
  EXPECT_TRUE(breaker.admit(t0 + milliseconds(1)).allowed);
}

TEST(CircuitBreaker, ThresholdZeroNeverOpens) {
  CircuitBreaker off({.threshold = 0, .cooldown = milliseconds(1000)});
  const auto now = CircuitBreaker::Clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(off.failure(now));
  EXPECT_TRUE(off.admit(now).allowed);
  EXPECT_EQ(off.state(), State::kClosed);
}

TEST(CircuitBreaker, ConcurrentFailuresOpenItOnceAndAdmitOneTrial) {
  CircuitBreaker breaker({.threshold = 50, .cooldown = milliseconds(1000)});
  const auto now = CircuitBreaker::Clock::now();
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (breaker.failure(now)) ++opened;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(breaker.openings(), 1u);

  std::atomic<int> trials{0};
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (breaker.admit(now + milliseconds(1000)).trial) ++trials;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(trials.load(), 1);
}

}  // namespace
}  // namespace latchkey::store
