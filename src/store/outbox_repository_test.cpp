// Contract tests for courier::OutboxRepository, run against every configured database.

#include "store/outbox_repository.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using courier::Email;
using courier::OutboxMessage;
using courier::OutboxStatus;
using std::chrono::seconds;

constexpr seconds kLease{60};

class OutboxRepositoryContract : public ::testing::TestWithParam<std::string> {
 protected:
  OutboxRepositoryContract() : t_(GetParam()), repo_(make_outbox_repository(t_.db())) {}

  // A queued message due `due_in` from the clock's time.
  OutboxMessage make_message(seconds due_in = seconds(0),
                             const std::string& to = "kim@example.com") {
    OutboxMessage m;
    m.id = new_uuid_v7(clock_, random_);
    m.email.to = to;
    m.email.to_name = "Kim";
    m.email.subject = "Verify your e-mail";
    m.email.text = "Your code is 123456.";
    m.email.html = "<p>Your code is <b>123456</b>.</p>";
    m.email.template_id = "verify_email";
    m.created_at = clock_.now();
    m.next_attempt_at = clock_.now() + due_in;
    return m;
  }

  OutboxMessage enqueued(seconds due_in = seconds(0)) {
    OutboxMessage m = make_message(due_in);
    auto st = repo_->enqueue(m);
    EXPECT_TRUE(st) << (st ? "" : st.error().log_detail);
    return m;
  }

  OutboxMessage get(const std::string& id) {
    auto f = repo_->find(id);
    EXPECT_TRUE(f) << (f ? "" : f.error().log_detail);
    if (!f || !f->has_value()) {
      ADD_FAILURE() << "message " << id << " not found";
      return {};
    }
    return **f;
  }

  std::vector<OutboxMessage> claim(int limit, const std::string& owner) {
    auto r = repo_->claim(clock_.now(), kLease, limit, owner);
    EXPECT_TRUE(r) << (r ? "" : r.error().log_detail);
    return r ? *r : std::vector<OutboxMessage>{};
  }

