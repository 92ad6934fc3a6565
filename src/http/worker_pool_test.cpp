#include "http/worker_pool.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <string>
#include <system_error>

#include "testing/thread_exhaustion.hpp"

namespace latchkey::http {
namespace {

TEST(WorkerPool, RunsJobsOnThreadsNamedForTopAndPerf) {
  WorkerPool pool(2, 4);
  std::promise<std::string> name;
  ASSERT_TRUE(pool.submit([&name] {
    char buf[16] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    name.set_value(buf);
  }));
  EXPECT_EQ(name.get_future().get(), "latchkey-work");
}

TEST(WorkerPool, RefusesWhenTheQueueIsFullAndRunsEveryAdmittedJobBeforeStopping) {
  WorkerPool pool(1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.submit([&] {
    started.set_value();
    released.wait();
    ++ran;
  }));
  started.get_future().wait();               // the only thread is busy
  ASSERT_TRUE(pool.submit([&] { ++ran; }));  // the queue's one place
  EXPECT_EQ(pool.queued(), 1u);
  EXPECT_FALSE(pool.submit([&] { ++ran; }));  // refused: queue full
  release.set_value();
  pool.stop();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(pool.submit([&] { ++ran; }));  // stopped
}

TEST(WorkerPool, AThreadThatCannotStartStopsTheOthersAndThrows) {
  if (!testing::kCanCapAddressSpace) GTEST_SKIP() << "sanitizers reserve more address space";
  EXPECT_EQ(testing::run_with_thread_exhaustion([] { WorkerPool pool(256, 16); }),
            testing::ThreadExhaustion::kThrew);
  // The same pool with room for its threads starts (the child's cap is not the cause).
  EXPECT_EQ(testing::run_with_thread_exhaustion([] { WorkerPool pool(1, 16); }),
            testing::ThreadExhaustion::kReturned);
}

}  // namespace
}  // namespace latchkey::http
