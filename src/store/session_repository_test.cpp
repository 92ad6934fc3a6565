// Contract tests for sessions::SessionRepository, run against every configured database.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using sessions::RefreshToken;
using sessions::Session;

class SessionRepositoryContract : public ::testing::TestWithParam<std::string> {
 protected:
  SessionRepositoryContract()
      : t_(GetParam()),
        users_(make_user_repository(t_.db())),
        repo_(make_session_repository(t_.db())) {
    user_id_ = add_user("owner@example.com");
    other_user_id_ = add_user("other@example.com");
  }

  std::string add_user(const std::string& email) {
    identity::User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.name = "n";
    u.created_at = u.updated_at = clock_.now();
    EXPECT_TRUE(users_->create(u));
    return u.id;
  }

  // A session created at the clock's time, plus its first refresh token.
  std::pair<Session, RefreshToken> make_session(const std::string& user_id,
                                                Seconds lifetime = std::chrono::hours(24)) {
    Session s;
    s.id = new_uuid_v7(clock_, random_);
    s.user_id = user_id;
    s.created_at = s.last_used_at = s.auth_time = clock_.now();
    s.expires_at = clock_.now() + lifetime;
    s.amr = {"pwd", "otp"};
    s.ip = "203.0.113.7";
    s.user_agent = "Mozilla/5.0 'quoted' \"ua\"";
    RefreshToken rt = make_token(s);
    clock_.advance(std::chrono::seconds(1));
    return {s, rt};
  }

  RefreshToken make_token(const Session& s) {
    RefreshToken rt;
    rt.hash = sha256_hex(random_.token());
    rt.session_id = s.id;
    rt.user_id = s.user_id;
    rt.created_at = clock_.now();
    rt.expires_at = s.expires_at;
    return rt;
  }

  Session create_session(const std::string& user_id, Seconds lifetime = std::chrono::hours(24)) {
    auto [s, rt] = make_session(user_id, lifetime);
    auto st = repo_->create(s, rt);
    EXPECT_TRUE(st) << (st ? "" : st.error().log_detail);
    first_tokens_[s.id] = rt;
    return s;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{11};
  testing::TestDatabase t_;
  std::unique_ptr<identity::UserRepository> users_;
  std::unique_ptr<sessions::SessionRepository> repo_;
  std::string user_id_, other_user_id_;
  std::map<std::string, RefreshToken> first_tokens_;
};

TEST_P(SessionRepositoryContract, CreateThenFindRoundTrips) {
  auto [s, rt] = make_session(user_id_);
  ASSERT_TRUE(repo_->create(s, rt));
  auto found = repo_->find(s.id);
  ASSERT_TRUE(found) << found.error().log_detail;
  ASSERT_TRUE(found->has_value());
  const Session& f = **found;
  EXPECT_EQ(f.id, s.id);
  EXPECT_EQ(f.user_id, s.user_id);
  EXPECT_EQ(f.created_at, s.created_at);
  EXPECT_EQ(f.last_used_at, s.last_used_at);
  EXPECT_EQ(f.expires_at, s.expires_at);
  EXPECT_EQ(f.auth_time, s.auth_time);
  EXPECT_EQ(f.amr, s.amr);
  EXPECT_EQ(f.ip, s.ip);
  EXPECT_EQ(f.user_agent, s.user_agent);
  EXPECT_FALSE(f.revoked_at.has_value());
  EXPECT_EQ(f.revoke_reason, "");

  auto token = repo_->find_refresh(rt.hash);
  ASSERT_TRUE(token) << token.error().log_detail;
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->hash, rt.hash);
  EXPECT_EQ((*token)->session_id, s.id);
  EXPECT_EQ((*token)->user_id, user_id_);
  EXPECT_EQ((*token)->created_at, rt.created_at);
  EXPECT_EQ((*token)->expires_at, rt.expires_at);
  EXPECT_FALSE((*token)->rotated_at.has_value());
  EXPECT_EQ((*token)->successor_sealed, "");
}