  static std::vector<std::string> ids(const std::vector<OutboxMessage>& ms) {
    std::vector<std::string> out;
    for (const auto& m : ms) out.push_back(m.id);
    return out;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{7};
  testing::TestDatabase t_;
  std::unique_ptr<courier::OutboxRepository> repo_;
};

TEST_P(OutboxRepositoryContract, EnqueueThenFindRoundTrips) {
  OutboxMessage m = make_message(seconds(5), "o'brien+tag@example.com");
  m.email.to_name = "김민수 O'Brien \"Bobby\"; DROP TABLE outbox; --";
  m.email.subject = "가입을 확인해 주세요 — 100% _done_ \\ 'quoted' 😀";
  m.email.text = "안녕하세요,\r\n\r\nline 2 with ? and :name and $1 and %s\n\tend\n";
  m.email.html = "<p lang=\"ko\">안녕하세요 <a href='https://example.com/?a=1&b=2'>link</a></p>";
  ASSERT_TRUE(repo_->enqueue(m));

  OutboxMessage f = get(m.id);
  EXPECT_EQ(f.id, m.id);
  EXPECT_EQ(f.channel, "email");
  EXPECT_EQ(f.email.to, m.email.to);
  EXPECT_EQ(f.email.to_name, m.email.to_name);
  EXPECT_EQ(f.email.subject, m.email.subject);
  EXPECT_EQ(f.email.text, m.email.text);
  EXPECT_EQ(f.email.html, m.email.html);
  EXPECT_EQ(f.email.template_id, "verify_email");
  EXPECT_EQ(f.status, OutboxStatus::kQueued);
  EXPECT_EQ(f.attempts, 0);
  EXPECT_EQ(f.next_attempt_at, m.next_attempt_at);
  EXPECT_EQ(f.created_at, m.created_at);
  EXPECT_FALSE(f.lease_until.has_value());
  EXPECT_EQ(f.lease_owner, "");
  EXPECT_EQ(f.last_error, "");
  EXPECT_FALSE(f.sent_at.has_value());

  // The copies for operators.
  soci::session sql(t_.db().pool());
  std::string recipient, template_id;
  sql << "SELECT recipient, template_id FROM outbox WHERE id = :id", soci::use(m.id),
      soci::into(recipient), soci::into(template_id);
  EXPECT_EQ(recipient, m.email.to);
  EXPECT_EQ(template_id, "verify_email");

  auto unknown = repo_->find("01890000-0000-7000-8000-000000000000");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(OutboxRepositoryContract, SmsMessagesRoundTripAndUnknownChannelsAreRefused) {
  OutboxMessage m = make_message();
  m.channel = "sms";
  m.email = {};
  m.sms = {"+821012345678", "[Latchkey] 인증 코드: 123456", "phone_code"};
  ASSERT_TRUE(repo_->enqueue(m));
  OutboxMessage f = get(m.id);
  EXPECT_EQ(f.channel, "sms");
  EXPECT_EQ(f.sms.to, "+821012345678");
  EXPECT_EQ(f.sms.text, m.sms.text);
  EXPECT_EQ(f.sms.template_id, "phone_code");
  EXPECT_EQ(f.email.to, "");
  soci::session sql(t_.db().pool());
  std::string recipient;
  sql << "SELECT recipient FROM outbox WHERE id = :id", soci::use(m.id), soci::into(recipient);
  EXPECT_EQ(recipient, "+821012345678");

  OutboxMessage bad = make_message();
  bad.channel = "fax";
  auto st = repo_->enqueue(bad);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField);
  auto none = repo_->find(bad.id);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(OutboxRepositoryContract, EnqueueStoresAQueuedMessageWithoutLease) {
  OutboxMessage m = make_message();
  m.status = OutboxStatus::kSending;
  m.lease_owner = "someone";
  m.lease_until = clock_.now() + std::chrono::hours(1);
  ASSERT_TRUE(repo_->enqueue(m));
  OutboxMessage f = get(m.id);
  EXPECT_EQ(f.status, OutboxStatus::kQueued);
  EXPECT_FALSE(f.lease_until.has_value());
  EXPECT_EQ(f.lease_owner, "");
  EXPECT_EQ(ids(claim(10, "a")), std::vector<std::string>{m.id});
}

TEST_P(OutboxRepositoryContract, EnqueueRefusesDuplicatesAndBadFieldsWritingNothing) {
  OutboxMessage m = enqueued();
  OutboxMessage dup = make_message();
  dup.id = m.id;
  dup.email.subject = "other";
  auto st = repo_->enqueue(dup);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  EXPECT_EQ(get(m.id).email.subject, m.email.subject);

  OutboxMessage long_template = make_message();
  long_template.email.template_id = std::string(65, 't');
  st = repo_->enqueue(long_template);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(st.error().field, "template_id");

  OutboxMessage bad_utf8 = make_message();
  bad_utf8.email.subject = "caf\xe9";
  st = repo_->enqueue(bad_utf8);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "subject");

  OutboxMessage no_recipient = make_message();
  no_recipient.email.to.clear();
  st = repo_->enqueue(no_recipient);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "to");

  EXPECT_EQ(testing::count_rows(t_.db(), "outbox"), 1);
}

TEST_P(OutboxRepositoryContract, ClaimTakesDueMessagesOldestFirstUpToTheLimit) {
  OutboxMessage c = enqueued(seconds(-10));
  OutboxMessage a = enqueued(seconds(-30));
  OutboxMessage later = enqueued(seconds(10));
  OutboxMessage now = enqueued(seconds(0));
  OutboxMessage b = enqueued(seconds(-20));

  auto first = claim(3, "dispatcher-a");
  EXPECT_EQ(ids(first), (std::vector<std::string>{a.id, b.id, c.id}));
  for (const auto& m : first) {
    EXPECT_EQ(m.status, OutboxStatus::kSending);
    EXPECT_EQ(m.lease_owner, "dispatcher-a");
    ASSERT_TRUE(m.lease_until.has_value());
    EXPECT_EQ(*m.lease_until, clock_.now() + kLease);
    EXPECT_EQ(m.attempts, 0);
    EXPECT_EQ(m.email.to, "kim@example.com");
  }
  EXPECT_EQ(first[0].next_attempt_at, a.next_attempt_at);
  OutboxMessage stored = get(a.id);
  EXPECT_EQ(stored.status, OutboxStatus::kSending);
  EXPECT_EQ(stored.lease_owner, "dispatcher-a");
  EXPECT_EQ(stored.lease_until, clock_.now() + kLease);

  EXPECT_EQ(ids(claim(10, "dispatcher-b")), std::vector<std::string>{now.id});
  EXPECT_TRUE(claim(10, "dispatcher-b").empty());
  EXPECT_EQ(get(later.id).status, OutboxStatus::kQueued);

  clock_.advance(seconds(10));
  EXPECT_EQ(ids(claim(10, "dispatcher-b")), std::vector<std::string>{later.id});
  EXPECT_TRUE(claim(0, "dispatcher-b").empty());
}

