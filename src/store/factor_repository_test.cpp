// Contract tests for methods::FactorRepository, run against every configured database and
// against the in-memory fake (testing/factor_fakes.hpp), which must behave the same.

#include "store/factor_repository.hpp"

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
#include "testing/factor_fakes.hpp"

namespace latchkey::store {
namespace {

using methods::TotpFactor;

constexpr const char* kFake = "fake";
constexpr const char* kNoSuchUser = "01890000-0000-7000-8000-000000000000";
constexpr int kThreads = 8;

std::vector<std::string> backends_and_fake() {
  auto out = testing::backends();
  out.push_back(kFake);
  return out;
}

class FactorRepositoryTest : public ::testing::TestWithParam<std::string> {
 protected:
  FactorRepositoryTest() {
    if (GetParam() == kFake) {
      auto fake = std::make_unique<latchkey::testing::FakeFactorRepository>();
      fake_ = fake.get();
      repo_ = std::move(fake);
    } else {
      t_ = std::make_unique<testing::TestDatabase>(GetParam());
      users_ = make_user_repository(t_->db());
      repo_ = make_factor_repository(t_->db());
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

  // What users.remove does to the user's factors.
  void remove_user(const std::string& id) {
    if (fake_ != nullptr) {
      fake_->remove_user(id);
      return;
    }
    auto st = users_->remove(id);
    ASSERT_TRUE(st) << st.error().log_detail;
  }

  // A new unconfirmed factor created at the clock's time (the clock then moves on a second).
  TotpFactor make_factor(const std::string& user_id) {
    TotpFactor f;
    f.user_id = user_id;
    f.secret_sealed = random_.token(72);  // about as long as a sealed 20-byte secret
    f.created_at = clock_.now();
    clock_.advance(std::chrono::seconds(1));
    return f;
  }

  TotpFactor put_factor(const std::string& user_id) {
    TotpFactor f = make_factor(user_id);
    auto st = repo_->put_totp(f);
    EXPECT_TRUE(st) << (st ? "" : st.error().log_detail);
    return f;
  }

  // A factor that is on: put, then confirmed at `step`.
  TotpFactor confirmed_factor(const std::string& user_id, std::int64_t step) {
    TotpFactor f = put_factor(user_id);
    f.confirmed_at = clock_.now();
    f.last_step = step;
    auto ok = repo_->confirm_totp(user_id, *f.confirmed_at, step);
    EXPECT_TRUE(ok && *ok);
    return f;
  }

  std::optional<TotpFactor> must_find(const std::string& user_id) {
    auto r = repo_->find_totp(user_id);
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    if (!r) return std::nullopt;
    return *r;
  }

  bool use_step(const std::string& user_id, std::int64_t step) {
    auto r = repo_->use_totp_step(user_id, step);
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    return r && *r;
  }

  std::vector<std::string> make_hashes(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(sha256_hex(random_.token()));
    return out;
  }

  void replace_codes(const std::string& user_id, const std::vector<std::string>& hashes) {
    auto st = repo_->replace_recovery_codes(user_id, hashes, clock_.now());
    ASSERT_TRUE(st) << st.error().log_detail;
  }

  bool use_code(const std::string& user_id, const std::string& hash) {
    auto r = repo_->use_recovery_code(user_id, hash, clock_.now());
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    return r && *r;
  }

  int unused(const std::string& user_id) {
    auto r = repo_->unused_recovery_codes(user_id);
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    return r ? *r : -1;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{29};
  std::unique_ptr<testing::TestDatabase> t_;  // null for the fake
  std::unique_ptr<identity::UserRepository> users_;
  std::unique_ptr<methods::FactorRepository> repo_;
  latchkey::testing::FakeFactorRepository* fake_ = nullptr;
  std::string user_id_, other_user_id_;
};

void expect_same(const TotpFactor& got, const TotpFactor& want) {
  EXPECT_EQ(got.user_id, want.user_id);
  EXPECT_EQ(got.secret_sealed, want.secret_sealed);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.confirmed_at, want.confirmed_at);
  EXPECT_EQ(got.last_step, want.last_step);
}

// --- TOTP ---

TEST_P(FactorRepositoryTest, PutThenFindRoundTripsAnUnconfirmedFactor) {
  TotpFactor f = make_factor(user_id_);
  f.created_at += std::chrono::milliseconds(789);  // milliseconds survive
  ASSERT_TRUE(repo_->put_totp(f));
  auto found = must_find(user_id_);
  ASSERT_TRUE(found.has_value());
  expect_same(*found, f);
  EXPECT_FALSE(found->confirmed_at.has_value());
  EXPECT_FALSE(found->last_step.has_value());
  EXPECT_FALSE(must_find(other_user_id_).has_value());
  EXPECT_FALSE(must_find(kNoSuchUser).has_value());
}

TEST_P(FactorRepositoryTest, PutStoresTheFactorUnconfirmedWhateverItSays) {
  TotpFactor f = make_factor(user_id_);
  f.confirmed_at = clock_.now();
  f.last_step = 42;
  ASSERT_TRUE(repo_->put_totp(f));
  auto found = must_find(user_id_);
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->confirmed_at.has_value());
  EXPECT_FALSE(found->last_step.has_value());
  EXPECT_FALSE(use_step(user_id_, 43));  // not on
}

TEST_P(FactorRepositoryTest, PutReplacesAnUnconfirmedFactor) {
  put_factor(user_id_);
  TotpFactor others = put_factor(other_user_id_);
  TotpFactor second = put_factor(user_id_);
  auto found = must_find(user_id_);
  ASSERT_TRUE(found.has_value());
  expect_same(*found, second);
  expect_same(*must_find(other_user_id_), others);
  // The replacement is the one that confirms.
  auto ok = repo_->confirm_totp(user_id_, clock_.now(), 7);
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ(must_find(user_id_)->secret_sealed, second.secret_sealed);
}

TEST_P(FactorRepositoryTest, PutOverAConfirmedFactorIsAConflictAndWritesNothing) {
  TotpFactor on = confirmed_factor(user_id_, 1000);
  TotpFactor next = make_factor(user_id_);
  auto st = repo_->put_totp(next);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict) << st.error().log_detail;
  auto found = must_find(user_id_);
  ASSERT_TRUE(found.has_value());
  expect_same(*found, on);
  EXPECT_TRUE(use_step(user_id_, 1001));  // still on, still the same

