// Contract tests for flows::VerificationRepository, run against every configured database and
// against the in-memory fake (testing/verification_fakes.hpp), which must behave the same.

#include "store/verification_repository.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"
#include "testing/verification_fakes.hpp"

namespace latchkey::store {
namespace {

using flows::Purpose;
using flows::Verification;

constexpr const char* kFake = "fake";

std::vector<std::string> backends_and_fake() {
  auto out = testing::backends();
  out.push_back(kFake);
  return out;
}

class VerificationRepositoryTest : public ::testing::TestWithParam<std::string> {
 protected:
  VerificationRepositoryTest() {
    if (GetParam() == kFake) {
      auto fake = std::make_unique<latchkey::testing::FakeVerificationRepository>();
      fake_ = fake.get();
      repo_ = std::move(fake);
    } else {
      t_ = std::make_unique<testing::TestDatabase>(GetParam());
      users_ = make_user_repository(t_->db());
      repo_ = make_verification_repository(t_->db());
    }
    user_id_ = add_user("owner@example.com");
    other_user_id_ = add_user("other@example.com");
  }

  std::string add_user(const std::string& email) {
    identity::User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.name = "n";
    u.locale = "ko";
    u.created_at = u.updated_at = clock_.now();
    if (users_) {
      auto st = users_->create(u);
      EXPECT_TRUE(st) << (st ? "" : st.error().log_detail);
    }
    return u.id;
  }

  // What users.remove does to the user's verifications.
  void remove_user(const std::string& id) {
    if (fake_ != nullptr) {
      fake_->remove_user(id);
      return;
    }
    auto st = users_->remove(id);
    ASSERT_TRUE(st) << st.error().log_detail;
  }

  // A row created at the clock's time (the clock then moves on by a second).
  Verification make_row(const std::string& user_id, Purpose purpose, const std::string& email,
                        bool with_code = true, Seconds ttl = std::chrono::hours(1)) {
    Verification v;
    v.id = random_.token(12);
    v.user_id = user_id;
    v.purpose = purpose;
    v.email = email;
    v.secret_hash = sha256_hex(random_.token());
    if (with_code) v.code_hash = sha256_hex(random_.token());
    v.created_at = clock_.now();
    v.expires_at = clock_.now() + ttl;
    clock_.advance(std::chrono::seconds(1));
    return v;
  }

  Verification create_row(const std::string& user_id, Purpose purpose, const std::string& email,
                          bool with_code = true, Seconds ttl = std::chrono::hours(1)) {
    Verification v = make_row(user_id, purpose, email, with_code, ttl);
    auto st = repo_->create(v);
    EXPECT_TRUE(st) << (st ? "" : st.error().log_detail);
    return v;
  }

  std::optional<Verification> must_find(const std::string& id) {
    auto r = repo_->find(id);
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    if (!r) return std::nullopt;
    return *r;
  }