TEST_P(OutboxRepositoryContract, EqualDueTimesComeInIdOrder) {
  std::vector<OutboxMessage> ms;
  for (int i = 0; i < 4; ++i) ms.push_back(enqueued(seconds(-1)));
  std::vector<std::string> want = ids(ms);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids(claim(10, "a")), want);
}

TEST_P(OutboxRepositoryContract, ALeaseIsHonouredUntilItRunsOut) {
  OutboxMessage m = enqueued();
  ASSERT_EQ(claim(10, "a").size(), 1u);

  clock_.advance(kLease - seconds(1));
  EXPECT_TRUE(claim(10, "b").empty());
  EXPECT_EQ(get(m.id).lease_owner, "a");

  clock_.advance(seconds(1));  // the lease has run out: a died mid-send
  auto taken = claim(10, "b");
  ASSERT_EQ(ids(taken), std::vector<std::string>{m.id});
  EXPECT_EQ(taken[0].lease_owner, "b");
  EXPECT_EQ(*taken[0].lease_until, clock_.now() + kLease);

  // a comes back: its marks change nothing.
  auto late = repo_->mark_sent(m.id, "a", 1, clock_.now());
  ASSERT_TRUE(late) << late.error().log_detail;
  EXPECT_FALSE(*late);
  OutboxMessage f = get(m.id);
  EXPECT_EQ(f.status, OutboxStatus::kSending);
  EXPECT_EQ(f.lease_owner, "b");
  EXPECT_FALSE(f.sent_at.has_value());

  auto done = repo_->mark_sent(m.id, "b", 1, clock_.now());
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);
}

TEST_P(OutboxRepositoryContract, MarksByANonOwnerChangeNothing) {
  OutboxMessage m = enqueued();
  ASSERT_EQ(claim(10, "owner").size(), 1u);
  const OutboxMessage before = get(m.id);

  auto sent = repo_->mark_sent(m.id, "intruder", 1, clock_.now());
  auto retry = repo_->mark_retry(m.id, "intruder", 1, clock_.now() + seconds(30), "x");
  auto dead = repo_->mark_dead(m.id, "intruder", 1, "x");
  ASSERT_TRUE(sent && retry && dead);
  EXPECT_FALSE(*sent);
  EXPECT_FALSE(*retry);
  EXPECT_FALSE(*dead);
  OutboxMessage after = get(m.id);
  EXPECT_EQ(after.status, OutboxStatus::kSending);
  EXPECT_EQ(after.attempts, before.attempts);
  EXPECT_EQ(after.lease_owner, "owner");
  EXPECT_EQ(after.lease_until, before.lease_until);
  EXPECT_EQ(after.next_attempt_at, before.next_attempt_at);
  EXPECT_EQ(after.last_error, "");

  auto unknown = repo_->mark_sent("01890000-0000-7000-8000-000000000000", "owner", 1, clock_.now());
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);

  // Once finished, even the owner cannot mark it again.
  ASSERT_TRUE(*repo_->mark_sent(m.id, "owner", 1, clock_.now()));
  auto again = repo_->mark_retry(m.id, "owner", 2, clock_.now(), "late");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto again_dead = repo_->mark_dead(m.id, "owner", 2, "late");
  ASSERT_TRUE(again_dead);
  EXPECT_FALSE(*again_dead);
  EXPECT_EQ(get(m.id).status, OutboxStatus::kSent);
  EXPECT_EQ(get(m.id).attempts, 1);
}

