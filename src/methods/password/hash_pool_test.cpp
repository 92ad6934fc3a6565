#include "methods/password/hash_pool.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/eventually.hpp"
#include "testing/thread_exhaustion.hpp"

namespace latchkey::methods::password {
namespace {

using latchkey::testing::eventually;

// Holds every job that calls wait() until open() is called.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++arrived_;
    opened_cv_.wait(lock, [this] { return opened_; });
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      opened_ = true;
    }
    opened_cv_.notify_all();
  }
  int arrived() {
    std::lock_guard lock(mutex_);
    return arrived_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_cv_;
  bool opened_ = false;
  int arrived_ = 0;
};

TEST(HashPool, RunsTheWorkOnOneOfItsOwnThreadsAndReturnsItsValue) {
  HashPool pool(2, 4);
  EXPECT_EQ(pool.concurrency(), 2u);
  EXPECT_EQ(pool.max_waiting(), 4u);
  const auto caller = std::this_thread::get_id();
  Result<std::thread::id> ran_on = pool.run([] { return std::this_thread::get_id(); });
  ASSERT_TRUE(ran_on.ok());
  EXPECT_NE(*ran_on, caller);

  char name[16] = {};
  Result<int> named = pool.run([&name] { return pthread_getname_np(pthread_self(), name, 16); });
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, 0);
  EXPECT_STREQ(name, "latchkey-hash");

  Result<std::string> value = pool.run([&pool] { return std::to_string(pool.in_use()); });
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "1");  // counted while running
  EXPECT_EQ(pool.in_use(), 0u);

  bool ran = false;
  Status st = pool.run([&ran] { ran = true; });
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE(ran);
}

TEST(HashPool, AnExceptionFromTheWorkReachesTheCallerAndThePoolGoesOn) {
  HashPool pool(1, 0);
  EXPECT_THROW((void)pool.run([]() -> int { throw std::runtime_error("argon2 failed"); }),
               std::runtime_error);
  EXPECT_EQ(pool.in_use(), 0u);
  Result<int> after = pool.run([] { return 7; });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 7);
}

TEST(HashPool, NoWaitingAllowedTurnsCallersAwayWhileEveryThreadIsBusy) {
  HashPool pool(1, 0);
  Gate gate;
  std::thread busy([&] { EXPECT_TRUE(pool.run([&] { gate.wait(); }).ok()); });
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));
  EXPECT_EQ(pool.in_use(), 1u);

  bool ran = false;
  Status refused = pool.run([&ran] { ran = true; });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(refused.error().retry_after, 1);
  EXPECT_FALSE(ran);
  Result<int> refused_value = pool.run([] { return 1; });
  EXPECT_FALSE(refused_value.ok());

  gate.open();
  busy.join();
  EXPECT_TRUE(pool.run([] {}).ok());
}

TEST(HashPool, OverloadedWhenTheQueueIsFullAndTheQueuedCallRunsLater) {
  HashPool pool(1, 1);
  Gate gate;
  std::thread busy([&] { EXPECT_TRUE(pool.run([&] { gate.wait(); }).ok()); });
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));

  std::atomic<bool> queued_ran{false};
  std::thread queued([&] { EXPECT_TRUE(pool.run([&] { queued_ran = true; }).ok()); });
  ASSERT_TRUE(eventually([&] { return pool.waiting() == 1; }));
  EXPECT_FALSE(queued_ran);

  // One waiting already: the next caller is turned away rather than queued.
  Status refused = pool.run([] {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);

  gate.open();
  busy.join();
  queued.join();
  EXPECT_TRUE(queued_ran);
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(HashPool, NeverMoreThanItsThreadsAtOnceAndEveryAdmittedCallRuns) {
  constexpr std::size_t kThreads = 2;
  HashPool pool(kThreads, 64);
  std::atomic<int> running{0};
  std::atomic<int> max_seen{0};
  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Status st = pool.run([&] {
          const int now = ++running;
          int seen = max_seen.load();
          while (now > seen && !max_seen.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::yield();
          --running;
          ++done;
        });
        if (!st) ++failures;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures, 0);  // 8 callers never exceed 2 running + 64 waiting
  EXPECT_EQ(done, 8 * 50);
  EXPECT_EQ(max_seen, static_cast<int>(kThreads));
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.waiting(), 0u);
}