TEST_P(SessionRepositoryContract, UnknownIdsAreEmpty) {
  auto s = repo_->find("01890000-0000-7000-8000-000000000000");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->has_value());
  auto t = repo_->find_refresh(std::string(64, 'a'));
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->has_value());
}

TEST_P(SessionRepositoryContract, CreateWithDuplicateTokenWritesNothing) {
  Session a = create_session(user_id_);
  auto [s, rt] = make_session(user_id_);
  rt.hash = first_tokens_[a.id].hash;
  auto st = repo_->create(s, rt);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  auto missing = repo_->find(s.id);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());  // the session insert was rolled back
}

TEST_P(SessionRepositoryContract, RotateIsCompareAndSet) {
  Session s = create_session(user_id_);
  RefreshToken first = first_tokens_[s.id];
  clock_.advance(std::chrono::minutes(5));
  RefreshToken next = make_token(s);
  auto r = repo_->rotate(first.hash, "sealed-successor-1", next, clock_.now(), "198.51.100.1",
                         "curl/8 'x'", /*touch=*/true);
  ASSERT_TRUE(r) << r.error().log_detail;
  EXPECT_TRUE(*r);

  auto old = repo_->find_refresh(first.hash);
  ASSERT_TRUE(old && old->has_value());
  ASSERT_TRUE((*old)->rotated_at.has_value());
  EXPECT_EQ(*(*old)->rotated_at, clock_.now());
  EXPECT_EQ((*old)->successor_sealed, "sealed-successor-1");
  auto fresh = repo_->find_refresh(next.hash);
  ASSERT_TRUE(fresh && fresh->has_value());
  EXPECT_FALSE((*fresh)->rotated_at.has_value());
  auto touched = repo_->find(s.id);
  ASSERT_TRUE(touched && touched->has_value());
  EXPECT_EQ((*touched)->last_used_at, clock_.now());
  EXPECT_EQ((*touched)->ip, "198.51.100.1");
  EXPECT_EQ((*touched)->user_agent, "curl/8 'x'");
  EXPECT_EQ((*touched)->created_at, s.created_at);

  // The same hash again: refused, nothing inserted, nothing overwritten.
  clock_.advance(std::chrono::minutes(1));
  RefreshToken again = make_token(s);
  auto second = repo_->rotate(first.hash, "sealed-successor-2", again, clock_.now(), "192.0.2.9",
                              "other", true);
  ASSERT_TRUE(second) << second.error().log_detail;
  EXPECT_FALSE(*second);
  auto not_inserted = repo_->find_refresh(again.hash);
  ASSERT_TRUE(not_inserted);
  EXPECT_FALSE(not_inserted->has_value());
  old = repo_->find_refresh(first.hash);
  ASSERT_TRUE(old && old->has_value());
  EXPECT_EQ((*old)->successor_sealed, "sealed-successor-1");
  touched = repo_->find(s.id);
  ASSERT_TRUE(touched && touched->has_value());
  EXPECT_EQ((*touched)->ip, "198.51.100.1");
  EXPECT_EQ(testing::count_rows(t_.db(), "refresh_tokens"), 2);

  // Rotating an unknown hash is refused too.
  auto unknown =
      repo_->rotate(std::string(64, 'f'), "x", make_token(s), clock_.now(), "", "", true);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST_P(SessionRepositoryContract, RotateWithoutTouchLeavesTheSessionRowAlone) {
  Session s = create_session(user_id_);
  clock_.advance(std::chrono::seconds(20));
  RefreshToken next = make_token(s);
  auto r = repo_->rotate(first_tokens_[s.id].hash, "sealed", next, clock_.now(), "192.0.2.1",
                         "other-agent", /*touch=*/false);
  ASSERT_TRUE(r) << r.error().log_detail;
  EXPECT_TRUE(*r);
  auto fresh = repo_->find_refresh(next.hash);
  ASSERT_TRUE(fresh && fresh->has_value());  // rotated all the same
  auto untouched = repo_->find(s.id);
  ASSERT_TRUE(untouched && untouched->has_value());
  EXPECT_EQ((*untouched)->last_used_at, s.last_used_at);
  EXPECT_EQ((*untouched)->ip, s.ip);
  EXPECT_EQ((*untouched)->user_agent, s.user_agent);
}

TEST_P(SessionRepositoryContract, ConcurrentRotationsOfOneTokenHaveOneWinner) {
  Session s = create_session(user_id_);
  RefreshToken first = first_tokens_[s.id];
  constexpr int kThreads = 6;
  std::vector<RefreshToken> nexts;
  for (int i = 0; i < kThreads; ++i) nexts.push_back(make_token(s));
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  TimePoint now = clock_.now();
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r =
          repo_->rotate(first.hash, "sealed" + std::to_string(i), nexts[i], now, "ip", "ua", true);
      if (!r) {
        ++errors;
      } else if (*r) {
        ++winners;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(testing::count_rows(t_.db(), "refresh_tokens"), 2);
}

TEST_P(SessionRepositoryContract, ListActiveNewestFirstWithoutRevokedExpiredOrOthers) {
  Session older = create_session(user_id_);
  Session short_lived = create_session(user_id_, std::chrono::seconds(30));
  Session revoked = create_session(user_id_);
  Session newer = create_session(user_id_);
  create_session(other_user_id_);
  ASSERT_TRUE(repo_->revoke(revoked.id, clock_.now(), "logout"));
  clock_.advance(std::chrono::minutes(1));  // short_lived has expired
  auto list = repo_->list_active(user_id_, clock_.now());
  ASSERT_TRUE(list) << list.error().log_detail;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, newer.id);
  EXPECT_EQ((*list)[1].id, older.id);
  EXPECT_EQ((*list)[0].amr, newer.amr);
  auto none = repo_->list_active("01890000-0000-7000-8000-000000000000", clock_.now());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  (void)short_lived;
}

TEST_P(SessionRepositoryContract, RevokeOnceAndReportsWhetherItWasActive) {
  Session s = create_session(user_id_);
  TimePoint at = clock_.now();
  auto first = repo_->revoke(s.id, at, "logout");
  ASSERT_TRUE(first) << first.error().log_detail;
  EXPECT_TRUE(*first);
  clock_.advance(std::chrono::seconds(5));
  auto second = repo_->revoke(s.id, clock_.now(), "admin");
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  auto f = repo_->find(s.id);
  ASSERT_TRUE(f && f->has_value());
  ASSERT_TRUE((*f)->revoked_at.has_value());
  EXPECT_EQ(*(*f)->revoked_at, at);  // the first revocation stands
  EXPECT_EQ((*f)->revoke_reason, "logout");
  EXPECT_FALSE((*f)->active(clock_.now()));

  auto unknown = repo_->revoke("01890000-0000-7000-8000-000000000000", clock_.now(), "logout");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);

  // An expired, unrevoked session is marked revoked but was not active.
  Session expired = create_session(user_id_, std::chrono::seconds(10));
  clock_.advance(std::chrono::minutes(1));
  auto late = repo_->revoke(expired.id, clock_.now(), "logout");
  ASSERT_TRUE(late);
  EXPECT_FALSE(*late);
  f = repo_->find(expired.id);
  ASSERT_TRUE(f && f->has_value());
  EXPECT_TRUE((*f)->revoked_at.has_value());
}

