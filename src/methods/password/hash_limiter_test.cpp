#include "methods/password/hash_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/eventually.hpp"

namespace latchkey::methods::password {
namespace {

// The limiter has no hooks, so tests poll its metrics.
using latchkey::testing::eventually;

TEST(HashLimiter, PermitsAreCountedAndReleased) {
  HashLimiter limiter(2, 4);
  EXPECT_EQ(limiter.in_use(), 0u);
  {
    auto a = limiter.acquire();
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->held());
    EXPECT_EQ(limiter.in_use(), 1u);
    auto b = limiter.acquire();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(limiter.in_use(), 2u);
    b->release();
    EXPECT_FALSE(b->held());
    EXPECT_EQ(limiter.in_use(), 1u);
    b->release();  // idempotent
    EXPECT_EQ(limiter.in_use(), 1u);
  }
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST(HashLimiter, NoWaitingAllowedFailsAtOnceWhenBusy) {
  HashLimiter limiter(1, 0);
  auto held = limiter.acquire();
  ASSERT_TRUE(held.ok());
  auto refused = limiter.acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(refused.error().retry_after, 1);
  held->release();
  EXPECT_TRUE(limiter.acquire().ok());
}

TEST(HashLimiter, OverloadedWhenTheQueueIsFull) {
  HashLimiter limiter(1, 1);
  auto held = limiter.acquire();
  ASSERT_TRUE(held.ok());

  std::atomic<bool> waiter_got_slot{false};
  std::thread waiter([&] {
    auto p = limiter.acquire();
    waiter_got_slot = p.ok();
  });
  ASSERT_TRUE(eventually([&] { return limiter.waiting() == 1; }));
  EXPECT_FALSE(waiter_got_slot);

  // One waiting already: the next caller is turned away rather than queued.
  auto refused = limiter.acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(refused.error().retry_after, 1);

  held->release();  // hands the slot to the waiter
  waiter.join();
  EXPECT_TRUE(waiter_got_slot);
  EXPECT_EQ(limiter.waiting(), 0u);
  EXPECT_EQ(limiter.in_use(), 0u);  // the waiter's permit went out of scope
}

TEST(HashLimiter, MovingAPermitMovesTheSlot) {
  HashLimiter limiter(2, 0);
  auto a = limiter.acquire();
  ASSERT_TRUE(a.ok());
  HashLimiter::Permit moved = std::move(*a);
  EXPECT_FALSE(a->held());
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(limiter.in_use(), 1u);

  auto b = limiter.acquire();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(limiter.in_use(), 2u);
  moved = std::move(*b);  // releases moved's old slot, takes b's
  EXPECT_EQ(limiter.in_use(), 1u);
  moved.release();
  EXPECT_EQ(limiter.in_use(), 0u);
}

TEST(HashLimiter, RunHoldsASlotWhileRunning) {
  HashLimiter limiter(1, 0);
  Result<std::string> r = limiter.run([&] { return std::to_string(limiter.in_use()); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "1");
  EXPECT_EQ(limiter.in_use(), 0u);

  bool ran = false;
  Status st = limiter.run([&] { ran = true; });
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE(ran);

  auto held = limiter.acquire();
  ran = false;
  Status refused = limiter.run([&] { ran = true; });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_FALSE(ran);
  Result<int> refused_value = limiter.run([] { return 1; });
  EXPECT_FALSE(refused_value.ok());
}

TEST(HashLimiter, NeverMoreThanConcurrencyAtOnce) {
  constexpr std::size_t kSlots = 2;
  HashLimiter limiter(kSlots, 64);
  std::atomic<int> running{0};
  std::atomic<int> max_seen{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto permit = limiter.acquire();
        if (!permit) {
          ++failures;
          continue;
        }
        const int now = ++running;
        int seen = max_seen.load();
        while (now > seen && !max_seen.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --running;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);  // 8 callers never exceed 64 waiting
  EXPECT_LE(max_seen, static_cast<int>(kSlots));
  EXPECT_GE(max_seen, 1);
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST(HashLimiter, ZeroConcurrencyIsAConfigError) {
  EXPECT_THROW(HashLimiter(0, 10), std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::methods::password
