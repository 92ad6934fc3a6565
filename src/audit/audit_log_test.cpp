// StoreAuditSink: every event goes to the log sink and, once attached, to the repository.

#include "audit/audit_log.hpp"

#include <gtest/gtest.h>

#include "testing/admin_fakes.hpp"
#include "testing/fakes.hpp"

namespace latchkey::audit {
namespace {

class FailingAuditRepository final : public AuditRepository {
 public:
  Status append(const StoredEvent&) override {
    return Error::make(ErrorCode::kUnavailable, "down");
  }
  Result<std::vector<StoredEvent>> query(const AuditQuery&) override {
    return std::vector<StoredEvent>{};
  }
  Result<std::int64_t> purge_before(TimePoint) override { return std::int64_t{0}; }
};

TEST(StoreAuditSink, LogsAlwaysAndStoresOnceAttached) {
  FakeClock clock;
  SeededRandom random;
  testing::RecordingAudit log;
  testing::FakeAuditRepository repo;
  StoreAuditSink sink(log, clock, random);

  sink.record({.type = "before.attach", .outcome = "success"});
  EXPECT_EQ(log.events.size(), 1u);
  EXPECT_TRUE(repo.events.empty());

  sink.attach(&repo);
  sink.record({.type = "login",
               .outcome = "failure",
               .actor_id = "",
               .subject_id = "u1",
               .ip = "192.0.2.1",
               .user_agent = std::string(600, 'a') + "\xC3\xA9",
               .details = {{"reason", "invalid_credentials"}}});
  ASSERT_EQ(repo.events.size(), 1u);
  ASSERT_EQ(log.events.size(), 2u);
  const auto& stored = repo.events[0];
  EXPECT_EQ(stored.at, clock.now());
  EXPECT_EQ(stored.id.size(), 36u);
  EXPECT_EQ(stored.event.type, "login");
  EXPECT_EQ(stored.event.subject_id, "u1");
  EXPECT_EQ(stored.event.user_agent.size(), 512u);  // clipped to the column
  EXPECT_EQ(stored.event.details["reason"], "invalid_credentials");
  EXPECT_EQ(log.events[1].user_agent.size(), 602u);  // the log line keeps it whole
}

TEST(StoreAuditSink, AFailedInsertIsNotFatal) {
  FakeClock clock;
  SeededRandom random;
  testing::RecordingAudit log;
  FailingAuditRepository repo;
  StoreAuditSink sink(log, clock, random);
  sink.attach(&repo);
  sink.record({.type = "logout", .outcome = "success"});
  EXPECT_EQ(log.events.size(), 1u);  // the log line still carries the event
}

}  // namespace
}  // namespace latchkey::audit
