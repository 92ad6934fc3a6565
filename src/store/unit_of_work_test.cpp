// Contract tests for the SQL UnitOfWork: repository calls inside run() commit together or not at
// all, on every configured database.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "audit/audit_log.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/admin_repositories.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using identity::AccountState;
using identity::User;

class UnitOfWorkContract : public ::testing::TestWithParam<std::string> {
 protected:
  UnitOfWorkContract()
      : t_(GetParam()),
        users_(make_user_repository(t_.db())),
        sessions_(make_session_repository(t_.db())),
        uow_(make_unit_of_work(t_.db())) {}

  User make_user(const std::string& email) {
    User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.name = "Unit";
    u.state = AccountState::kActive;
    u.roles = {"user"};
    u.created_at = u.updated_at = clock_.now();
    clock_.advance(std::chrono::milliseconds(2));
    return u;
  }
  bool exists(const std::string& email) {
    auto u = users_->find_by_email(email);
    EXPECT_TRUE(u);
    return u && u->has_value();
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{11};
  testing::TestDatabase t_;
  std::unique_ptr<identity::UserRepository> users_;
  std::unique_ptr<sessions::SessionRepository> sessions_;
  std::unique_ptr<UnitOfWork> uow_;
};

TEST_P(UnitOfWorkContract, CommitsEveryWrite) {
  auto st = uow_->run([&]() -> Status {
    if (auto s = users_->create(make_user("a@example.com")); !s) return s;
    return users_->create(make_user("b@example.com"));
  });
  ASSERT_TRUE(st) << st.error().log_detail;
  EXPECT_TRUE(exists("a@example.com"));
  EXPECT_TRUE(exists("b@example.com"));
}

TEST_P(UnitOfWorkContract, AnErrorRollsBackEverything) {
  const User first = make_user("a@example.com");
  auto st = uow_->run([&]() -> Status {
    if (auto s = users_->create(first); !s) return s;
    if (auto s = users_->set_roles(first.id, {"admin"}, clock_.now()); !s) return s;
    // Reads inside the unit see its own writes.
    auto seen = users_->find_by_id(first.id);
    if (!seen || !*seen || (*seen)->roles != std::vector<std::string>{"admin"}) {
      return Error::internal("the unit did not see its own write");
    }
    return Error::make(ErrorCode::kInvalidField, "refused");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField);
  EXPECT_FALSE(exists("a@example.com"));
}

TEST_P(UnitOfWorkContract, AFailedStatementRollsBackEarlierWrites) {
  ASSERT_TRUE(users_->create(make_user("taken@example.com")));
  auto st = uow_->run([&]() -> Status {
    if (auto s = users_->create(make_user("new@example.com")); !s) return s;
    return users_->create(make_user("taken@example.com"));  // unique violation
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  EXPECT_FALSE(exists("new@example.com"));
  EXPECT_TRUE(exists("taken@example.com"));
}

TEST_P(UnitOfWorkContract, NestedUnitsJoinTheOuterOne) {
  auto st = uow_->run([&]() -> Status {
    auto inner = uow_->run([&]() -> Status { return users_->create(make_user("in@example.com")); });
    if (!inner) return inner;
    return Error::make(ErrorCode::kConflict, "outer refuses");
  });
  ASSERT_FALSE(st);
  EXPECT_FALSE(exists("in@example.com"));
}

TEST_P(UnitOfWorkContract, RepositoryTransactionsInsideAUnitJoinIt) {
  // sessions.create opens its own transaction when called alone; inside a unit it joins.
  const User u = make_user("s@example.com");
  sessions::Session s;
  s.id = new_uuid_v7(clock_, random_);
  s.user_id = u.id;
  s.created_at = s.last_used_at = s.auth_time = clock_.now();
  s.expires_at = clock_.now() + std::chrono::hours(1);
  s.amr = {"pwd"};
  sessions::RefreshToken rt;
  rt.hash = std::string(64, 'a');
  rt.session_id = s.id;
  rt.user_id = u.id;
  rt.created_at = clock_.now();
  rt.expires_at = s.expires_at;
  auto st = uow_->run([&]() -> Status {
    if (auto r = users_->create(u); !r) return r;
    if (auto r = sessions_->create(s, rt); !r) return r;
    return Error::make(ErrorCode::kInvalidField, "refused");
  });
  ASSERT_FALSE(st);
  auto found = sessions_->find(s.id);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  EXPECT_FALSE(exists("s@example.com"));
}

TEST_P(UnitOfWorkContract, AnAuditEventRecordedInsideAUnitCommitsOrRollsBackWithIt) {
  // SessionService::start records the sign-in's event in the unit that stores the session.
  auto events = make_audit_repository(t_.db());
  audit::LogAuditSink log;
  audit::StoreAuditSink sink(log, clock_, random_);
  sink.attach(events.get());
  auto stored = [&](const std::string& type) {
    audit::AuditQuery query;
    query.type = type;
    auto found = events->query(query);
    EXPECT_TRUE(found);
    return found ? found->size() : 0u;
  };
  auto refused = uow_->run([&]() -> Status {
    sink.record({.type = "login", .outcome = "success", .details = {{"try", 1}}});
    if (auto r = users_->create(make_user("r@example.com")); !r) return r;
    return Error::make(ErrorCode::kInvalidField, "refused");
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(stored("login"), 0u);
  auto committed = uow_->run([&]() -> Status {
    sink.record({.type = "login", .outcome = "success", .details = {{"try", 2}}});
    return users_->create(make_user("c@example.com"));
  });
  ASSERT_TRUE(committed) << committed.error().log_detail;
  EXPECT_EQ(stored("login"), 1u);
  EXPECT_TRUE(exists("c@example.com"));
}

TEST_P(UnitOfWorkContract, OtherThreadsDoNotJoin) {
  // A call from another thread while a unit is open uses its own connection: it must not see
  // the unit's uncommitted write.
  bool seen_from_other_thread = true;
  auto st = uow_->run([&]() -> Status {
    if (auto s = users_->create(make_user("hidden@example.com")); !s) return s;
    std::thread other([&] {
      auto u = users_->find_by_email("hidden@example.com");
      seen_from_other_thread = !u || u->has_value();
    });
    other.join();
    return {};
  });
  ASSERT_TRUE(st);
  EXPECT_FALSE(seen_from_other_thread);
  EXPECT_TRUE(exists("hidden@example.com"));
}

TEST_P(UnitOfWorkContract, ConcurrentUnitsCommitOrRollBackEachOnTheirOwn) {
  // Many threads at once (grouped into shared transactions on SQLite): every even unit commits
  // two users, every odd one writes one and then fails; no odd unit may leave anything behind.
  constexpr int kThreads = 8, kPerThread = 10;
  std::vector<std::vector<User>> planned(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread * 2; ++i) {
      planned[t].push_back(
          make_user("u" + std::to_string(t) + "-" + std::to_string(i) + "@example.com"));
    }
  }
  std::vector<std::thread> threads;
  std::atomic<int> unexpected{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const bool fail = (t + i) % 2 == 1;
        auto st = uow_->run([&]() -> Status {
          if (auto s = users_->create(planned[t][2 * i]); !s) return s;
          if (fail) return Error::make(ErrorCode::kInvalidField, "refused");
          return users_->create(planned[t][2 * i + 1]);
        });
        if (static_cast<bool>(st) == fail) ++unexpected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const bool fail = (t + i) % 2 == 1;
      EXPECT_EQ(exists(planned[t][2 * i].email), !fail) << planned[t][2 * i].email;
      EXPECT_EQ(exists(planned[t][2 * i + 1].email), !fail) << planned[t][2 * i + 1].email;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, UnitOfWorkContract, ::testing::ValuesIn(testing::backends()),
                         testing::backend_name);

}  // namespace
}  // namespace latchkey::store