TEST_P(OutboxRepositoryContract, MarkRetryRequeuesForLater) {
  OutboxMessage m = enqueued();
  ASSERT_EQ(claim(10, "a").size(), 1u);
  const TimePoint next = clock_.now() + seconds(30);
  auto r = repo_->mark_retry(m.id, "a", 1, next, "unavailable: 421 try again later");
  ASSERT_TRUE(r) << r.error().log_detail;
  EXPECT_TRUE(*r);
  OutboxMessage f = get(m.id);
  EXPECT_EQ(f.status, OutboxStatus::kQueued);
  EXPECT_EQ(f.attempts, 1);
  EXPECT_EQ(f.next_attempt_at, next);
  EXPECT_EQ(f.last_error, "unavailable: 421 try again later");
  EXPECT_FALSE(f.lease_until.has_value());
  EXPECT_EQ(f.lease_owner, "");

  clock_.advance(seconds(29));
  EXPECT_TRUE(claim(10, "b").empty());
  clock_.advance(seconds(1));
  auto again = claim(10, "b");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].last_error, "unavailable: 421 try again later");
}

TEST_P(OutboxRepositoryContract, MarkSentAndMarkDeadAreFinal) {
  OutboxMessage s = enqueued();
  OutboxMessage d = enqueued();
  ASSERT_EQ(claim(10, "a").size(), 2u);
  clock_.advance(seconds(2));
  ASSERT_TRUE(*repo_->mark_sent(s.id, "a", 3, clock_.now()));
  ASSERT_TRUE(*repo_->mark_dead(d.id, "a", 8, "invalid_email: mailbox unavailable (550)"));

  OutboxMessage fs = get(s.id);
  EXPECT_EQ(fs.status, OutboxStatus::kSent);
  EXPECT_EQ(fs.attempts, 3);
  EXPECT_EQ(fs.sent_at, clock_.now());
  EXPECT_FALSE(fs.lease_until.has_value());
  EXPECT_EQ(fs.lease_owner, "a");
  OutboxMessage fd = get(d.id);
  EXPECT_EQ(fd.status, OutboxStatus::kDead);
  EXPECT_EQ(fd.attempts, 8);
  EXPECT_EQ(fd.last_error, "invalid_email: mailbox unavailable (550)");
  EXPECT_FALSE(fd.sent_at.has_value());
  EXPECT_FALSE(fd.lease_until.has_value());

  clock_.advance(std::chrono::hours(24));
  EXPECT_TRUE(claim(10, "b").empty());
}

TEST_P(OutboxRepositoryContract, LastErrorIsCutAtACharacterBoundaryAndMadeValid) {
  OutboxMessage m = enqueued();
  ASSERT_EQ(claim(10, "a").size(), 1u);
  std::string longer = "xx";
  for (int i = 0; i < 600; ++i) longer += "한";  // 3 bytes each
  ASSERT_TRUE(*repo_->mark_retry(m.id, "a", 1, clock_.now(), longer));
  OutboxMessage f = get(m.id);
  EXPECT_EQ(f.last_error.size(), 998u);  // 2 + 332 * 3; one more character would pass 1000
  EXPECT_EQ(f.last_error, longer.substr(0, 998));
  EXPECT_TRUE(is_valid_utf8(f.last_error));

  ASSERT_EQ(claim(10, "a").size(), 1u);
  ASSERT_TRUE(*repo_->mark_dead(m.id, "a", 2, std::string("550 \xff\xfe bad\0reply", 16)));
  EXPECT_EQ(get(m.id).last_error, "550 ?? bad?reply");
}

TEST_P(OutboxRepositoryContract, CountsByStatus) {
  auto empty = repo_->counts();
  ASSERT_TRUE(empty) << empty.error().log_detail;
  EXPECT_EQ(empty->queued, 0);
  EXPECT_EQ(empty->sent, 0);
  EXPECT_EQ(empty->dead, 0);

  OutboxMessage s = enqueued(seconds(-3));
  OutboxMessage d = enqueued(seconds(-2));
  enqueued(seconds(-1));  // will be sending
  enqueued(seconds(100));
  enqueued(seconds(200));
  ASSERT_EQ(claim(3, "a").size(), 3u);
  ASSERT_TRUE(*repo_->mark_sent(s.id, "a", 1, clock_.now()));
  ASSERT_TRUE(*repo_->mark_dead(d.id, "a", 1, "permanent"));

  auto c = repo_->counts();
  ASSERT_TRUE(c) << c.error().log_detail;
  EXPECT_EQ(c->queued, 3);  // two queued, one sending
  EXPECT_EQ(c->sent, 1);
  EXPECT_EQ(c->dead, 1);
}

