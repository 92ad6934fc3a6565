#include "tokens/jwks_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"

namespace latchkey::tokens {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kIssuer = "https://id.example.test";
constexpr const char* kAudience = "notes-api";
constexpr std::int64_t kStart = 1'700'000'000;

// The issuer as the cache sees it: a JWKS document that tests change, or an outage.
class FakeIssuer {
 public:
  void publish(std::initializer_list<const SigningKey*> keys) {
    std::vector<PublicKey> pub;
    for (const auto* k : keys) pub.push_back(k->public_key());
    std::lock_guard lock(mu_);
    jwks_ = to_jwks(pub);
  }
  void set_body(std::string body) {
    std::lock_guard lock(mu_);
    jwks_ = std::move(body);
  }
  void set_down(bool down) { down_ = down; }
  void set_delay(std::chrono::milliseconds d) { delay_ = d; }
  int calls() const { return calls_; }
  JwksFetch fetcher() {
    return [this]() -> Result<std::string> {
      ++calls_;
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      if (down_) return Error::make(ErrorCode::kUnavailable, "connection refused");
      std::lock_guard lock(mu_);
      return jwks_;
    };
  }

 private:
  std::mutex mu_;
  std::string jwks_ = R"({"keys":[]})";
  std::atomic<bool> down_ = false;
  std::atomic<int> calls_ = 0;
  std::chrono::milliseconds delay_{0};
};

class JwksCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = new SigningKey(generate_signing_key(Alg::kES256, "key-a"));
    b_ = new SigningKey(generate_signing_key(Alg::kEdDSA, "key-b"));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }

  // An access token valid for 10 minutes from the fake clock's current time.
  std::string token(const SigningKey& key, std::int64_t ttl = 600) const {
    const std::int64_t now = to_unix(clock_.now());
    return sign_compact(key, {{"typ", "at+jwt"}},
                        {{"iss", kIssuer},
                         {"aud", kAudience},
                         {"sub", "user-1"},
                         {"roles", {"user"}},
                         {"iat", now},
                         {"exp", now + ttl},
                         {"jti", "j-" + std::to_string(now)}});
  }
  // A token whose kid no JWKS will ever hold (signed by key A, header says otherwise).
  std::string token_with_kid(const std::string& kid) const {
    const std::int64_t now = to_unix(clock_.now());
    Json header = {{"alg", "ES256"}, {"kid", kid}, {"typ", "at+jwt"}};
    Json payload = {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "u"},
                    {"iat", now},     {"exp", now + 600}, {"jti", "x"}};
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
    return input + "." + base64url_encode(sign_bytes(*a_, input));
  }
  static VerifyOptions options() {
    VerifyOptions o;
    o.issuer = kIssuer;
    o.audience = kAudience;
    return o;
  }
  VerifyStatus verify(JwksCache& cache, const std::string& jwt, Claims* out = nullptr) {
    Claims ignored;
    return cache.verify(jwt, options(), out ? out : &ignored);
  }

  static SigningKey* a_;
  static SigningKey* b_;
  FakeClock clock_{kStart};
  FakeIssuer issuer_;
  JwksCacheOptions opts_{.max_age = 300s, .min_refetch_interval = 30s};
};

SigningKey* JwksCacheTest::a_ = nullptr;
SigningKey* JwksCacheTest::b_ = nullptr;

TEST_F(JwksCacheTest, FirstVerifyFetchesAndLaterOnesUseTheCache) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  EXPECT_EQ(cache.keys()->size(), 0u);
  Claims claims;
  EXPECT_EQ(verify(cache, token(*a_), &claims), VerifyStatus::kOk);
  EXPECT_EQ(claims.sub(), "user-1");
  EXPECT_EQ(claims.roles(), std::vector<std::string>{"user"});
  clock_.advance(299s);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 1);
  const auto st = cache.state();
  EXPECT_TRUE(st.has_keys);
  EXPECT_TRUE(st.last_fetch_ok);
  EXPECT_EQ(st.key_count, 1u);
  EXPECT_EQ(st.fetched_at, from_unix(kStart));
}

