#include "kv/redis_key_value.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.hpp"
#include "common/random.hpp"

// The Redis tests run against a real server when LATCHKEY_TEST_REDIS_URL is set (scripts/test
// starts one on loopback with scripts/lib/redis.sh); URL parsing and outage behaviour need none.

namespace latchkey::kv {
namespace {

using namespace std::chrono_literals;

TEST(RedisUrlTest, ParsesHostPortDbAndCredentials) {
  auto ep = parse_redis_url("redis://127.0.0.1:6390/3");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 6390);
  EXPECT_EQ(ep->db, 3);
  EXPECT_EQ(ep->password, "");

  ep = parse_redis_url("redis://:s%40cret@cache.internal");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "cache.internal");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->user, "");
  EXPECT_EQ(ep->password, "s@cret");
  EXPECT_EQ(ep->db, 0);

  ep = parse_redis_url("redis://app:pw@[::1]:7000/");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 7000);
  EXPECT_EQ(ep->user, "app");
  EXPECT_EQ(ep->password, "pw");
}

TEST(RedisUrlTest, RejectsMalformedUrlsWithoutEchoingThePassword) {
  for (const char* bad : {"http://127.0.0.1", "redis://", "redis://:pw@", "redis://h:0",
                          "redis://h:70000", "redis://h:port", "redis://h/db", "redis://h/-1",
                          "redis://[::1", "redis://user@h", "redis://:p%zzw@h"}) {
    auto ep = parse_redis_url(bad);
    ASSERT_FALSE(ep.ok()) << bad;
    EXPECT_EQ(ep.error().code, ErrorCode::kInvalidRequest) << bad;
  }
  auto ep = parse_redis_url("redis://:topsecret@h:bad");
  ASSERT_FALSE(ep.ok());
  EXPECT_EQ(ep.error().message.find("topsecret"), std::string::npos);
}

TEST(RedisOutageTest, UnreachableServerFailsFastWithUnavailable) {
  // Port 1 on loopback: nothing listens there, so connect is refused at once.
  auto kv = RedisKeyValue::open({"redis://127.0.0.1:1", 2, 200ms, 200ms});
  ASSERT_TRUE(kv.ok());
  auto n = (*kv)->incr("k", 1, 60s);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kUnavailable);
  // Within the reconnect back-off, calls fail without another connect attempt.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    auto g = (*kv)->get("k");
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, ErrorCode::kUnavailable);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ((*kv)->ping().error().code, ErrorCode::kUnavailable);
}

class RedisKeyValueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("LATCHKEY_TEST_REDIS_URL");
    if (url == nullptr || *url == '\0') GTEST_SKIP() << "LATCHKEY_TEST_REDIS_URL not set";
    url_ = url;
    auto kv = RedisKeyValue::open({url_, 4, 500ms, 1000ms});
    ASSERT_TRUE(kv.ok());
    kv_ = std::move(*kv);
    ASSERT_TRUE(kv_->ping().ok());
    // Keys of this run never collide with another run's.
    OsRandom random;
    prefix_ = "test:" + random.token(8) + ":";
  }
  std::string key(std::string_view name) const { return prefix_ + std::string(name); }

  std::string url_;
  std::string prefix_;
  std::unique_ptr<RedisKeyValue> kv_;
};

TEST_F(RedisKeyValueTest, SetGetDel) {
  EXPECT_EQ(*kv_->get(key("a")), std::nullopt);
  ASSERT_TRUE(kv_->set(key("a"), "one", 60s).ok());
  ASSERT_TRUE(kv_->set(key("b"), "", 60s).ok());
  EXPECT_EQ(*kv_->get(key("a")), "one");
  EXPECT_EQ(*kv_->get(key("b")), "");
  ASSERT_TRUE(kv_->set(key("a"), "uno", 60s).ok());
  EXPECT_EQ(*kv_->get(key("a")), "uno");
  ASSERT_TRUE(kv_->del(key("a")).ok());
  ASSERT_TRUE(kv_->del(key("never-there")).ok());
  EXPECT_EQ(*kv_->get(key("a")), std::nullopt);
  EXPECT_EQ(*kv_->get(key("b")), "");
}

TEST_F(RedisKeyValueTest, KeysAndValuesAreBytes) {
  const std::string with_nul = key(std::string("k\0x", 3));
  const std::string value("v\0\r\n*1\r\n", 8);  // protocol-looking bytes stay data
  ASSERT_TRUE(kv_->set(with_nul, value, 60s).ok());
  ASSERT_TRUE(kv_->set(key("k"), "2", 60s).ok());
  EXPECT_EQ(*kv_->get(with_nul), value);
  EXPECT_EQ(*kv_->get(key("k")), "2");
}

