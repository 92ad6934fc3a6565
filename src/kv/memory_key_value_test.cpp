#include "kv/memory_key_value.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace latchkey::kv {
namespace {

using namespace std::chrono_literals;

class MemoryKeyValueTest : public ::testing::Test {
 protected:
  std::optional<std::string> get(std::string_view key) {
    auto r = kv_.get(key);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  std::optional<std::int64_t> ttl(std::string_view key) {
    auto r = kv_.ttl(key);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }

  FakeClock clock_;
  MemoryKeyValue kv_{clock_};
};

TEST_F(MemoryKeyValueTest, SetGetDel) {
  EXPECT_EQ(get("a"), std::nullopt);
  ASSERT_TRUE(kv_.set("a", "one", 60s).ok());
  ASSERT_TRUE(kv_.set("b", "", 60s).ok());
  EXPECT_EQ(get("a"), "one");
  EXPECT_EQ(get("b"), "");
  ASSERT_TRUE(kv_.set("a", "uno", 60s).ok());
  EXPECT_EQ(get("a"), "uno");
  EXPECT_EQ(kv_.size(), 2u);
  ASSERT_TRUE(kv_.del("a").ok());
  ASSERT_TRUE(kv_.del("never-there").ok());
  EXPECT_EQ(get("a"), std::nullopt);
  EXPECT_EQ(get("b"), "");
  EXPECT_EQ(kv_.size(), 1u);
}

TEST_F(MemoryKeyValueTest, KeysAreBytes) {
  const std::string with_nul("k\0x", 3);
  ASSERT_TRUE(kv_.set(with_nul, "1", 60s).ok());
  ASSERT_TRUE(kv_.set("k", "2", 60s).ok());
  EXPECT_EQ(get(with_nul), "1");
  EXPECT_EQ(get("k"), "2");
}

TEST_F(MemoryKeyValueTest, ExpiresAfterTtl) {
  ASSERT_TRUE(kv_.set("a", "v", 10s).ok());
  EXPECT_EQ(ttl("a"), 10);
  clock_.advance(500ms);
  EXPECT_EQ(ttl("a"), 10);  // 9.5 s left, rounded up
  clock_.advance(9s);
  EXPECT_EQ(get("a"), "v");
  EXPECT_EQ(ttl("a"), 1);
  clock_.advance(500ms);  // exactly at the expiry instant: gone
  EXPECT_EQ(get("a"), std::nullopt);
  EXPECT_EQ(ttl("a"), std::nullopt);
  EXPECT_EQ(ttl("missing"), std::nullopt);
  EXPECT_EQ(kv_.size(), 0u);  // the read dropped it
}

TEST_F(MemoryKeyValueTest, SetReplacesTheExpiry) {
  ASSERT_TRUE(kv_.set("a", "v", 10s).ok());
  clock_.advance(8s);
  ASSERT_TRUE(kv_.set("a", "w", 10s).ok());
  clock_.advance(8s);
  EXPECT_EQ(get("a"), "w");
  EXPECT_EQ(ttl("a"), 2);
}

TEST_F(MemoryKeyValueTest, IncrKeepsTheFirstExpiry) {
  auto r = kv_.incr("n", 1, 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
  clock_.advance(6s);
  r = kv_.incr("n", 2, 100s);  // the later ttl is ignored
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(ttl("n"), 4);
  EXPECT_EQ(get("n"), "3");
  clock_.advance(4s);
  EXPECT_EQ(get("n"), std::nullopt);
  r = kv_.incr("n", 5, 30s);  // a new key with a new expiry
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(ttl("n"), 30);
}

TEST_F(MemoryKeyValueTest, IncrOfAnExpiredEntryStartsAgain) {
  ASSERT_TRUE(kv_.incr("n", 7, 5s).ok());
  clock_.advance(5s);  // expired, not yet dropped
  EXPECT_EQ(kv_.size(), 1u);
  auto r = kv_.incr("n", 1, 5s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(ttl("n"), 5);
  EXPECT_EQ(kv_.size(), 1u);
}

TEST_F(MemoryKeyValueTest, IncrNegativeAndErrors) {
  ASSERT_TRUE(kv_.incr("n", -3, 10s).ok());
  EXPECT_EQ(get("n"), "-3");
  ASSERT_TRUE(kv_.set("s", "abc", 10s).ok());
  auto bad = kv_.incr("s", 1, 10s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  EXPECT_EQ(get("s"), "abc");
  ASSERT_TRUE(kv_.set("s", "12x", 10s).ok());
  EXPECT_FALSE(kv_.incr("s", 1, 10s).ok());

  ASSERT_TRUE(kv_.set("big", std::to_string(std::numeric_limits<std::int64_t>::max()), 10s).ok());
  auto overflow = kv_.incr("big", 1, 10s);
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error().code, ErrorCode::kInternal);
  EXPECT_EQ(get("big"), std::to_string(std::numeric_limits<std::int64_t>::max()));
}

TEST_F(MemoryKeyValueTest, NonPositiveTtlIsRefused) {
  EXPECT_FALSE(kv_.set("a", "v", 0s).ok());
  EXPECT_FALSE(kv_.set("a", "v", -1s).ok());
  EXPECT_FALSE(kv_.incr("a", 1, 0s).ok());
  EXPECT_EQ(get("a"), std::nullopt);
  EXPECT_EQ(kv_.size(), 0u);
}

TEST_F(MemoryKeyValueTest, SweepDropsOnlyExpiredEntries) {
  ASSERT_TRUE(kv_.set("short1", "v", 5s).ok());
  ASSERT_TRUE(kv_.set("short2", "v", 5s).ok());
  ASSERT_TRUE(kv_.incr("long", 1, 50s).ok());
  EXPECT_EQ(kv_.sweep(), 0u);
  clock_.advance(5s);
  EXPECT_EQ(kv_.size(), 3u);
  EXPECT_EQ(kv_.sweep(), 2u);
  EXPECT_EQ(kv_.size(), 1u);
  EXPECT_EQ(get("long"), "1");
}

TEST(MemoryKeyValueCap, RefusesNewKeysWhenFull) {
  FakeClock clock;
  MemoryKeyValue kv(clock, 3);
  ASSERT_TRUE(kv.set("a", "1", 60s).ok());
  ASSERT_TRUE(kv.set("b", "1", 60s).ok());
  ASSERT_TRUE(kv.incr("c", 1, 60s).ok());

  auto refused = kv.set("d", "1", 60s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(refused.error().retry_after, 1);
  auto refused_incr = kv.incr("d", 1, 60s);
  ASSERT_FALSE(refused_incr.ok());
  EXPECT_EQ(refused_incr.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(kv.size(), 3u);

  // Existing keys still update.
  EXPECT_TRUE(kv.set("a", "2", 60s).ok());
  auto c = kv.incr("c", 1, 60s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 2);

  ASSERT_TRUE(kv.del("a").ok());
  EXPECT_TRUE(kv.set("d", "1", 60s).ok());
}

TEST(MemoryKeyValueCap, SweepsExpiredEntriesWhenFull) {
  FakeClock clock;
  MemoryKeyValue kv(clock, 2);
  ASSERT_TRUE(kv.set("a", "1", 5s).ok());
  ASSERT_TRUE(kv.set("b", "1", 60s).ok());
  clock.advance(5s);  // "a" expired but still held
  ASSERT_EQ(kv.size(), 2u);
  ASSERT_TRUE(kv.set("c", "1", 60s).ok());  // the write swept "a" away
  EXPECT_EQ(kv.size(), 2u);
  auto b = kv.get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "1");
}

TEST(MemoryKeyValueCap, FullSweepsAreAtMostOncePerSecond) {
  FakeClock clock;  // starts on a whole second T
  MemoryKeyValue kv(clock, 2);
  clock.advance(500ms);
  ASSERT_TRUE(kv.set("a", "1", 10s).ok());  // expires at T+10.5
  ASSERT_TRUE(kv.set("b", "1", 10s).ok());
  clock.advance(9700ms);                     // T+10.2
  EXPECT_FALSE(kv.set("c", "1", 60s).ok());  // swept at second T+10: nothing expired
  clock.advance(400ms);                      // T+10.6: both expired, same second
  EXPECT_FALSE(kv.set("c", "1", 60s).ok());  // no second full scan within the second
  clock.advance(400ms);                      // T+11.0
  EXPECT_TRUE(kv.set("c", "1", 60s).ok());
  EXPECT_EQ(kv.size(), 1u);
}

TEST(MemoryKeyValueConcurrency, IncrIsAtomicAcrossThreads) {
  FakeClock clock;
  MemoryKeyValue kv(clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&kv, t] {
      for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(kv.incr("shared", 1, 60s).ok());
        ASSERT_TRUE(kv.set("k" + std::to_string(t) + ":" + std::to_string(i), "v", 60s).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto shared = kv.get("shared");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(*shared, "8000");
  EXPECT_EQ(kv.size(), 8001u);
  for (int t = 0; t < 8; ++t) {
    auto v = kv.get("k" + std::to_string(t) + ":999");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, "v");
  }
}

}  // namespace
}  // namespace latchkey::kv