TEST_F(JwksCacheTest, AnUnknownKidRefetchesOnceAndFindsTheRotatedKey) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  // The issuer rotates: B is published next to A, and new tokens are signed with B.
  clock_.advance(120s);
  issuer_.publish({a_, b_});
  EXPECT_EQ(verify(cache, token(*b_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);  // old tokens still pass
  EXPECT_EQ(verify(cache, token(*b_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
  EXPECT_EQ(cache.state().key_count, 2u);
}

TEST_F(JwksCacheTest, UnknownKidsAreRateLimitedToOneFetchPerInterval) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  ASSERT_EQ(issuer_.calls(), 1);
  // Right after a fetch, a forged kid causes no fetch at all.
  EXPECT_EQ(verify(cache, token_with_kid("forged-0")), VerifyStatus::kKidUnknown);
  EXPECT_EQ(issuer_.calls(), 1);
  clock_.advance(30s);
  for (int i = 1; i <= 100; ++i) {
    EXPECT_EQ(verify(cache, token_with_kid("forged-" + std::to_string(i))),
              VerifyStatus::kKidUnknown);
  }
  EXPECT_EQ(issuer_.calls(), 2);  // one for the first forged kid of the interval
  clock_.advance(29s);
  EXPECT_EQ(verify(cache, token_with_kid("forged-x")), VerifyStatus::kKidUnknown);
  EXPECT_EQ(issuer_.calls(), 2);
  clock_.advance(1s);
  EXPECT_EQ(verify(cache, token_with_kid("forged-y")), VerifyStatus::kKidUnknown);
  EXPECT_EQ(issuer_.calls(), 3);
  // Valid tokens were never disturbed.
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 3);
}

TEST_F(JwksCacheTest, KeysOlderThanMaxAgeAreRefetched) {
  issuer_.publish({a_, b_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  // The issuer retires A. Until max_age the cache still knows it...
  issuer_.publish({b_});
  clock_.advance(299s);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 1);
  // ...and then learns that it is gone.
  clock_.advance(1s);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kKidUnknown);
  EXPECT_EQ(issuer_.calls(), 2);  // the refetch for age; the unknown kid is then rate-limited
  EXPECT_EQ(verify(cache, token(*b_)), VerifyStatus::kOk);
  EXPECT_EQ(cache.state().fetched_at, from_unix(kStart + 300));
}

TEST_F(JwksCacheTest, AFailedFetchKeepsTheLastGoodKeys) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  issuer_.set_down(true);
  clock_.advance(400s);  // stale: a refetch is tried and fails
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
  auto st = cache.state();
  EXPECT_TRUE(st.has_keys);
  EXPECT_FALSE(st.last_fetch_ok);
  EXPECT_EQ(st.failures, 1u);
  EXPECT_NE(st.last_error.find("connection refused"), std::string::npos);
  EXPECT_EQ(st.fetched_at, from_unix(kStart));
  // While down, the stale keys are retried once per interval, not once per request.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
  clock_.advance(30s);
  issuer_.set_down(false);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 3);
  st = cache.state();
  EXPECT_TRUE(st.last_fetch_ok);
  EXPECT_TRUE(st.last_error.empty());
}

TEST_F(JwksCacheTest, GarbageOrAnEmptyKeySetDoesNotReplaceGoodKeys) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_TRUE(cache.refresh());
  issuer_.set_body("<html>maintenance</html>");
  EXPECT_FALSE(cache.refresh());
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  issuer_.set_body(R"({"keys":[]})");
  auto st = cache.refresh();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField);
  issuer_.set_body(R"({"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac","alg":"HS256"}]})");
  EXPECT_FALSE(cache.refresh());
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(cache.state().key_count, 1u);
  EXPECT_EQ(cache.state().failures, 3u);
}