TEST_P(SessionRepositoryContract, RevokedSinceListsRecentRevocationsNewestFirst) {
  Session a = create_session(user_id_);
  Session b = create_session(other_user_id_);
  Session live = create_session(user_id_);
  const TimePoint t0 = clock_.now();
  ASSERT_TRUE(*repo_->revoke(a.id, t0, "logout"));
  clock_.advance(std::chrono::seconds(10));
  const TimePoint t1 = clock_.now();
  ASSERT_TRUE(*repo_->revoke(b.id, t1, "admin"));

  auto all = repo_->revoked_since(t0, 100);
  ASSERT_TRUE(all) << all.error().log_detail;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].session_id, b.id);
  EXPECT_EQ((*all)[0].revoked_at, t1);
  EXPECT_EQ((*all)[1].session_id, a.id);
  EXPECT_EQ((*all)[1].revoked_at, t0);

  auto later = repo_->revoked_since(t0 + std::chrono::seconds(1), 100);
  ASSERT_TRUE(later);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].session_id, b.id);

  auto limited = repo_->revoked_since(t0, 1);
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].session_id, b.id);

  auto none = repo_->revoked_since(t1 + std::chrono::seconds(1), 100);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  (void)live;
}

TEST_P(SessionRepositoryContract, RevokeAllWithAndWithoutExcept) {
  Session a = create_session(user_id_);
  Session b = create_session(user_id_);
  Session c = create_session(user_id_);
  Session other = create_session(other_user_id_);
  ASSERT_TRUE(repo_->revoke(c.id, clock_.now(), "logout"));

  auto r = repo_->revoke_all(user_id_, clock_.now(), "password_change", a.id);
  ASSERT_TRUE(r) << r.error().log_detail;
  EXPECT_EQ(*r, std::vector<std::string>{b.id});
  auto fa = repo_->find(a.id);
  auto fb = repo_->find(b.id);
  auto fc = repo_->find(c.id);
  ASSERT_TRUE(fa && fa->has_value() && fb && fb->has_value() && fc && fc->has_value());
  EXPECT_FALSE((*fa)->revoked_at.has_value());
  EXPECT_EQ((*fb)->revoke_reason, "password_change");
  EXPECT_EQ((*fc)->revoke_reason, "logout");

  auto all = repo_->revoke_all(user_id_, clock_.now(), "logout_all", std::nullopt);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, std::vector<std::string>{a.id});
  auto again = repo_->revoke_all(user_id_, clock_.now(), "logout_all", std::nullopt);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto fo = repo_->find(other.id);
  ASSERT_TRUE(fo && fo->has_value());
  EXPECT_FALSE((*fo)->revoked_at.has_value());
}