  // The id of find_code_target's answer, "" when there is none.
  std::string code_target(const std::string& email, Purpose purpose) {
    auto r = repo_->find_code_target(email, purpose, clock_.now());
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    if (!r || !r->has_value()) return "";
    return (*r)->id;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{23};
  std::unique_ptr<testing::TestDatabase> t_;  // null for the fake
  std::unique_ptr<identity::UserRepository> users_;
  std::unique_ptr<flows::VerificationRepository> repo_;
  latchkey::testing::FakeVerificationRepository* fake_ = nullptr;
  std::string user_id_, other_user_id_;
};

void expect_same(const Verification& got, const Verification& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.user_id, want.user_id);
  EXPECT_EQ(got.purpose, want.purpose);
  EXPECT_EQ(got.email, want.email);
  EXPECT_EQ(got.secret_hash, want.secret_hash);
  EXPECT_EQ(got.code_hash, want.code_hash);
  EXPECT_EQ(got.attempts, want.attempts);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.used_at, want.used_at);
}

TEST_P(VerificationRepositoryTest, CreateThenFindRoundTripsEveryField) {
  Verification with_code = make_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  with_code.attempts = 2;
  with_code.used_at = clock_.now() + std::chrono::milliseconds(1234);
  Verification without_code =
      make_row(user_id_, Purpose::kResetPassword, "owner@example.com", /*with_code=*/false);
  Verification change = make_row(user_id_, Purpose::kChangeEmail, "new+tag@example.org");
  for (const Verification* v : {&with_code, &without_code, &change}) {
    auto st = repo_->create(*v);
    ASSERT_TRUE(st) << st.error().log_detail;
  }
  for (const Verification* v : {&with_code, &without_code, &change}) {
    auto found = must_find(v->id);
    ASSERT_TRUE(found.has_value()) << v->id;
    expect_same(*found, *v);
  }
  EXPECT_TRUE(must_find(without_code.id)->code_hash.empty());
  EXPECT_FALSE(must_find(without_code.id)->used_at.has_value());
}

TEST_P(VerificationRepositoryTest, UnknownIdIsEmpty) {
  create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  auto r = repo_->find("AAAAAAAAAAAAAAAA");
  ASSERT_TRUE(r) << r.error().log_detail;
  EXPECT_FALSE(r->has_value());
}

TEST_P(VerificationRepositoryTest, IdsAreCaseSensitive) {
  Verification v = make_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  v.id = "abcdefghijklmnop";
  ASSERT_TRUE(repo_->create(v));
  auto upper = repo_->find("ABCDEFGHIJKLMNOP");
  ASSERT_TRUE(upper);
  EXPECT_FALSE(upper->has_value());
  auto consumed = repo_->consume("ABCDEFGHIJKLMNOP", clock_.now());
  ASSERT_TRUE(consumed);
  EXPECT_FALSE(*consumed);
}

TEST_P(VerificationRepositoryTest, CreateWithATakenIdIsAConflictAndKeepsTheFirst) {
  Verification first = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  Verification second = make_row(other_user_id_, Purpose::kResetPassword, "other@example.com");
  second.id = first.id;
  auto st = repo_->create(second);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  auto found = must_find(first.id);
  ASSERT_TRUE(found.has_value());
  expect_same(*found, first);
}

TEST_P(VerificationRepositoryTest, ConsumeIsCompareAndSet) {
  Verification v = create_row(user_id_, Purpose::kResetPassword, "owner@example.com");
  TimePoint at = clock_.now();
  auto first = repo_->consume(v.id, at);
  ASSERT_TRUE(first) << first.error().log_detail;
  EXPECT_TRUE(*first);
  clock_.advance(std::chrono::minutes(1));
  auto second = repo_->consume(v.id, clock_.now());
  ASSERT_TRUE(second) << second.error().log_detail;
  EXPECT_FALSE(*second);
  auto found = must_find(v.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->used_at, std::optional<TimePoint>(at));  // the first use stands

  auto unknown = repo_->consume("AAAAAAAAAAAAAAAA", clock_.now());
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST_P(VerificationRepositoryTest, ConcurrentConsumesHaveOneWinner) {
  Verification v = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  constexpr int kThreads = 8;
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = repo_->consume(v.id, clock_.now() + std::chrono::milliseconds(i));
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
  auto found = must_find(v.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->used_at.has_value());
}

TEST_P(VerificationRepositoryTest, FindCodeTargetIsTheNewestUsableRowWithACode) {
  const std::string email = "owner@example.com";
  Verification older = create_row(user_id_, Purpose::kVerifyEmail, email);
  Verification target = create_row(user_id_, Purpose::kVerifyEmail, email);
  // Newer rows that must not be chosen:
  Verification used = create_row(user_id_, Purpose::kVerifyEmail, email);
  ASSERT_TRUE(repo_->consume(used.id, clock_.now()));
  create_row(user_id_, Purpose::kVerifyEmail, email, /*with_code=*/false);
  Verification short_lived =
      create_row(user_id_, Purpose::kVerifyEmail, email, true, std::chrono::seconds(5));
  create_row(user_id_, Purpose::kChangeEmail, email);
  create_row(other_user_id_, Purpose::kVerifyEmail, "other@example.com");
  // short_lived expires exactly now: expires_at > now is required.
  clock_.set(to_unix(short_lived.expires_at));

  EXPECT_EQ(code_target(email, Purpose::kVerifyEmail), target.id);
  auto full = repo_->find_code_target(email, Purpose::kVerifyEmail, clock_.now());
  ASSERT_TRUE(full && full->has_value());
  expect_same(**full, target);

  ASSERT_TRUE(repo_->consume(target.id, clock_.now()));
  EXPECT_EQ(code_target(email, Purpose::kVerifyEmail), older.id);
  EXPECT_EQ(code_target("nobody@example.com", Purpose::kVerifyEmail), "");
  EXPECT_EQ(code_target(email, Purpose::kResetPassword), "");

  // After every row has expired there is none.
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(code_target(email, Purpose::kVerifyEmail), "");
  EXPECT_EQ(code_target(email, Purpose::kChangeEmail), "");
}

TEST_P(VerificationRepositoryTest, FindCodeTargetBreaksTiesByGreaterId) {
  const std::string email = "owner@example.com";
  Verification a = make_row(user_id_, Purpose::kChangeEmail, email);
  Verification b = make_row(user_id_, Purpose::kChangeEmail, email);
  Verification c = make_row(user_id_, Purpose::kChangeEmail, email);
  b.created_at = c.created_at = a.created_at;
  a.id = "Bbbbbbbbbbbbbbbb";
  b.id = "bAAAAAAAAAAAAAAA";  // the greatest: 'b' > 'B' > 'A'
  c.id = "AAAAAAAAAAAAAAAb";
  for (const Verification* v : {&a, &b, &c}) ASSERT_TRUE(repo_->create(*v));
  EXPECT_EQ(code_target(email, Purpose::kChangeEmail), b.id);
  ASSERT_TRUE(repo_->consume(b.id, clock_.now()));
  EXPECT_EQ(code_target(email, Purpose::kChangeEmail), a.id);
}

TEST_P(VerificationRepositoryTest, SupersedeMarksOnlyTheUsersUnusedRowsOfThatPurpose) {
  Verification already_used = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  TimePoint first_use = clock_.now();
  ASSERT_TRUE(repo_->consume(already_used.id, first_use));
  Verification a = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  Verification b = create_row(user_id_, Purpose::kVerifyEmail, "old@example.com", false);
  Verification reset = create_row(user_id_, Purpose::kResetPassword, "owner@example.com");
  Verification change = create_row(user_id_, Purpose::kChangeEmail, "new@example.com");
  Verification others = create_row(other_user_id_, Purpose::kVerifyEmail, "other@example.com");

  clock_.advance(std::chrono::minutes(3));
  TimePoint at = clock_.now();
  auto st = repo_->supersede(user_id_, Purpose::kVerifyEmail, at);
  ASSERT_TRUE(st) << st.error().log_detail;

  EXPECT_EQ(must_find(already_used.id)->used_at, std::optional<TimePoint>(first_use));
  EXPECT_EQ(must_find(a.id)->used_at, std::optional<TimePoint>(at));
  EXPECT_EQ(must_find(b.id)->used_at, std::optional<TimePoint>(at));
  EXPECT_FALSE(must_find(reset.id)->used_at.has_value());
  EXPECT_FALSE(must_find(change.id)->used_at.has_value());
  EXPECT_FALSE(must_find(others.id)->used_at.has_value());
  EXPECT_EQ(code_target("owner@example.com", Purpose::kVerifyEmail), "");
  EXPECT_EQ(code_target("other@example.com", Purpose::kVerifyEmail), others.id);

  // Nothing left to supersede, or no such user: still fine.
  EXPECT_TRUE(repo_->supersede(user_id_, Purpose::kVerifyEmail, clock_.now()));
  EXPECT_TRUE(repo_->supersede("01890000-0000-7000-8000-000000000000", Purpose::kResetPassword,
                               clock_.now()));
  EXPECT_EQ(must_find(a.id)->used_at, std::optional<TimePoint>(at));
}

TEST_P(VerificationRepositoryTest, AddFailedAttemptCountsAndReturnsTheNewCount) {
  Verification v = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  Verification other = create_row(user_id_, Purpose::kChangeEmail, "new@example.com");
  for (int want = 1; want <= 3; ++want) {
    auto n = repo_->add_failed_attempt(v.id);
    ASSERT_TRUE(n) << n.error().log_detail;
    EXPECT_EQ(*n, want);
  }
  EXPECT_EQ(must_find(v.id)->attempts, 3);
  EXPECT_EQ(must_find(other.id)->attempts, 0);

  auto unknown = repo_->add_failed_attempt("AAAAAAAAAAAAAAAA");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_P(VerificationRepositoryTest, ConcurrentFailedAttemptsEachCountOnce) {
  Verification v = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  constexpr int kThreads = 10;
  std::mutex mutex;
  std::vector<int> seen;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto n = repo_->add_failed_attempt(v.id);
      if (!n) {
        ++errors;
        return;
      }
      std::lock_guard lock(mutex);
      seen.push_back(*n);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(must_find(v.id)->attempts, kThreads);
  // Each call read back the count its own increment made.
  std::sort(seen.begin(), seen.end());
  std::vector<int> want;
  for (int i = 1; i <= kThreads; ++i) want.push_back(i);
  EXPECT_EQ(seen, want);
}

TEST_P(VerificationRepositoryTest, PurgeExpiredDeletesRowsThatExpiredBefore) {
  TimePoint start = clock_.now();
  Verification a = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com", true,
                              std::chrono::seconds(10));  // expires at start + 10 s
  Verification used = create_row(user_id_, Purpose::kResetPassword, "owner@example.com", false,
                                 std::chrono::seconds(10));  // start + 11 s
  ASSERT_TRUE(repo_->consume(used.id, clock_.now()));
  Verification b = create_row(other_user_id_, Purpose::kVerifyEmail, "other@example.com", true,
                              std::chrono::seconds(18));  // start + 20 s
  Verification live =
      create_row(user_id_, Purpose::kChangeEmail, "new@example.com", true, std::chrono::hours(1));

  auto none = repo_->purge_expired(start + std::chrono::seconds(10));  // a expires at it: kept
  ASSERT_TRUE(none) << none.error().log_detail;
  EXPECT_EQ(*none, 0);
  auto two = repo_->purge_expired(start + std::chrono::seconds(20));
  ASSERT_TRUE(two) << two.error().log_detail;
  EXPECT_EQ(*two, 2);
  EXPECT_FALSE(must_find(a.id).has_value());
  EXPECT_FALSE(must_find(used.id).has_value());
  EXPECT_TRUE(must_find(b.id).has_value());
  auto one = repo_->purge_expired(start + std::chrono::minutes(30));
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, 1);
  EXPECT_FALSE(must_find(b.id).has_value());
  EXPECT_TRUE(must_find(live.id).has_value());
}

TEST_P(VerificationRepositoryTest, RemovingTheUserRemovesItsVerifications) {
  Verification a = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  Verification b = create_row(user_id_, Purpose::kResetPassword, "owner@example.com");
  Verification others = create_row(other_user_id_, Purpose::kVerifyEmail, "other@example.com");
  remove_user(user_id_);
  EXPECT_FALSE(must_find(a.id).has_value());
  EXPECT_FALSE(must_find(b.id).has_value());
  EXPECT_TRUE(must_find(others.id).has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, VerificationRepositoryTest,
                         ::testing::ValuesIn(backends_and_fake()), testing::backend_name);

// What only a database does: foreign keys, NULLs, transactions, rows written by others.
class VerificationRepositorySqlTest : public VerificationRepositoryTest {};

TEST_P(VerificationRepositorySqlTest, AnEmptyCodeHashIsStoredAsNull) {
  create_row(user_id_, Purpose::kResetPassword, "owner@example.com", /*with_code=*/false);
  create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com", /*with_code=*/true);
  soci::session sql(t_->db().pool());
  long long nulls = 0;
  sql << "SELECT COUNT(*) FROM verifications WHERE code_hash IS NULL", soci::into(nulls);
  EXPECT_EQ(nulls, 1);
}

TEST_P(VerificationRepositorySqlTest, AnUnknownPurposeInARowIsAnInternalError) {
  {
    soci::session sql(t_->db().pool());
    std::string uid = user_id_;
    sql << "INSERT INTO verifications (id, user_id, purpose, email, secret_hash, code_hash, "
           "attempts, created_at, expires_at, used_at) VALUES ('ZZZZZZZZZZZZZZZZ', :uid, "
           "'delete_account', 'owner@example.com', '" +
               std::string(64, 'a') + "', NULL, 0, 1700000000000, 1800000000000, NULL)",
        soci::use(uid);
  }
  auto r = repo_->find("ZZZZZZZZZZZZZZZZ");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  // The others are still readable.
  Verification v = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  EXPECT_TRUE(must_find(v.id).has_value());
}

TEST_P(VerificationRepositorySqlTest, CreateForAnUnknownUserFailsAndWritesNothing) {
  Verification v =
      make_row("01890000-0000-7000-8000-000000000000", Purpose::kVerifyEmail, "x@example.com");
  auto st = repo_->create(v);
  ASSERT_FALSE(st);
  EXPECT_EQ(testing::count_rows(t_->db(), "verifications"), 0);
}

TEST_P(VerificationRepositorySqlTest, WritesInAFailedUnitOfWorkAreRolledBack) {
  auto uow = make_unit_of_work(t_->db());
  Verification kept = create_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  Verification v = make_row(user_id_, Purpose::kVerifyEmail, "owner@example.com");
  auto st = uow->run([&]() -> Status {
    if (auto s = repo_->supersede(user_id_, Purpose::kVerifyEmail, clock_.now()); !s) return s;
    if (auto s = repo_->create(v); !s) return s;
    auto n = repo_->add_failed_attempt(v.id);
    if (!n) return n.error();
    // Reads inside the unit see its writes.
    auto seen = repo_->find(v.id);
    if (!seen || !seen->has_value() || (*seen)->attempts != 1) {
      return Error::internal("the unit did not see its own write");
    }
    return Error::make(ErrorCode::kInvalidField, "refused");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField) << st.error().log_detail;
  EXPECT_FALSE(must_find(v.id).has_value());
  EXPECT_FALSE(must_find(kept.id)->used_at.has_value());  // the supersede was undone too

  // The same unit returning success commits.
  auto ok = uow->run([&]() -> Status {
    if (auto s = repo_->supersede(user_id_, Purpose::kVerifyEmail, clock_.now()); !s) return s;
    return repo_->create(v);
  });
  ASSERT_TRUE(ok) << ok.error().log_detail;
  EXPECT_TRUE(must_find(v.id).has_value());
  EXPECT_TRUE(must_find(kept.id)->used_at.has_value());
  EXPECT_EQ(code_target("owner@example.com", Purpose::kVerifyEmail), v.id);
}

INSTANTIATE_TEST_SUITE_P(Backends, VerificationRepositorySqlTest,
                         ::testing::ValuesIn(testing::backends()), testing::backend_name);

}  // namespace
}  // namespace latchkey::store
