// Contract tests for tokens::KeyRepository, run against every configured database.

#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using tokens::StoredKey;

class KeyRepositoryContract : public ::testing::TestWithParam<std::string> {
 protected:
  KeyRepositoryContract() : t_(GetParam()), repo_(make_key_repository(t_.db())) {}

  StoredKey make_key(const std::string& kid, TimePoint created) {
    StoredKey k;
    k.kid = kid;
    k.alg = "ES256";
    k.private_sealed = std::string(300, 'A') + "+/=";
    k.public_jwk = R"({"kty":"EC","crv":"P-256","x":"f83O","y":"x_FE","kid":")" + kid +
                   R"(","alg":"ES256","use":"sig"})";
    k.created_at = created;
    k.signs_from = created + std::chrono::hours(1);
    return k;
  }

  testing::TestDatabase t_;
  std::unique_ptr<tokens::KeyRepository> repo_;
  TimePoint t0_ = from_unix(1'700'000'000);
};

TEST_P(KeyRepositoryContract, InsertListInCreationOrder) {
  StoredKey later = make_key("k-later", t0_ + std::chrono::hours(2));
  StoredKey first = make_key("k-first", t0_);
  first.retired_at = t0_ + std::chrono::hours(3);
  ASSERT_TRUE(repo_->insert(later));
  ASSERT_TRUE(repo_->insert(first));
  auto keys = repo_->list();
  ASSERT_TRUE(keys) << keys.error().log_detail;
  ASSERT_EQ(keys->size(), 2u);
  const StoredKey& k = (*keys)[0];
  EXPECT_EQ(k.kid, "k-first");
  EXPECT_EQ(k.alg, first.alg);
  EXPECT_EQ(k.private_sealed, first.private_sealed);
  EXPECT_EQ(k.public_jwk, first.public_jwk);
  EXPECT_EQ(k.created_at, first.created_at);
  EXPECT_EQ(k.signs_from, first.signs_from);
  EXPECT_EQ(k.retired_at, first.retired_at);
  EXPECT_EQ((*keys)[1].kid, "k-later");
  EXPECT_FALSE((*keys)[1].retired_at.has_value());
}

TEST_P(KeyRepositoryContract, EmptyList) {
  auto keys = repo_->list();
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->empty());
}

TEST_P(KeyRepositoryContract, DuplicateKidIsConflict) {
  ASSERT_TRUE(repo_->insert(make_key("dup", t0_)));
  auto s = repo_->insert(make_key("dup", t0_ + std::chrono::hours(1)));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_EQ(testing::count_rows(t_.db(), "signing_keys"), 1);
}

TEST_P(KeyRepositoryContract, RetireKeepsFirstTimeAndRemoveDeletes) {
  ASSERT_TRUE(repo_->insert(make_key("a", t0_)));
  ASSERT_TRUE(repo_->insert(make_key("b'; DROP TABLE signing_keys; --", t0_)));
  TimePoint at = t0_ + std::chrono::days(1);
  ASSERT_TRUE(repo_->retire("a", at));
  ASSERT_TRUE(repo_->retire("a", at + std::chrono::hours(1)));
  auto keys = repo_->list();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  for (const auto& k : *keys) {
    if (k.kid == "a") {
      EXPECT_EQ(k.retired_at, std::optional<TimePoint>(at));
    } else {
      EXPECT_EQ(k.kid, "b'; DROP TABLE signing_keys; --");
      EXPECT_FALSE(k.retired_at.has_value());
    }
  }
  ASSERT_TRUE(repo_->remove("a"));
  keys = repo_->list();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().kid, "b'; DROP TABLE signing_keys; --");
}

TEST_P(KeyRepositoryContract, MissingKidIsNotFound) {
  auto r = repo_->retire("nope", t0_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto d = repo_->remove("nope");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyRepositoryContract, ::testing::ValuesIn(testing::backends()),
                         testing::backend_name);

}  // namespace
}  // namespace latchkey::store