  // Removed first, a new secret may be enrolled.
  auto removed = repo_->remove_totp(user_id_);
  ASSERT_TRUE(removed && *removed);
  ASSERT_TRUE(repo_->put_totp(next));
  expect_same(*must_find(user_id_), next);
}

TEST_P(FactorRepositoryTest, ConfirmTurnsTheFactorOnOnce) {
  TotpFactor f = put_factor(user_id_);
  TimePoint at = clock_.now() + std::chrono::milliseconds(250);
  auto first = repo_->confirm_totp(user_id_, at, 56'000'000);
  ASSERT_TRUE(first) << first.error().log_detail;
  EXPECT_TRUE(*first);
  auto second = repo_->confirm_totp(user_id_, at + std::chrono::minutes(1), 56'000'002);
  ASSERT_TRUE(second) << second.error().log_detail;
  EXPECT_FALSE(*second);

  f.confirmed_at = at;  // the first confirmation stands
  f.last_step = 56'000'000;
  expect_same(*must_find(user_id_), f);

  auto unknown = repo_->confirm_totp(kNoSuchUser, at, 1);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
  auto not_enrolled = repo_->confirm_totp(other_user_id_, at, 1);
  ASSERT_TRUE(not_enrolled);
  EXPECT_FALSE(*not_enrolled);
  EXPECT_FALSE(must_find(other_user_id_).has_value());
}

TEST_P(FactorRepositoryTest, StepsAreAcceptedOnlyWhenLaterThanTheLastOne) {
  put_factor(user_id_);
  EXPECT_FALSE(use_step(user_id_, 100));  // not confirmed yet
  ASSERT_TRUE(*repo_->confirm_totp(user_id_, clock_.now(), 100));

  EXPECT_FALSE(use_step(user_id_, 100));  // the confirming code cannot log in again
  EXPECT_FALSE(use_step(user_id_, 99));
  EXPECT_TRUE(use_step(user_id_, 101));
  EXPECT_FALSE(use_step(user_id_, 101));
  EXPECT_TRUE(use_step(user_id_, 105));
  EXPECT_FALSE(use_step(user_id_, 103));  // earlier than the last accepted one
  EXPECT_EQ(must_find(user_id_)->last_step, std::optional<std::int64_t>(105));

  // Steps beyond 32 bits are stored exactly.
  const std::int64_t big = (std::int64_t{1} << 40) + 3;
  EXPECT_TRUE(use_step(user_id_, big));
  EXPECT_FALSE(use_step(user_id_, big));
  EXPECT_FALSE(use_step(user_id_, big - 1));
  EXPECT_EQ(must_find(user_id_)->last_step, std::optional<std::int64_t>(big));

  EXPECT_FALSE(use_step(other_user_id_, 200));  // no factor
  EXPECT_FALSE(use_step(kNoSuchUser, 200));
}

TEST_P(FactorRepositoryTest, StepsOfOneUserDoNotAffectAnother) {
  confirmed_factor(user_id_, 500);
  confirmed_factor(other_user_id_, 500);
  EXPECT_TRUE(use_step(user_id_, 510));
  EXPECT_TRUE(use_step(other_user_id_, 501));
  EXPECT_TRUE(use_step(other_user_id_, 510));
  EXPECT_EQ(must_find(user_id_)->last_step, std::optional<std::int64_t>(510));
}

TEST_P(FactorRepositoryTest, ConcurrentUsesOfOneStepHaveOneWinner) {
  confirmed_factor(user_id_, 1000);
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto r = repo_->use_totp_step(user_id_, 1001);
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
  EXPECT_EQ(must_find(user_id_)->last_step, std::optional<std::int64_t>(1001));
}

TEST_P(FactorRepositoryTest, ConcurrentPutsLeaveOneOfTheirSecrets) {
  std::vector<TotpFactor> factors;
  for (int i = 0; i < kThreads; ++i) factors.push_back(make_factor(user_id_));
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = repo_->put_totp(factors[i]); });
  }
  for (auto& th : threads) th.join();
  std::vector<std::string> stored_by_winners;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i]) {
      stored_by_winners.push_back(factors[i].secret_sealed);
    } else {
      // A put that loses the race to insert is told so; it never fails otherwise.
      EXPECT_EQ(results[i].error().code, ErrorCode::kConflict) << results[i].error().log_detail;
    }
  }
  ASSERT_FALSE(stored_by_winners.empty());
  auto found = must_find(user_id_);
  ASSERT_TRUE(found.has_value());
  EXPECT_NE(std::find(stored_by_winners.begin(), stored_by_winners.end(), found->secret_sealed),
            stored_by_winners.end());
}

