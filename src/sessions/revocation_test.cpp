#include "sessions/revocation.hpp"

#include <gtest/gtest.h>

#include "kv/memory_key_value.hpp"
#include "testing/fakes.hpp"

namespace latchkey::sessions {
namespace {

using namespace std::chrono_literals;

// A KeyValue store that can be "unplugged": every call fails with kUnavailable, as Redis does
// when it is down.
class SwitchableKeyValue final : public kv::KeyValue {
 public:
  explicit SwitchableKeyValue(const Clock& clock) : inner_(clock) {}
  bool down = false;

  Result<std::int64_t> incr(std::string_view k, std::int64_t d, std::chrono::seconds t) override {
    if (down) return outage();
    return inner_.incr(k, d, t);
  }
  Result<std::optional<std::string>> get(std::string_view k) override {
    if (down) return outage();
    return inner_.get(k);
  }
  Status set(std::string_view k, std::string_view v, std::chrono::seconds t) override {
    if (down) return outage();
    return inner_.set(k, v, t);
  }
  Status del(std::string_view k) override {
    if (down) return outage();
    return inner_.del(k);
  }
  Result<std::optional<std::int64_t>> ttl(std::string_view k) override {
    if (down) return outage();
    return inner_.ttl(k);
  }

 private:
  static Error outage() { return Error::make(ErrorCode::kUnavailable, "down"); }
  kv::MemoryKeyValue inner_;
};

class RevocationListTest : public ::testing::Test {
 protected:
  RevocationListTest() : kv_(clock_), a_(kv_, 600s, clock_), b_(kv_, 600s, clock_) {}

  // A session row as another replica would write it, optionally revoked now.
  void add_session(const std::string& id, bool revoke) {
    Session s;
    s.id = id;
    s.user_id = "u1";
    s.created_at = clock_.now();
    s.last_used_at = clock_.now();
    s.expires_at = clock_.now() + 24h;
    RefreshToken t;
    t.hash = "hash-" + id;
    t.session_id = id;
    t.user_id = "u1";
    t.created_at = clock_.now();
    t.expires_at = clock_.now() + 24h;
    ASSERT_TRUE(repo_.create(s, t).ok());
    if (revoke) {
      ASSERT_TRUE(*repo_.revoke(id, clock_.now(), "logout"));
    }
  }

  FakeClock clock_;
  SwitchableKeyValue kv_;
  testing::FakeSessionRepository repo_;
  RevocationList a_;  // replica A
  RevocationList b_;  // replica B, sharing the store and the database
};

TEST_F(RevocationListTest, RevocationIsSeenByOtherReplicasThroughTheStoreAtOnce) {
  EXPECT_FALSE(b_.is_revoked("s1"));
  a_.revoke("s1");
  EXPECT_TRUE(a_.is_revoked("s1"));
  EXPECT_TRUE(b_.is_revoked("s1"));
  EXPECT_FALSE(b_.is_revoked("s2"));
}

TEST_F(RevocationListTest, WhileTheStoreIsDownTheLocalCopyAnswers) {
  a_.revoke("s1");
  EXPECT_TRUE(b_.is_revoked("s1"));  // B learned it from the store and keeps it locally
  kv_.down = true;
  EXPECT_TRUE(a_.is_revoked("s1"));
  EXPECT_TRUE(b_.is_revoked("s1"));
  EXPECT_FALSE(b_.is_revoked("s2"));  // not revoked: tokens keep working during the outage

  // A revokes during the outage: the store write fails, A knows at once, B after its sync.
  add_session("s3", /*revoke=*/true);
  a_.revoke("s3");
  EXPECT_TRUE(a_.is_revoked("s3"));
  EXPECT_FALSE(b_.is_revoked("s3"));
  ASSERT_TRUE(b_.sync(repo_).ok());
  EXPECT_TRUE(b_.is_revoked("s3"));
}

TEST_F(RevocationListTest, FirstSyncLoadsRevocationsWhoseTokensMayStillBeAlive) {
  add_session("old", /*revoke=*/true);
  clock_.advance(601s);  // its access tokens have all expired
  add_session("recent", /*revoke=*/true);
  add_session("live", /*revoke=*/false);
  kv_.down = true;
  RevocationList fresh(kv_, 600s, clock_);  // a replica starting now
  ASSERT_TRUE(fresh.sync(repo_).ok());
  EXPECT_TRUE(fresh.is_revoked("recent"));
  EXPECT_FALSE(fresh.is_revoked("old"));
  EXPECT_FALSE(fresh.is_revoked("live"));
  EXPECT_EQ(fresh.local_size(), 1u);
}

TEST_F(RevocationListTest, LaterSyncsOverlapThePreviousWindowAndEntriesExpire) {
  kv_.down = true;
  ASSERT_TRUE(b_.sync(repo_).ok());
  // Committed with a timestamp just before B's last sync ended (a slow transaction elsewhere).
  clock_.advance(-2s);
  add_session("late", /*revoke=*/true);
  clock_.advance(3s);
  ASSERT_TRUE(b_.sync(repo_).ok());
  EXPECT_TRUE(b_.is_revoked("late"));

  clock_.advance(600s);  // past keep_for: the entry is dropped on a later sync
  EXPECT_FALSE(b_.is_revoked("late"));
  ASSERT_TRUE(b_.sync(repo_).ok());
  EXPECT_EQ(b_.local_size(), 0u);
}

}  // namespace
}  // namespace latchkey::sessions