TEST_F(JwksCacheTest, WithNoKeysEveryTokenIsRefusedAndFetchesAreRateLimited) {
  issuer_.set_down(true);
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  issuer_.publish({a_});
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kKidUnknown);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kKidUnknown);
  EXPECT_EQ(issuer_.calls(), 1);
  auto st = cache.state();
  EXPECT_FALSE(st.has_keys);
  EXPECT_FALSE(st.last_fetch_ok);
  issuer_.set_down(false);
  clock_.advance(30s);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(JwksCacheTest, RefreshIgnoresTheRateLimit) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_TRUE(cache.refresh());
  issuer_.publish({a_, b_});
  ASSERT_TRUE(cache.refresh());
  EXPECT_EQ(issuer_.calls(), 2);
  EXPECT_EQ(verify(cache, token(*b_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(JwksCacheTest, TheClockDecidesTheTimeNotOptionsNow) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  const std::string jwt = token(*a_, 60);
  VerifyOptions o = options();
  o.now = kStart + 100'000;  // would be expired; ignored
  Claims claims;
  EXPECT_EQ(cache.verify(jwt, o, &claims), VerifyStatus::kOk);
  clock_.advance(60s + 30s);  // exp + leeway
  EXPECT_EQ(cache.verify(jwt, options(), &claims), VerifyStatus::kExpired);
  EXPECT_EQ(claims.sub(), "");
}

TEST_F(JwksCacheTest, OtherFailuresDoNotFetch) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_TRUE(cache.refresh());
  clock_.advance(60s);
  VerifyOptions wrong_aud = options();
  wrong_aud.audience = "other-api";
  Claims claims;
  EXPECT_EQ(cache.verify(token(*a_), wrong_aud, &claims), VerifyStatus::kAudienceMismatch);
  EXPECT_EQ(cache.verify("not.a.token", options(), &claims), VerifyStatus::kBadBase64);
  EXPECT_EQ(cache.verify("", options(), &claims), VerifyStatus::kMalformed);
  EXPECT_EQ(issuer_.calls(), 1);
}

TEST_F(JwksCacheTest, ConcurrentCallersShareOneFetch) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_TRUE(cache.refresh());
  clock_.advance(60s);
  issuer_.publish({a_, b_});
  issuer_.set_delay(50ms);  // every caller arrives while the one fetch is in flight
  const std::string jwt = token(*b_);
  std::atomic<int> ok = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        Claims claims;
        if (cache.verify(jwt, options(), &claims) == VerifyStatus::kOk && claims.sub() == "user-1")
          ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 160);
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(JwksCacheTest, StaleRefreshDoesNotQueueBehindAFetchInFlight) {
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  ASSERT_TRUE(cache.refresh());
  clock_.advance(301s);
  issuer_.set_delay(300ms);
  std::thread slow([&] { EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk); });
  while (issuer_.calls() < 2) std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);  // uses the stale keys at once
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
  slow.join();
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(JwksCacheTest, PrefetchLoadsAndRefreshesKeysWithinTheRateLimit) {
  issuer_.set_down(true);
  issuer_.publish({a_});
  JwksCache cache(issuer_.fetcher(), clock_, opts_);
  EXPECT_FALSE(cache.prefetch());
  EXPECT_FALSE(cache.prefetch());  // a readiness probe cannot hammer the issuer
  EXPECT_EQ(issuer_.calls(), 1);
  issuer_.set_down(false);
  clock_.advance(30s);
  EXPECT_TRUE(cache.prefetch());
  EXPECT_TRUE(cache.prefetch());  // fresh keys: no fetch
  EXPECT_EQ(issuer_.calls(), 2);
  EXPECT_EQ(verify(cache, token(*a_)), VerifyStatus::kOk);
  EXPECT_EQ(issuer_.calls(), 2);
  clock_.advance(300s);
  issuer_.set_down(true);
  EXPECT_TRUE(cache.prefetch());  // stale, refetch failed: the last good keys still count
  EXPECT_EQ(issuer_.calls(), 3);
  EXPECT_FALSE(cache.state().last_fetch_ok);
}

TEST_F(JwksCacheTest, BadConstructionIsAProgrammingError) {
  EXPECT_THROW(JwksCache(JwksFetch{}, clock_), std::invalid_argument);
  EXPECT_THROW(JwksCache(issuer_.fetcher(), clock_, {.max_age = 0s, .min_refetch_interval = 1s}),
               std::invalid_argument);
  EXPECT_THROW(JwksCache(issuer_.fetcher(), clock_, {.max_age = 1s, .min_refetch_interval = 0s}),
               std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::tokens