TEST_P(SessionRepositoryContract, PurgeExpiredRemovesExpiredSessionsAndTokens) {
  Session live = create_session(user_id_, std::chrono::hours(1));
  Session dead = create_session(user_id_, std::chrono::seconds(30));
  // A live session with an expired token alongside its current one.
  RefreshToken stale = make_token(live);
  stale.expires_at = clock_.now() + std::chrono::seconds(10);
  RefreshToken current = make_token(live);
  ASSERT_TRUE(repo_->rotate(first_tokens_[live.id].hash, "s", stale, clock_.now(), "", "", true));
  ASSERT_TRUE(repo_->rotate(stale.hash, "s", current, clock_.now(), "", "", true));
  EXPECT_EQ(testing::count_rows(t_.db(), "refresh_tokens"), 4);

  clock_.advance(std::chrono::minutes(2));
  auto n = repo_->purge_expired(clock_.now());
  ASSERT_TRUE(n) << n.error().log_detail;
  EXPECT_EQ(*n, 3);  // dead's session and token, stale token
  EXPECT_EQ(testing::count_rows(t_.db(), "sessions"), 1);
  EXPECT_EQ(testing::count_rows(t_.db(), "refresh_tokens"), 2);
  auto gone = repo_->find(dead.id);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  auto still = repo_->find_refresh(current.hash);
  ASSERT_TRUE(still && still->has_value());
  auto again = repo_->purge_expired(clock_.now());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionRepositoryContract,
                         ::testing::ValuesIn(testing::backends()), testing::backend_name);

}  // namespace
}  // namespace latchkey::store
