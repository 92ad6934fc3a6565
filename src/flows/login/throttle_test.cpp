#include "flows/login/throttle.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "kv/memory_key_value.hpp"

namespace latchkey::flows {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kAcct = "login:acct:alice@example.com";
constexpr std::string_view kIp = "login:ip:203.0.113.7";

class ThrottleTest : public ::testing::Test {
 protected:
  std::optional<int> blocked(std::string_view key) {
    auto r = throttle_.blocked_for(key);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  void fail(std::string_view key, int times = 1) {
    for (int i = 0; i < times; ++i) ASSERT_TRUE(throttle_.record_failure(key).ok());
  }

  FakeClock clock_;
  kv::MemoryKeyValue kv_{clock_};
  Throttle throttle_{kv_, clock_, ThrottleOptions{}};  // 5 free, 1 s doubling to 900 s, 900 s
};

TEST_F(ThrottleTest, FreeAttemptsDoNotLock) {
  EXPECT_EQ(blocked(kAcct), std::nullopt);
  fail(kAcct, 4);
  EXPECT_EQ(blocked(kAcct), std::nullopt);
  fail(kAcct);  // the 5th: the next attempt must wait
  EXPECT_EQ(blocked(kAcct), 1);
  clock_.advance(1s);
  EXPECT_EQ(blocked(kAcct), std::nullopt);
}

TEST_F(ThrottleTest, EachFurtherFailureDoublesTheLock) {
  fail(kAcct, 4);
  for (int expected : {1, 2, 4, 8, 16, 32}) {
    fail(kAcct);
    EXPECT_EQ(blocked(kAcct), expected);
    clock_.advance(std::chrono::seconds(expected));  // wait it out, as a client must
    EXPECT_EQ(blocked(kAcct), std::nullopt);
  }
}

TEST_F(ThrottleTest, DelayScheduleAndCap) {
  EXPECT_EQ(throttle_.delay_after(0), 0s);
  EXPECT_EQ(throttle_.delay_after(4), 0s);
  EXPECT_EQ(throttle_.delay_after(5), 1s);
  EXPECT_EQ(throttle_.delay_after(6), 2s);
  EXPECT_EQ(throttle_.delay_after(14), 512s);
  EXPECT_EQ(throttle_.delay_after(15), 900s);  // 1024 capped
  EXPECT_EQ(throttle_.delay_after(1000), 900s);
  EXPECT_EQ(throttle_.delay_after(std::numeric_limits<std::int64_t>::max()), 900s);

  Throttle scaled(kv_, clock_, ThrottleOptions{2, 3s, 20s, 60s});
  EXPECT_EQ(scaled.delay_after(1), 0s);
  EXPECT_EQ(scaled.delay_after(2), 3s);
  EXPECT_EQ(scaled.delay_after(3), 6s);
  EXPECT_EQ(scaled.delay_after(4), 12s);
  EXPECT_EQ(scaled.delay_after(5), 20s);
}

TEST_F(ThrottleTest, LockIsCappedAtMaxDelay) {
  Throttle t(kv_, clock_, ThrottleOptions{1, 1s, 10s, 900s});
  for (int expected : {1, 2, 4, 8, 10, 10}) {
    ASSERT_TRUE(t.record_failure(kIp).ok());
    auto b = t.blocked_for(kIp);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, expected);
  }
}

TEST_F(ThrottleTest, BlockedForRoundsUp) {
  fail(kAcct, 6);  // locked for 2 s
  clock_.advance(500ms);
  EXPECT_EQ(blocked(kAcct), 2);
  clock_.advance(1s);
  EXPECT_EQ(blocked(kAcct), 1);
  clock_.advance(500ms);
  EXPECT_EQ(blocked(kAcct), std::nullopt);
}

TEST_F(ThrottleTest, CountIsForgottenAWindowAfterTheFirstFailure) {
  fail(kAcct);  // t = 0 starts the window
  clock_.advance(800s);
  fail(kAcct, 3);        // 4 failures, all within the window
  clock_.advance(100s);  // t = 900: the window has ended
  fail(kAcct);           // first failure of a new window
  EXPECT_EQ(blocked(kAcct), std::nullopt);
  fail(kAcct, 3);
  EXPECT_EQ(blocked(kAcct), std::nullopt);
  fail(kAcct);  // 5th in this window
  EXPECT_EQ(blocked(kAcct), 1);
}

TEST_F(ThrottleTest, ResetForgetsFailuresAndLock) {
  fail(kAcct, 8);
  ASSERT_TRUE(blocked(kAcct).has_value());
  ASSERT_TRUE(throttle_.reset(kAcct).ok());
  EXPECT_EQ(blocked(kAcct), std::nullopt);
  fail(kAcct, 4);
  EXPECT_EQ(blocked(kAcct), std::nullopt);
  ASSERT_TRUE(throttle_.reset("login:acct:never-failed@example.com").ok());
}

TEST_F(ThrottleTest, KeysAreIndependent) {
  fail(kAcct, 5);
  EXPECT_EQ(blocked(kAcct), 1);
  EXPECT_EQ(blocked(kIp), std::nullopt);
  EXPECT_EQ(blocked("login:acct:alice@example.co"), std::nullopt);
  ASSERT_TRUE(throttle_.reset(kIp).ok());
  EXPECT_EQ(blocked(kAcct), 1);
}

TEST_F(ThrottleTest, UnreadableLockValueFallsBackOnTheStoreExpiry) {
  ASSERT_TRUE(kv_.set("throttle:" + std::string(kAcct) + ":lock", "garbage", 30s).ok());
  EXPECT_EQ(blocked(kAcct), 30);
  clock_.advance(30s);
  EXPECT_EQ(blocked(kAcct), std::nullopt);
}

// A store that is full or down.
class BrokenKeyValue final : public kv::KeyValue {
 public:
  Result<std::int64_t> incr(std::string_view, std::int64_t, std::chrono::seconds) override {
    return down();
  }
  Result<std::optional<std::string>> get(std::string_view) override { return down(); }
  Status set(std::string_view, std::string_view, std::chrono::seconds) override { return down(); }
  Status del(std::string_view) override { return down(); }
  Result<std::optional<std::int64_t>> ttl(std::string_view) override { return down(); }

 private:
  static Error down() { return Error::make(ErrorCode::kUnavailable, "kv down"); }
};

TEST(ThrottleErrors, StoreErrorsAreReturned) {
  FakeClock clock;
  BrokenKeyValue kv;
  Throttle t(kv, clock, {});
  auto b = t.blocked_for(kAcct);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(t.record_failure(kAcct).ok());
  EXPECT_FALSE(t.reset(kAcct).ok());
}

TEST(ThrottleErrors, BadOptionsThrow) {
  FakeClock clock;
  kv::MemoryKeyValue kv(clock);
  EXPECT_THROW(Throttle(kv, clock, ThrottleOptions{0, 1s, 900s, 900s}), std::invalid_argument);
  EXPECT_THROW(Throttle(kv, clock, ThrottleOptions{5, 0s, 900s, 900s}), std::invalid_argument);
  EXPECT_THROW(Throttle(kv, clock, ThrottleOptions{5, 10s, 5s, 900s}), std::invalid_argument);
  EXPECT_THROW(Throttle(kv, clock, ThrottleOptions{5, 1s, 900s, 0s}), std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::flows