TEST(HashPool, DestroyingThePoolFinishesTheCallsAndPostedJobsAlreadyAdmitted) {
  std::atomic<int> finished{0};
  Gate gate;
  std::vector<std::thread> callers;
  std::thread opener;
  {
    HashPool pool(1, 4);
    for (int i = 0; i < 3; ++i) {
      callers.emplace_back([&] {
        EXPECT_TRUE(pool.run([&] {
                          gate.wait();
                          ++finished;
                        })
                        .ok());
      });
    }
    ASSERT_TRUE(eventually([&] { return gate.arrived() == 1 && pool.waiting() == 2; }));
    ASSERT_TRUE(pool.post([&] { ++finished; }));
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      gate.open();
    });
    // ~HashPool runs here, while two calls and a posted job are still queued and one call is
    // held at the gate.
  }
  EXPECT_EQ(finished, 4);
  opener.join();
  for (auto& t : callers) t.join();
}

TEST(HashPool, APostedJobRunsOnAHashingThreadAndItsRunCallsRunThereInline) {
  // One thread: a run() from the posted job that queued instead of running inline would wait for
  // the thread it is holding, for ever.
  HashPool pool(1, 0);
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread::id job_thread;
  std::thread::id run_thread;
  Result<int> value = 0;
  const auto caller = std::this_thread::get_id();
  ASSERT_TRUE(pool.post([&] {
    job_thread = std::this_thread::get_id();
    value = pool.run([&] {
      run_thread = std::this_thread::get_id();
      return static_cast<int>(pool.in_use());
    });
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_one();
  }));
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
  EXPECT_NE(job_thread, caller);
  EXPECT_EQ(run_thread, job_thread);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 1);  // the posted job holds the one thread; the inline run takes no other
  lock.unlock();
  ASSERT_TRUE(eventually([&] { return pool.in_use() == 0; }));
}

TEST(HashPool, PostedJobsShareTheAdmissionLimitWithRunCallers) {
  HashPool pool(1, 1);
  Gate gate;
  ASSERT_TRUE(pool.post([&] { gate.wait(); }));
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));
  EXPECT_EQ(pool.in_use(), 1u);

  std::atomic<bool> second_ran{false};
  ASSERT_TRUE(pool.post([&] { second_ran = true; }));  // the one waiting place
  EXPECT_EQ(pool.waiting(), 1u);
  // Full: a third post and a run() are both turned away, and neither runs.
  bool ran = false;
  EXPECT_FALSE(pool.post([&ran] { ran = true; }));
  Status refused = pool.run([&ran] { ran = true; });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);

  gate.open();
  ASSERT_TRUE(eventually([&] { return second_ran.load() && pool.in_use() == 0; }));
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_TRUE(pool.run([] {}).ok());
}

TEST(HashPool, ZeroThreadsIsAConfigError) {
  EXPECT_THROW(HashPool(0, 10), std::invalid_argument);
}

TEST(HashPool, AThreadThatCannotStartStopsTheOthersAndThrows) {
  if (!latchkey::testing::kCanCapAddressSpace) {
    GTEST_SKIP() << "sanitizers reserve more address space";
  }
  using latchkey::testing::run_with_thread_exhaustion;
  using latchkey::testing::ThreadExhaustion;
  EXPECT_EQ(run_with_thread_exhaustion([] { HashPool pool(256, 0); }), ThreadExhaustion::kThrew);
  EXPECT_EQ(run_with_thread_exhaustion([] { HashPool pool(1, 0); }), ThreadExhaustion::kReturned);
}

}  // namespace
}  // namespace latchkey::methods::password