TEST_F(RedisKeyValueTest, IncrCreatesWithTtlAndKeepsTheFirstExpiry) {
  auto n = kv_->incr(key("c"), 1, 100s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto t = kv_->ttl(key("c"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  EXPECT_GE(**t, 99);
  EXPECT_LE(**t, 100);
  n = kv_->incr(key("c"), 5, 5000s);  // a later increment does not extend the expiry
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 6);
  EXPECT_LE(**kv_->ttl(key("c")), 100);
  n = kv_->incr(key("c"), -10, 100s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, -4);
  EXPECT_EQ(*kv_->get(key("c")), "-4");
}

TEST_F(RedisKeyValueTest, TtlOfMissingKeyIsNullAndLiveKeyRoundsUp) {
  EXPECT_EQ(*kv_->ttl(key("none")), std::nullopt);
  ASSERT_TRUE(kv_->set(key("t"), "v", 10s).ok());
  auto t = kv_->ttl(key("t"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->has_value());
  EXPECT_GE(**t, 9);
  EXPECT_LE(**t, 10);
}

TEST_F(RedisKeyValueTest, EntriesExpire) {
  ASSERT_TRUE(kv_->set(key("e"), "v", 1s).ok());
  ASSERT_TRUE(kv_->incr(key("n"), 1, 1s).ok());
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(*kv_->get(key("e")), std::nullopt);
  EXPECT_EQ(*kv_->ttl(key("n")), std::nullopt);
  EXPECT_EQ(*kv_->incr(key("n"), 1, 60s), 1);  // a fresh counter after expiry
}

TEST_F(RedisKeyValueTest, IncrOfNonIntegerAndOverflowAreErrorsAndChangeNothing) {
  ASSERT_TRUE(kv_->set(key("s"), "abc", 60s).ok());
  auto n = kv_->incr(key("s"), 1, 60s);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kInternal);
  EXPECT_EQ(*kv_->get(key("s")), "abc");

  ASSERT_TRUE(
      kv_->set(key("big"), std::to_string(std::numeric_limits<std::int64_t>::max()), 60s).ok());
  n = kv_->incr(key("big"), 1, 60s);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(*kv_->get(key("big")), std::to_string(std::numeric_limits<std::int64_t>::max()));
}

TEST_F(RedisKeyValueTest, NonPositiveTtlIsAProgrammingError) {
  EXPECT_EQ(kv_->set(key("x"), "v", 0s).error().code, ErrorCode::kInternal);
  EXPECT_EQ(kv_->incr(key("x"), 1, -1s).error().code, ErrorCode::kInternal);
  EXPECT_EQ(*kv_->get(key("x")), std::nullopt);
}

TEST_F(RedisKeyValueTest, ConcurrentIncrementsAreAtomic) {
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < kEach; ++j) {
        if (!kv_->incr(key("hits"), 1, 60s).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*kv_->get(key("hits")), std::to_string(kThreads * kEach));
}

TEST_F(RedisKeyValueTest, RecoversWhenItsConnectionsAreKilled) {
  ASSERT_TRUE(kv_->set(key("r"), "before", 60s).ok());
  // Another client kills every other connection, as a Redis restart or a proxy would.
  auto ep = parse_redis_url(url_);
  ASSERT_TRUE(ep.ok());
  redisContext* admin = redisConnect(ep->host.c_str(), ep->port);
  ASSERT_NE(admin, nullptr);
  ASSERT_EQ(admin->err, 0);
  if (!ep->password.empty()) {
    freeReplyObject(redisCommand(admin, "AUTH %b", ep->password.data(), ep->password.size()));
  }
  auto* reply = static_cast<redisReply*>(redisCommand(admin, "CLIENT KILL TYPE normal SKIPME yes"));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->type, REDIS_REPLY_INTEGER);
  EXPECT_GE(reply->integer, 1);
  freeReplyObject(reply);
  redisFree(admin);
  // The pooled connection is dead; the call replaces it and succeeds.
  auto v = kv_->get(key("r"));
  ASSERT_TRUE(v.ok()) << v.error().log_detail;
  EXPECT_EQ(*v, "before");
}

TEST_F(RedisKeyValueTest, WrongPasswordIsUnavailableAndNamesNoSecret) {
  auto ep = parse_redis_url(url_);
  ASSERT_TRUE(ep.ok());
  const std::string bad =
      "redis://:wrong-" + prefix_ + "@" + ep->host + ":" + std::to_string(ep->port);
  auto kv = RedisKeyValue::open({bad, 1, 500ms, 500ms});
  ASSERT_TRUE(kv.ok());
  auto st = (*kv)->ping();
  // A server without a password accepts AUTH-less use but refuses AUTH with an error.
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(st.error().log_detail.find("wrong-"), std::string::npos);
  EXPECT_EQ(st.error().message.find("wrong-"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::kv
