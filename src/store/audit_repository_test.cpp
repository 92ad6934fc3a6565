// Contract tests for audit::AuditRepository, run against every configured database.

#include <gtest/gtest.h>

#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/admin_repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using audit::StoredEvent;

class AuditRepositoryContract : public ::testing::TestWithParam<std::string> {
 protected:
  AuditRepositoryContract() : t_(GetParam()), repo_(make_audit_repository(t_.db())) {}

  StoredEvent add(const std::string& type, const std::string& actor, const std::string& subject,
                  TimePoint at) {
    StoredEvent e;
    e.id = new_uuid_v7(clock_, random_);
    e.at = at;
    e.event.type = type;
    e.event.outcome = "success";
    e.event.actor_id = actor;
    e.event.subject_id = subject;
    e.event.ip = "192.0.2.1";
    e.event.user_agent = "test/1.0";
    e.event.details = {{"changes", {{"name", {{"before", "A"}, {"after", "B"}}}}}};
    EXPECT_TRUE(repo_->append(e));
    return e;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{11};
  testing::TestDatabase t_;
  std::unique_ptr<audit::AuditRepository> repo_;
};

std::vector<std::string> ids_of(const std::vector<StoredEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

TEST_P(AuditRepositoryContract, NewestFirstWithFiltersAndRoundTrip) {
  const TimePoint t0 = from_unix(1'700'000'000);
  auto e1 = add("login", "", "u1", t0);
  auto e2 = add("admin.user.updated", "admin1", "u1", t0 + std::chrono::seconds(1));
  auto e3 = add("login", "", "u2", t0 + std::chrono::seconds(2));

  audit::AuditQuery q;
  auto all = repo_->query(q);
  ASSERT_TRUE(all) << all.error().log_detail;
  EXPECT_EQ(ids_of(*all), (std::vector<std::string>{e3.id, e2.id, e1.id}));
  const auto& got = (*all)[1];
  EXPECT_EQ(got.at, e2.at);
  EXPECT_EQ(got.event.type, "admin.user.updated");
  EXPECT_EQ(got.event.actor_id, "admin1");
  EXPECT_EQ(got.event.subject_id, "u1");
  EXPECT_EQ(got.event.ip, "192.0.2.1");
  EXPECT_EQ(got.event.user_agent, "test/1.0");
  EXPECT_EQ(got.event.details, e2.event.details);
  EXPECT_EQ((*all)[0].event.actor_id, "");  // NULL comes back as ""

  q.subject_id = "u1";
  EXPECT_EQ(ids_of(*repo_->query(q)), (std::vector<std::string>{e2.id, e1.id}));
  q.type = "login";
  EXPECT_EQ(ids_of(*repo_->query(q)), (std::vector<std::string>{e1.id}));
  q = {};
  q.actor_id = "admin1";
  EXPECT_EQ(ids_of(*repo_->query(q)), (std::vector<std::string>{e2.id}));
  q = {};
  q.since = t0 + std::chrono::seconds(1);
  q.until = t0 + std::chrono::seconds(2);
  EXPECT_EQ(ids_of(*repo_->query(q)), (std::vector<std::string>{e2.id}));
}

TEST_P(AuditRepositoryContract, PagesByPositionEvenWithinOneMillisecond) {
  const TimePoint t0 = from_unix(1'700'000'000);
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) expected.push_back(add("login", "", "u", t0).id);
  std::sort(expected.rbegin(), expected.rend());
  audit::AuditQuery q;
  q.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto r = repo_->query(q);
    ASSERT_TRUE(r);
    for (const auto& e : *r) seen.push_back(e.id);
    if (r->size() < 2) break;
    q.after = audit::AuditPosition{r->back().at, r->back().id};
  }
  EXPECT_EQ(seen, expected);
}

TEST_P(AuditRepositoryContract, PurgeBefore) {
  const TimePoint t0 = from_unix(1'700'000'000);
  add("old", "", "", t0);
  add("old", "", "", t0 + std::chrono::seconds(1));
  add("new", "", "", t0 + std::chrono::seconds(10));
  auto n = repo_->purge_before(t0 + std::chrono::seconds(5));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(testing::count_rows(t_.db(), "audit_events"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditRepositoryContract,
                         ::testing::ValuesIn(testing::backends()), testing::backend_name);

}  // namespace
}  // namespace latchkey::store