TEST_P(FactorRepositoryTest, RemoveTotpTurnsTheFactorOff) {
  confirmed_factor(user_id_, 10);
  TotpFactor others = confirmed_factor(other_user_id_, 10);
  auto removed = repo_->remove_totp(user_id_);
  ASSERT_TRUE(removed) << removed.error().log_detail;
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(must_find(user_id_).has_value());
  EXPECT_FALSE(use_step(user_id_, 11));
  auto again = repo_->remove_totp(user_id_);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto unknown = repo_->remove_totp(kNoSuchUser);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
  expect_same(*must_find(other_user_id_), others);

  // An unconfirmed factor is removed too.
  put_factor(user_id_);
  EXPECT_TRUE(*repo_->remove_totp(user_id_));
  EXPECT_FALSE(must_find(user_id_).has_value());
}

// --- recovery codes ---

TEST_P(FactorRepositoryTest, RecoveryCodesWorkOnceEach) {
  auto hashes = make_hashes(10);
  EXPECT_EQ(unused(user_id_), 0);
  replace_codes(user_id_, hashes);
  EXPECT_EQ(unused(user_id_), 10);
  EXPECT_TRUE(use_code(user_id_, hashes[3]));
  EXPECT_EQ(unused(user_id_), 9);
  EXPECT_FALSE(use_code(user_id_, hashes[3]));  // spent
  EXPECT_EQ(unused(user_id_), 9);
  EXPECT_TRUE(use_code(user_id_, hashes[9]));
  EXPECT_EQ(unused(user_id_), 8);
  EXPECT_FALSE(use_code(user_id_, sha256_hex("not one of them")));
  EXPECT_FALSE(use_code(user_id_, ""));
  EXPECT_FALSE(use_code(kNoSuchUser, hashes[0]));
  EXPECT_EQ(unused(user_id_), 8);
  EXPECT_EQ(unused(kNoSuchUser), 0);
}

