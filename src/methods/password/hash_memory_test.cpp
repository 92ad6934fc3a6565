#include "methods/password/hash_memory.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "common/random.hpp"
#include "methods/password/hash_pool.hpp"
#include "methods/password/hasher.hpp"
#include "testing/eventually.hpp"

namespace latchkey::methods::password {
namespace {

using latchkey::testing::eventually;

// Small parameters keep the tests fast; the region is still well over kMinKeptBytes.
constexpr Argon2Params kParams{4096, 1};  // 4 MiB
constexpr std::size_t kRegionBytes = 4096 * 1024;

bool is_mapped(const void* p) {
  unsigned char vec = 0;
  const long page = sysconf(_SC_PAGESIZE);
  void* aligned = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) &
                                          ~static_cast<std::uintptr_t>(page - 1));
  return mincore(aligned, static_cast<std::size_t>(page), &vec) == 0;
}

bool all_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

class HashMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kKeepsHashMemory) GTEST_SKIP() << "sanitizer build: mappings go to the kernel";
  }
  OsRandom random_;
  PasswordHasher hasher_{random_, kParams};
};

TEST_F(HashMemoryTest, AScopeKeepsOneRegionAcrossHashesAndZeroesItAfterEach) {
  const std::string stored = hasher_.hash("correct horse battery staple");
  const HashMemoryStats before = thread_hash_memory_stats();
  {
    HashMemoryScope scope;
    EXPECT_EQ(hasher_.verify("correct horse battery staple", stored),
              PasswordHasher::Verdict::kMatch);
    const HashMemoryStats first = thread_hash_memory_stats();
    ASSERT_NE(first.region, nullptr);
    EXPECT_EQ(first.bytes, kRegionBytes);
    EXPECT_EQ(first.fresh, before.fresh + 1);
    EXPECT_TRUE(all_zero(first.region, first.bytes));  // nothing of the hash is left

    EXPECT_EQ(hasher_.verify("wrong horse battery staple", stored),
              PasswordHasher::Verdict::kMismatch);
    const std::string again = hasher_.hash("another password entirely");
    EXPECT_EQ(hasher_.verify("another password entirely", again), PasswordHasher::Verdict::kMatch);
    const HashMemoryStats after = thread_hash_memory_stats();
    EXPECT_EQ(after.region, first.region);
    EXPECT_EQ(after.fresh, first.fresh);
    EXPECT_EQ(after.reused, first.reused + 3);
    EXPECT_TRUE(all_zero(after.region, after.bytes));
    EXPECT_TRUE(is_mapped(after.region));
  }
  // The scope's end gives the region back to the system.
  const HashMemoryStats done = thread_hash_memory_stats();
  EXPECT_EQ(done.region, nullptr);
  EXPECT_EQ(done.bytes, 0u);
}

TEST_F(HashMemoryTest, OutsideAScopeEveryHashMapsItsOwnMemory) {
  const HashMemoryStats before = thread_hash_memory_stats();
  const std::string stored = hasher_.hash("correct horse battery staple");
  EXPECT_EQ(hasher_.verify("correct horse battery staple", stored),
            PasswordHasher::Verdict::kMatch);
  const HashMemoryStats after = thread_hash_memory_stats();
  EXPECT_EQ(after.region, nullptr);
  EXPECT_EQ(after.fresh, before.fresh);
  EXPECT_EQ(after.reused, before.reused);
}

TEST_F(HashMemoryTest, OtherMappingsInAScopeGoToTheKernel) {
  HashMemoryScope scope;
  const std::string stored = hasher_.hash("correct horse battery staple");  // keeps a region
  const HashMemoryStats kept = thread_hash_memory_stats();
  ASSERT_NE(kept.region, nullptr);

  // Too small, shared, not writable, or at a fixed place: none of these is argon2's region.
  void* small =
      mmap(nullptr, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* shared =
      mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  void* readonly = mmap(nullptr, kRegionBytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (void* p : {small, shared, readonly}) {
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_NE(p, kept.region);
  }
  // A second big private mapping while the region is lent is the kernel's too.
  void* lent =
      mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_EQ(lent, kept.region);
  void* second =
      mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(second, MAP_FAILED);
  EXPECT_NE(second, kept.region);
  std::memset(second, 0xA5, kRegionBytes);
  EXPECT_EQ(munmap(second, kRegionBytes), 0);
  EXPECT_FALSE(is_mapped(second));
  std::memset(lent, 0x5A, kRegionBytes);
  EXPECT_EQ(munmap(lent, kRegionBytes), 0);  // back to the kept region, zeroed
  EXPECT_TRUE(is_mapped(lent));
  EXPECT_TRUE(all_zero(lent, kRegionBytes));

  for (void* p : {small, shared}) EXPECT_EQ(munmap(p, p == small ? 64 * 1024 : kRegionBytes), 0);
  EXPECT_EQ(munmap(readonly, kRegionBytes), 0);
  EXPECT_FALSE(is_mapped(small));
  EXPECT_FALSE(is_mapped(shared));
  EXPECT_FALSE(is_mapped(readonly));
  // A failing request fails as the kernel says.
  errno = 0;
  EXPECT_EQ(mmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(HashMemoryTest, OtherParametersReplaceTheRegionAndReleaseUnmapsIt) {
  HashMemoryScope scope;
  (void)hasher_.hash("correct horse battery staple");
  const HashMemoryStats small = thread_hash_memory_stats();
  ASSERT_EQ(small.bytes, kRegionBytes);

  PasswordHasher bigger(random_, Argon2Params{8192, 1});
  (void)bigger.hash("correct horse battery staple");
  const HashMemoryStats big = thread_hash_memory_stats();
  EXPECT_EQ(big.bytes, 8192u * 1024);
  EXPECT_EQ(big.fresh, small.fresh + 1);

  const void* region = big.region;
  release_thread_hash_memory();
  EXPECT_EQ(thread_hash_memory_stats().region, nullptr);
  EXPECT_FALSE(is_mapped(region));
  (void)hasher_.hash("correct horse battery staple");  // the scope is still open: a new one
  EXPECT_NE(thread_hash_memory_stats().region, nullptr);
}

TEST_F(HashMemoryTest, AThreadsRegionIsItsOwnAndGoesWithItsScope) {
  const void* theirs = nullptr;
  std::thread other([&] {
    HashMemoryScope scope;
    (void)hasher_.hash("correct horse battery staple");
    theirs = thread_hash_memory_stats().region;
  });
  other.join();
  ASSERT_NE(theirs, nullptr);
  EXPECT_FALSE(is_mapped(theirs));
  EXPECT_EQ(thread_hash_memory_stats().region, nullptr);  // nothing kept on this thread
}

TEST_F(HashMemoryTest, HashPoolThreadsKeepTheirMemoryWhileBusyAndReturnItWhenIdle) {
  HashPool pool(1, 4, std::chrono::milliseconds(100));
  const std::string stored = hasher_.hash("correct horse battery staple");
  Result<HashMemoryStats> first = pool.run([&] {
    (void)hasher_.verify("correct horse battery staple", stored);
    return thread_hash_memory_stats();
  });
  Result<HashMemoryStats> second = pool.run([&] {
    (void)hasher_.verify("correct horse battery staple", stored);
    return thread_hash_memory_stats();
  });
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  ASSERT_NE(first->region, nullptr);
  EXPECT_EQ(second->region, first->region);
  EXPECT_EQ(second->reused, first->reused + 1);
  EXPECT_TRUE(eventually([&] { return !is_mapped(first->region); }));
}

}  // namespace
}  // namespace latchkey::methods::password