TEST_P(OutboxRepositoryContract, PurgeSentRemovesOnlyOldSentMessages) {
  OutboxMessage old_sent = enqueued();
  OutboxMessage new_sent = enqueued();
  OutboxMessage dead = enqueued();
  OutboxMessage queued = enqueued(seconds(3600));
  ASSERT_EQ(claim(10, "a").size(), 3u);
  ASSERT_TRUE(*repo_->mark_sent(old_sent.id, "a", 1, clock_.now()));
  ASSERT_TRUE(*repo_->mark_dead(dead.id, "a", 1, "gone"));
  clock_.advance(std::chrono::hours(1));
  ASSERT_TRUE(*repo_->mark_sent(new_sent.id, "a", 1, clock_.now()));

  auto n = repo_->purge_sent(clock_.now() - seconds(1));
  ASSERT_TRUE(n) << n.error().log_detail;
  EXPECT_EQ(*n, 1);
  auto gone = repo_->find(old_sent.id);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(get(new_sent.id).status, OutboxStatus::kSent);
  EXPECT_EQ(get(dead.id).status, OutboxStatus::kDead);
  EXPECT_EQ(get(queued.id).status, OutboxStatus::kQueued);
  auto again = repo_->purge_sent(clock_.now() - seconds(1));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

TEST_P(OutboxRepositoryContract, EnqueueJoinsTheUnitOfWork) {
  auto uow = make_unit_of_work(t_.db());
  OutboxMessage rolled_back = make_message();
  auto st = uow->run([&]() -> Status {
    if (auto s = repo_->enqueue(rolled_back); !s) return s;
    auto seen = repo_->find(rolled_back.id);  // the unit sees its own write
    if (!seen || !seen->has_value()) return Error::internal("the unit did not see its write");
    return Error::make(ErrorCode::kInvalidField, "refused after the enqueue");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidField);
  auto gone = repo_->find(rolled_back.id);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(testing::count_rows(t_.db(), "outbox"), 0);

  OutboxMessage committed = make_message();
  st = uow->run([&]() -> Status { return repo_->enqueue(committed); });
  ASSERT_TRUE(st) << st.error().log_detail;
  EXPECT_EQ(get(committed.id).status, OutboxStatus::kQueued);
}

TEST_P(OutboxRepositoryContract, ClaimRefusesBadOwners) {
  enqueued();
  auto empty = repo_->claim(clock_.now(), kLease, 10, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidField);
  auto too_long = repo_->claim(clock_.now(), kLease, 10, std::string(65, 'o'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(ids(claim(10, std::string(64, 'o'))).size(), 1u);
}

TEST_P(OutboxRepositoryContract, ConcurrentClaimersNeverShareAMessage) {
  constexpr int kMessages = 200;
  constexpr int kThreads = 4;
  auto uow = make_unit_of_work(t_.db());
  std::vector<OutboxMessage> all;
  for (int i = 0; i < kMessages; ++i) all.push_back(make_message(seconds(-(i % 7))));
  ASSERT_TRUE(uow->run([&]() -> Status {
    for (const auto& m : all) {
      if (auto s = repo_->enqueue(m); !s) return s;
    }
    return {};
  }));

  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> owners_of;  // id -> owners that got it
  std::vector<std::string> errors;
  const TimePoint now = clock_.now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string owner = "claimer-" + std::to_string(t);
      for (;;) {
        auto batch = repo_->claim(now, kLease, 10, owner);
        std::lock_guard lock(mutex);
        if (!batch) {
          errors.push_back(batch.error().log_detail);
          return;
        }
        if (batch->empty()) return;
        EXPECT_LE(batch->size(), 10u);
        for (const auto& m : *batch) {
          EXPECT_EQ(m.lease_owner, owner);
          owners_of[m.id].push_back(owner);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(owners_of.size(), static_cast<std::size_t>(kMessages));
  for (const auto& m : all) {
    auto it = owners_of.find(m.id);
    ASSERT_NE(it, owners_of.end()) << m.id << " was never claimed";
    EXPECT_EQ(it->second.size(), 1u) << m.id << " was claimed more than once";
    // The row names the one owner that got it.
    OutboxMessage stored = get(m.id);
    EXPECT_EQ(stored.status, OutboxStatus::kSending);
    EXPECT_EQ(stored.lease_owner, it->second.front());
  }
  EXPECT_TRUE(repo_->claim(now, kLease, 10, "late")->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, OutboxRepositoryContract,
                         ::testing::ValuesIn(testing::backends()), testing::backend_name);

}  // namespace
}  // namespace latchkey::store