TEST_P(FactorRepositoryTest, AnotherUsersCodeIsRefused) {
  auto mine = make_hashes(3);
  auto theirs = make_hashes(3);
  replace_codes(user_id_, mine);
  replace_codes(other_user_id_, theirs);
  EXPECT_FALSE(use_code(user_id_, theirs[0]));
  EXPECT_FALSE(use_code(other_user_id_, mine[0]));
  EXPECT_EQ(unused(user_id_), 3);
  EXPECT_EQ(unused(other_user_id_), 3);
  // Each still works for its owner.
  EXPECT_TRUE(use_code(other_user_id_, theirs[0]));
  EXPECT_TRUE(use_code(user_id_, mine[0]));
}

TEST_P(FactorRepositoryTest, TheSameHashMayBelongToTwoUsers) {
  auto hashes = make_hashes(2);
  replace_codes(user_id_, hashes);
  replace_codes(other_user_id_, hashes);
  EXPECT_TRUE(use_code(user_id_, hashes[0]));
  EXPECT_EQ(unused(other_user_id_), 2);
  EXPECT_TRUE(use_code(other_user_id_, hashes[0]));
}

TEST_P(FactorRepositoryTest, ReplaceDiscardsEveryOldCode) {
  auto old_codes = make_hashes(4);
  replace_codes(user_id_, old_codes);
  ASSERT_TRUE(use_code(user_id_, old_codes[0]));
  auto theirs = make_hashes(2);
  replace_codes(other_user_id_, theirs);

  auto new_codes = make_hashes(3);
  new_codes.push_back(new_codes[1]);  // a hash given twice is stored once
  replace_codes(user_id_, new_codes);
  EXPECT_EQ(unused(user_id_), 3);
  EXPECT_FALSE(use_code(user_id_, old_codes[1]));  // unused before, gone now
  EXPECT_FALSE(use_code(user_id_, old_codes[0]));
  EXPECT_TRUE(use_code(user_id_, new_codes[1]));
  EXPECT_FALSE(use_code(user_id_, new_codes[1]));
  EXPECT_EQ(unused(user_id_), 2);
  EXPECT_EQ(unused(other_user_id_), 2);

  // A used code given again comes back unused.
  replace_codes(user_id_, {new_codes[1]});
  EXPECT_EQ(unused(user_id_), 1);
  EXPECT_TRUE(use_code(user_id_, new_codes[1]));

  replace_codes(user_id_, {});
  EXPECT_EQ(unused(user_id_), 0);
  EXPECT_EQ(unused(other_user_id_), 2);
}

