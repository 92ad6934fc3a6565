// Contract tests for identity::IdentityRepository, run against every configured database and
// against the in-memory fake (testing/social_fakes.hpp), which must behave the same.

#include "store/identity_repository.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"
#include "testing/social_fakes.hpp"

namespace latchkey::store {
namespace {

using identity::LinkedIdentity;

constexpr const char* kFake = "fake";

std::vector<std::string> backends_and_fake() {
  auto out = testing::backends();
  out.push_back(kFake);
  return out;
}

class IdentityRepositoryTest : public ::testing::TestWithParam<std::string> {
 protected:
  IdentityRepositoryTest() {
    if (GetParam() == kFake) {
      repo_ = std::make_unique<latchkey::testing::FakeIdentityRepository>();
    } else {
      t_ = std::make_unique<testing::TestDatabase>(GetParam());
      users_ = make_user_repository(t_->db());
      repo_ = make_identity_repository(t_->db());
    }
    alice_ = add_user("alice@example.com");
    bob_ = add_user("bob@example.com");
  }

  std::string add_user(const std::string& email) {
    identity::User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.created_at = u.updated_at = clock_.now();
    if (users_) {
      auto st = users_->create(u);
      EXPECT_TRUE(st) << (st ? "" : st.error().log_detail);
    }
    return u.id;
  }

  LinkedIdentity make(const std::string& user_id, const std::string& provider,
                      const std::string& subject) {
    clock_.advance(std::chrono::seconds(1));
    return {random_.token(16), user_id, provider, subject, subject + "@example.com", clock_.now()};
  }

  FakeClock clock_;
  OsRandom random_;
  std::unique_ptr<testing::TestDatabase> t_;
  std::unique_ptr<identity::UserRepository> users_;
  std::unique_ptr<identity::IdentityRepository> repo_;
  std::string alice_, bob_;
};

TEST_P(IdentityRepositoryTest, CreateFindList) {
  const auto a = make(alice_, "google", "sub-1");
  const auto b = make(alice_, "github", "42");
  ASSERT_TRUE(repo_->create(a));
  ASSERT_TRUE(repo_->create(b));
  auto found = repo_->find("google", "sub-1");
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->id, a.id);
  EXPECT_EQ((*found)->user_id, alice_);
  EXPECT_EQ((*found)->email, "sub-1@example.com");
  EXPECT_EQ(to_unix_ms((*found)->created_at), to_unix_ms(a.created_at));
  // The subject is compared exactly (case matters to providers).
  EXPECT_FALSE(*repo_->find("google", "SUB-1"));
  EXPECT_FALSE(*repo_->find("github", "sub-1"));
  auto list = repo_->list_for_user(alice_);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, a.id);
  EXPECT_EQ((*list)[1].id, b.id);
  EXPECT_TRUE(repo_->list_for_user(bob_)->empty());
}

TEST_P(IdentityRepositoryTest, ProviderSubjectIsUnique) {
  ASSERT_TRUE(repo_->create(make(alice_, "google", "sub-1")));
  auto dup = repo_->create(make(bob_, "google", "sub-1"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(repo_->list_for_user(bob_)->empty());
}

TEST_P(IdentityRepositoryTest, ConcurrentLinksOfOneAccountHaveOneWinner) {
  std::atomic<int> ok{0}, conflict{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      LinkedIdentity row{
          "id-" + std::to_string(i), i % 2 ? alice_ : bob_, "kakao", "777", "", clock_.now()};
      auto st = repo_->create(row);
      if (st) {
        ++ok;
      } else if (st.error().code == ErrorCode::kConflict) {
        ++conflict;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflict.load(), 5);
}

TEST_P(IdentityRepositoryTest, RemoveOnlyTheOwnersIdentity) {
  const auto a = make(alice_, "google", "sub-1");
  ASSERT_TRUE(repo_->create(a));
  auto foreign = repo_->remove(bob_, a.id);
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(*foreign);
  EXPECT_TRUE(*repo_->find("google", "sub-1"));
  auto own = repo_->remove(alice_, a.id);
  ASSERT_TRUE(own);
  EXPECT_TRUE(*own);
  EXPECT_FALSE(*repo_->find("google", "sub-1"));
  EXPECT_FALSE(*repo_->remove(alice_, a.id));
}

TEST_P(IdentityRepositoryTest, DeletingAUserDeletesItsIdentities) {
  if (GetParam() == kFake) GTEST_SKIP() << "the fake has no users";
  ASSERT_TRUE(repo_->create(make(alice_, "google", "sub-1")));
  ASSERT_TRUE(repo_->create(make(bob_, "google", "sub-2")));
  ASSERT_TRUE(users_->remove(alice_));
  EXPECT_FALSE(*repo_->find("google", "sub-1"));
  EXPECT_TRUE(repo_->list_for_user(alice_)->empty());
  EXPECT_TRUE(*repo_->find("google", "sub-2"));
  // The identity can be linked again afterwards.
  EXPECT_TRUE(repo_->create(make(bob_, "google", "sub-1")));
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityRepositoryTest, ::testing::ValuesIn(backends_and_fake()),
                         testing::backend_name);

}  // namespace
}  // namespace latchkey::store