TEST_P(FactorRepositoryTest, RemoveRecoveryCodesRemovesOnlyTheUsers) {
  auto mine = make_hashes(5);
  auto theirs = make_hashes(5);
  replace_codes(user_id_, mine);
  replace_codes(other_user_id_, theirs);
  auto st = repo_->remove_recovery_codes(user_id_);
  ASSERT_TRUE(st) << st.error().log_detail;
  EXPECT_EQ(unused(user_id_), 0);
  EXPECT_FALSE(use_code(user_id_, mine[0]));
  EXPECT_EQ(unused(other_user_id_), 5);
  EXPECT_TRUE(repo_->remove_recovery_codes(user_id_));  // nothing left: still fine
  EXPECT_TRUE(repo_->remove_recovery_codes(kNoSuchUser));
}

TEST_P(FactorRepositoryTest, ConcurrentUsesOfOneCodeHaveOneWinner) {
  auto hashes = make_hashes(2);
  replace_codes(user_id_, hashes);
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = repo_->use_recovery_code(user_id_, hashes[0],
                                        clock_.now() + std::chrono::milliseconds(i));
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
  EXPECT_EQ(unused(user_id_), 1);
}

// --- both ---

TEST_P(FactorRepositoryTest, RemovingTheUserRemovesItsFactors) {
  confirmed_factor(user_id_, 10);
  replace_codes(user_id_, make_hashes(3));
  TotpFactor others = confirmed_factor(other_user_id_, 20);
  auto their_codes = make_hashes(3);
  replace_codes(other_user_id_, their_codes);

  remove_user(user_id_);
  EXPECT_FALSE(must_find(user_id_).has_value());
  EXPECT_EQ(unused(user_id_), 0);
  expect_same(*must_find(other_user_id_), others);
  EXPECT_EQ(unused(other_user_id_), 3);
  EXPECT_TRUE(use_code(other_user_id_, their_codes[2]));
}

INSTANTIATE_TEST_SUITE_P(Backends, FactorRepositoryTest, ::testing::ValuesIn(backends_and_fake()),
                         testing::backend_name);

// What only a database does: foreign keys, transactions.
class FactorRepositorySqlTest : public FactorRepositoryTest {
 protected:
  long long rows_of(const std::string& table, const std::string& user_id) {
    soci::session sql(t_->db().pool());
    std::string key = user_id;
    long long n = 0;
    sql << "SELECT COUNT(*) FROM " + table + " WHERE user_id = :uid", soci::use(key), soci::into(n);
    return n;
  }
};

// The schema's ON DELETE CASCADE holds on every dialect (SQLite with foreign_keys=ON), so a user
// deleted by any statement takes its factors along, not only through UserRepository::remove.
TEST_P(FactorRepositorySqlTest, DeletingAUserRowCascadesToItsFactors) {
  confirmed_factor(user_id_, 10);
  replace_codes(user_id_, make_hashes(3));
  confirmed_factor(other_user_id_, 10);
  replace_codes(other_user_id_, make_hashes(2));
  {
    soci::session sql(t_->db().pool());
    std::string key = user_id_;
    sql << "DELETE FROM user_roles WHERE user_id = :uid", soci::use(key);
    sql << "DELETE FROM users WHERE id = :uid", soci::use(key);
  }
  EXPECT_EQ(rows_of("totp_factors", user_id_), 0);
  EXPECT_EQ(rows_of("recovery_codes", user_id_), 0);
  EXPECT_EQ(rows_of("totp_factors", other_user_id_), 1);
  EXPECT_EQ(rows_of("recovery_codes", other_user_id_), 2);
}

TEST_P(FactorRepositorySqlTest, WritesForAnUnknownUserFailAndWriteNothing) {
  auto put = repo_->put_totp(make_factor(kNoSuchUser));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kInternal) << put.error().log_detail;
  auto replaced = repo_->replace_recovery_codes(kNoSuchUser, make_hashes(2), clock_.now());
  ASSERT_FALSE(replaced);
  EXPECT_EQ(testing::count_rows(t_->db(), "totp_factors"), 0);
  EXPECT_EQ(testing::count_rows(t_->db(), "recovery_codes"), 0);
}

TEST_P(FactorRepositorySqlTest, AFailedReplaceKeepsTheOldCodes) {
  auto old_codes = make_hashes(3);
  replace_codes(user_id_, old_codes);
  // A hash longer than the column fails on MariaDB (strict mode) and PostgreSQL; on SQLite
  // (no length check) the statement succeeds, so that case checks nothing more there.
  auto bad = make_hashes(2);
  bad.push_back(std::string(65, 'a'));
  auto st = repo_->replace_recovery_codes(user_id_, bad, clock_.now());
  if (t_->db().dialect() == Dialect::kSqlite) {
    ASSERT_TRUE(st);
    EXPECT_EQ(unused(user_id_), 3);
    return;
  }
  ASSERT_FALSE(st);
  EXPECT_EQ(unused(user_id_), 3);
  EXPECT_TRUE(use_code(user_id_, old_codes[0]));
  EXPECT_FALSE(use_code(user_id_, bad[0]));
}

TEST_P(FactorRepositorySqlTest, WritesInAFailedUnitOfWorkAreRolledBack) {
  TotpFactor kept = put_factor(user_id_);
  auto old_codes = make_hashes(3);
  replace_codes(user_id_, old_codes);
  TotpFactor next = make_factor(user_id_);
  auto new_codes = make_hashes(4);

  auto uow = make_unit_of_work(t_->db());
  auto st = uow->run([&]() -> Status {
    if (auto s = repo_->put_totp(next); !s) return s;
    if (auto s = repo_->replace_recovery_codes(user_id_, new_codes, clock_.now()); !s) return s;
    // Reads inside the unit see its writes.
    auto seen = repo_->find_totp(user_id_);
    auto count = repo_->unused_recovery_codes(user_id_);
    if (!seen || !seen->has_value() || (*seen)->secret_sealed != next.secret_sealed || !count ||
        *count != 4) {
      return Error::internal("the unit did not see its own writes");
    }
    return Error::make(ErrorCode::kInvalidField, "refused");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField) << st.error().log_detail;
  expect_same(*must_find(user_id_), kept);
  EXPECT_EQ(unused(user_id_), 3);
  EXPECT_FALSE(use_code(user_id_, new_codes[0]));

  // The same unit returning success commits.
  auto ok = uow->run([&]() -> Status {
    if (auto s = repo_->put_totp(next); !s) return s;
    return repo_->replace_recovery_codes(user_id_, new_codes, clock_.now());
  });
  ASSERT_TRUE(ok) << ok.error().log_detail;
  expect_same(*must_find(user_id_), next);
  EXPECT_EQ(unused(user_id_), 4);
  EXPECT_TRUE(use_code(user_id_, new_codes[0]));
}

// The conflict is found by reading, not by a failed statement, so the unit it happens in can
// still go on and commit its other writes.
TEST_P(FactorRepositorySqlTest, AConflictingPutLeavesItsUnitUsable) {
  TotpFactor on = confirmed_factor(user_id_, 10);
  auto codes = make_hashes(2);
  auto uow = make_unit_of_work(t_->db());
  auto st = uow->run([&]() -> Status {
    auto put = repo_->put_totp(make_factor(user_id_));
    if (put || put.error().code != ErrorCode::kConflict) {
      return Error::internal("expected a conflict");
    }
    return repo_->replace_recovery_codes(user_id_, codes, clock_.now());
  });
  ASSERT_TRUE(st) << st.error().log_detail;
  expect_same(*must_find(user_id_), on);
  EXPECT_EQ(unused(user_id_), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, FactorRepositorySqlTest,
                         ::testing::ValuesIn(testing::backends()), testing::backend_name);

}  // namespace
}  // namespace latchkey::store
