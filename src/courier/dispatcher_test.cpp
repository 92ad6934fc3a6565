#include "courier/dispatcher.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/ids.hpp"
#include "testing/courier_fakes.hpp"
#include "testing/log_capture.hpp"

namespace latchkey::courier {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeEmailChannel;
using testing::FakeOutboxRepository;
using testing::LogCapture;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherOptions options() {
    DispatcherOptions o;
    o.owner = "test-dispatcher";
    return o;
  }

  OutboxMessage queue(seconds due_in = seconds(0)) {
    OutboxMessage m;
    m.id = new_uuid_v7(clock_, random_);
    m.email.to = "kim@example.com";
    m.email.to_name = "김민수";
    m.email.subject = "가입을 확인해 주세요";
    m.email.text = "secret-body-text https://auth.example.com/verify?token=tok123";
    m.email.template_id = "verify_email";
    m.created_at = clock_.now();
    m.next_attempt_at = clock_.now() + due_in;
    EXPECT_TRUE(outbox_.enqueue(m));
    return m;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{3};
  FakeOutboxRepository outbox_;
  FakeEmailChannel channel_;
};

TEST_F(DispatcherTest, DeliversOnceAndMarksSent) {
  LogCapture logs;
  Dispatcher d(outbox_, channel_, clock_, random_, options());
  OutboxMessage m = queue();

  EXPECT_EQ(d.run_once(), 1);
  auto sent = channel_.delivered();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_id, m.id);
  EXPECT_EQ(sent[0].email.to, m.email.to);
  EXPECT_EQ(sent[0].email.subject, m.email.subject);
  EXPECT_EQ(sent[0].email.text, m.email.text);

  OutboxMessage stored = outbox_.get(m.id);
  EXPECT_EQ(stored.status, OutboxStatus::kSent);
  EXPECT_EQ(stored.attempts, 1);
  EXPECT_EQ(stored.sent_at, clock_.now());
  EXPECT_EQ(stored.lease_owner, "test-dispatcher");

  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(d.run_once(), 0);
  EXPECT_EQ(channel_.attempts(), 1);
  EXPECT_EQ(d.sent_total(), 1);
  EXPECT_EQ(d.failed_attempts_total(), 0);
  EXPECT_EQ(d.dead_total(), 0);

  auto lines = logs.events("message sent");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["id"], m.id);
  EXPECT_EQ(lines[0]["template_id"], "verify_email");
  EXPECT_EQ(lines[0]["attempts"], 1);
  EXPECT_EQ(logs.text().find("secret-body-text"), std::string::npos);
  EXPECT_EQ(logs.text().find("tok123"), std::string::npos);
}

// Records SMS deliveries.
class RecordingSms final : public courier::SmsChannel {
 public:
  Status send(const courier::Sms& sms, const std::string& message_id) override {
    sent.emplace_back(message_id, sms);
    return {};
  }
  std::vector<std::pair<std::string, courier::Sms>> sent;
};

TEST_F(DispatcherTest, SmsMessagesGoToTheSmsChannelOrDieWithoutOne) {
  RecordingSms sms;
  Dispatcher d(outbox_, channel_, clock_, random_, options(), &sms);
  OutboxMessage m;
  m.id = new_uuid_v7(clock_, random_);
  m.channel = "sms";
  m.sms = {"+821012345678", "code 123456", "phone_code"};
  m.created_at = m.next_attempt_at = clock_.now();
  ASSERT_TRUE(outbox_.enqueue(m));
  EXPECT_EQ(d.run_once(), 1);
  ASSERT_EQ(sms.sent.size(), 1u);
  EXPECT_EQ(sms.sent[0].first, m.id);
  EXPECT_EQ(sms.sent[0].second.to, "+821012345678");
  EXPECT_EQ(channel_.attempts(), 0);
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kSent);

  Dispatcher no_sms(outbox_, channel_, clock_, random_, options());
  m.id = new_uuid_v7(clock_, random_);
  ASSERT_TRUE(outbox_.enqueue(m));
  EXPECT_EQ(no_sms.run_once(), 1);
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kDead);
  EXPECT_NE(outbox_.get(m.id).last_error.find("sms.channel"), std::string::npos);
}

TEST_F(DispatcherTest, DeliversABatchOldestFirstAndLeavesFutureMessages) {
  DispatcherOptions o = options();
  o.batch = 2;
  Dispatcher d(outbox_, channel_, clock_, random_, o);
  OutboxMessage second = queue(seconds(-5));
  OutboxMessage first = queue(seconds(-10));
  OutboxMessage third = queue(seconds(-1));
  OutboxMessage future = queue(seconds(30));

  EXPECT_EQ(d.run_once(), 2);
  EXPECT_EQ(d.run_once(), 1);
  EXPECT_EQ(d.run_once(), 0);
  auto sent = channel_.delivered();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].message_id, first.id);
  EXPECT_EQ(sent[1].message_id, second.id);
  EXPECT_EQ(sent[2].message_id, third.id);
  EXPECT_EQ(outbox_.get(future.id).status, OutboxStatus::kQueued);
}

TEST_F(DispatcherTest, TransientFailuresAreRetriedWithBackoffThenDelivered) {
  LogCapture logs;
  Dispatcher d(outbox_, channel_, clock_, random_, options());
  OutboxMessage m = queue();
  channel_.fail_transient(2);

  // Attempt 1 fails: due again after 30 s +/- 20 %.
  EXPECT_EQ(d.run_once(), 1);
  OutboxMessage s = outbox_.get(m.id);
  EXPECT_EQ(s.status, OutboxStatus::kQueued);
  EXPECT_EQ(s.attempts, 1);
  EXPECT_GE(s.next_attempt_at, clock_.now() + seconds(24));
  EXPECT_LE(s.next_attempt_at, clock_.now() + seconds(36));
  EXPECT_EQ(s.last_error, "unavailable: mail server unavailable (smtp: 421 4.3.2 try again later)");
  EXPECT_EQ(s.lease_owner, "");
  EXPECT_FALSE(s.lease_until.has_value());

  EXPECT_EQ(d.run_once(), 0);  // not due yet
  clock_.advance(s.next_attempt_at - clock_.now() - seconds(1));
  EXPECT_EQ(d.run_once(), 0);
  clock_.advance(seconds(1));

  // Attempt 2 fails: 60 s +/- 20 %.
  EXPECT_EQ(d.run_once(), 1);
  s = outbox_.get(m.id);
  EXPECT_EQ(s.status, OutboxStatus::kQueued);
  EXPECT_EQ(s.attempts, 2);
  EXPECT_GE(s.next_attempt_at, clock_.now() + seconds(48));
  EXPECT_LE(s.next_attempt_at, clock_.now() + seconds(72));

  clock_.advance(s.next_attempt_at - clock_.now());
  EXPECT_EQ(d.run_once(), 1);
  s = outbox_.get(m.id);
  EXPECT_EQ(s.status, OutboxStatus::kSent);
  EXPECT_EQ(s.attempts, 3);
  EXPECT_EQ(channel_.attempts(), 3);
  EXPECT_EQ(channel_.delivered().size(), 1u);
  EXPECT_EQ(d.sent_total(), 1);
  EXPECT_EQ(d.failed_attempts_total(), 2);
  EXPECT_EQ(d.dead_total(), 0);

  auto warnings = logs.events("email delivery failed");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0]["level"], "warn");
  EXPECT_EQ(warnings[0]["id"], m.id);
  EXPECT_EQ(warnings[0]["outcome"], "retry");
  EXPECT_EQ(warnings[1]["attempts"], 2);
}

TEST_F(DispatcherTest, RetryDelayDoublesIsCappedAndJittered) {
  DispatcherOptions o = options();
  o.retry_base = seconds(30);
  o.retry_max = seconds(3600);
  Dispatcher d(outbox_, channel_, clock_, random_, o);
  auto check = [&](int attempts, long long center_ms) {
    long long lo = center_ms, hi = center_ms;
    for (int i = 0; i < 300; ++i) {
      const long long ms = d.retry_delay(attempts).count();
      ASSERT_GE(ms, center_ms * 8 / 10) << "attempt " << attempts;
      ASSERT_LE(ms, center_ms * 12 / 10) << "attempt " << attempts;
      lo = std::min(lo, ms);
      hi = std::max(hi, ms);
    }
    // The jitter spreads over most of its range.
    EXPECT_LT(lo, center_ms * 85 / 100) << "attempt " << attempts;
    EXPECT_GT(hi, center_ms * 115 / 100) << "attempt " << attempts;
  };
  check(1, 30'000);
  check(2, 60'000);
  check(3, 120'000);
  check(7, 1'920'000);
  check(8, 3'600'000);  // 3 840 s capped
  check(1000, 3'600'000);
}

TEST_F(DispatcherTest, DeadAfterMaxAttemptsWithTheLastError) {
  DispatcherOptions o = options();
  o.max_attempts = 3;
  Dispatcher d(outbox_, channel_, clock_, random_, o);
  OutboxMessage m = queue();
  channel_.fail_transient(100);

  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d.run_once(), 1) << "attempt " << i + 1;
    clock_.advance(std::chrono::hours(2));
  }
  OutboxMessage s = outbox_.get(m.id);
  EXPECT_EQ(s.status, OutboxStatus::kDead);
  EXPECT_EQ(s.attempts, 3);
  EXPECT_EQ(s.last_error, "unavailable: mail server unavailable (smtp: 421 4.3.2 try again later)");
  EXPECT_FALSE(s.sent_at.has_value());
  EXPECT_EQ(d.run_once(), 0);
  EXPECT_EQ(channel_.attempts(), 3);
  EXPECT_EQ(d.failed_attempts_total(), 3);
  EXPECT_EQ(d.dead_total(), 1);
  EXPECT_EQ(d.sent_total(), 0);
  auto c = outbox_.counts();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dead, 1);
  EXPECT_EQ(c->queued, 0);
}

TEST_F(DispatcherTest, APermanentErrorIsDeadAtOnce) {
  Dispatcher d(outbox_, channel_, clock_, random_, options());
  OutboxMessage m = queue(seconds(-1));  // sent first
  OutboxMessage next = queue();
  channel_.fail_permanent(1);

  EXPECT_EQ(d.run_once(), 2);
  OutboxMessage s = outbox_.get(m.id);
  EXPECT_EQ(s.status, OutboxStatus::kDead);
  EXPECT_EQ(s.attempts, 1);
  EXPECT_EQ(s.last_error, "invalid_email: mailbox unavailable (smtp: 550 5.1.1 no such user)");
  EXPECT_EQ(outbox_.get(next.id).status, OutboxStatus::kSent);  // the batch goes on
  EXPECT_EQ(d.dead_total(), 1);
  EXPECT_EQ(d.failed_attempts_total(), 1);
  EXPECT_EQ(d.sent_total(), 1);
}

TEST_F(DispatcherTest, AnInternalErrorIsPermanentToo) {
  Dispatcher d(outbox_, channel_, clock_, random_, options());
  OutboxMessage m = queue();
  channel_.fail_permanent(1, ErrorCode::kInternal);
  EXPECT_EQ(d.run_once(), 1);
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kDead);
}

TEST_F(DispatcherTest, AMessageLeasedElsewhereIsNotSent) {
  Dispatcher d(outbox_, channel_, clock_, random_, options());
  OutboxMessage m = queue();
  auto other = outbox_.claim(clock_.now(), seconds(60), 10, "other-replica");
  ASSERT_TRUE(other);
  ASSERT_EQ(other->size(), 1u);

  EXPECT_EQ(d.run_once(), 0);
  clock_.advance(seconds(59));
  EXPECT_EQ(d.run_once(), 0);
  EXPECT_EQ(channel_.attempts(), 0);
  EXPECT_EQ(outbox_.get(m.id).lease_owner, "other-replica");

  // The other replica died: once its lease runs out, this one delivers.
  clock_.advance(seconds(1));
  EXPECT_EQ(d.run_once(), 1);
  EXPECT_EQ(channel_.delivered().size(), 1u);
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kSent);
  auto late = outbox_.mark_sent(m.id, "other-replica", 1, clock_.now());
  ASSERT_TRUE(late);
  EXPECT_FALSE(*late);
}

TEST_F(DispatcherTest, AShortLeaseIsHandedBackUnsent) {
  DispatcherOptions o = options();
  o.lease = seconds(60);
  Dispatcher d(outbox_, channel_, clock_, random_, o);
  OutboxMessage slow = queue(seconds(-2));
  OutboxMessage m = queue(seconds(-1));
  // The first send takes 40 s of the 60 s lease: too little is left for the second.
  channel_.set_on_send([&] { clock_.advance(seconds(40)); });

  EXPECT_EQ(d.run_once(), 1);
  EXPECT_EQ(channel_.attempts(), 1);
  EXPECT_EQ(outbox_.get(slow.id).status, OutboxStatus::kSent);
  OutboxMessage back = outbox_.get(m.id);
  EXPECT_EQ(back.status, OutboxStatus::kQueued);
  EXPECT_EQ(back.attempts, 0);
  EXPECT_EQ(back.next_attempt_at, m.next_attempt_at);

  channel_.set_on_send(nullptr);
  EXPECT_EQ(d.run_once(), 1);
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kSent);
}

TEST_F(DispatcherTest, StorageErrorsAreReportedNotThrown) {
  Dispatcher d(outbox_, channel_, clock_, random_, options());
  OutboxMessage m = queue();
  {
    std::lock_guard lock(outbox_.mutex_);
    outbox_.fail_next = 1;
  }
  EXPECT_EQ(d.run_once(), 0);  // the claim failed
  EXPECT_EQ(channel_.attempts(), 0);
  EXPECT_EQ(d.run_once(), 1);
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kSent);
}

TEST_F(DispatcherTest, OptionsAreChecked) {
  auto make = [&](auto change) {
    DispatcherOptions o = options();
    change(o);
    Dispatcher d(outbox_, channel_, clock_, random_, o);
  };
  EXPECT_THROW(make([](auto& o) { o.batch = 0; }), std::invalid_argument);
  EXPECT_THROW(make([](auto& o) { o.max_attempts = 0; }), std::invalid_argument);
  EXPECT_THROW(make([](auto& o) { o.lease = seconds(0); }), std::invalid_argument);
  EXPECT_THROW(make([](auto& o) { o.poll_interval = milliseconds(0); }), std::invalid_argument);
  EXPECT_THROW(make([](auto& o) { o.retry_max = seconds(10); }), std::invalid_argument);
  EXPECT_THROW(make([](auto& o) { o.owner = std::string(65, 'o'); }), std::invalid_argument);
  EXPECT_NO_THROW(make([](auto& o) { o.owner.clear(); }));
}

TEST(DispatcherOwner, DefaultOwnerIsUniqueAndFits) {
  SeededRandom random(5);
  std::string a = default_dispatcher_owner(random);
  std::string b = default_dispatcher_owner(random);
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 64u);
  EXPECT_NE(a.find("-" + std::to_string(::getpid()) + "-"), std::string::npos);
}

// --- the background thread, on the real clock ---

class DispatcherThreadTest : public DispatcherTest {
 protected:
  OutboxMessage queue_now() {
    OutboxMessage m;
    m.id = new_uuid_v7(real_clock_, os_random_);
    m.email.to = "kim@example.com";
    m.email.subject = "hello";
    m.email.text = "hi";
    m.email.template_id = "verify_email";
    m.created_at = m.next_attempt_at = real_clock_.now();
    EXPECT_TRUE(outbox_.enqueue(m));
    return m;
  }
  // Waits until `done` or `limit` passed; returns the time waited.
  template <typename F>
  milliseconds wait_for(F done, milliseconds limit = milliseconds(5000)) {
    const auto start = std::chrono::steady_clock::now();
    while (!done() && std::chrono::steady_clock::now() - start < limit) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  }

  SystemClock real_clock_;
  OsRandom os_random_;
};

TEST_F(DispatcherThreadTest, DeliversAQueuedMessageWithinAPollInterval) {
  DispatcherOptions o = options();
  o.poll_interval = milliseconds(300);
  Dispatcher d(outbox_, channel_, real_clock_, os_random_, o);
  d.start();
  std::this_thread::sleep_for(milliseconds(50));  // the thread is asleep, nothing was due
  OutboxMessage m = queue_now();
  const auto waited = wait_for([&] { return channel_.delivered().size() == 1; });
  ASSERT_EQ(channel_.delivered().size(), 1u);
  EXPECT_LT(waited, milliseconds(300 + 700));  // a poll interval, plus scheduling slack

  const auto start = std::chrono::steady_clock::now();
  d.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(outbox_.get(m.id).status, OutboxStatus::kSent);
  EXPECT_EQ(d.sent_total(), 1);
}

TEST_F(DispatcherThreadTest, WakeDeliversWithoutWaitingAndStopJoinsPromptly) {
  DispatcherOptions o = options();
  o.poll_interval = milliseconds(30'000);
  Dispatcher d(outbox_, channel_, real_clock_, os_random_, o);
  d.start();
  ASSERT_LT(wait_for([&] {
              std::lock_guard lock(outbox_.mutex_);
              return outbox_.claims >= 1;
            }),
            milliseconds(5000));  // the first round ran and found nothing: asleep for 30 s
  queue_now();
  d.wake();
  const auto waited = wait_for([&] { return channel_.delivered().size() == 1; });
  EXPECT_EQ(channel_.delivered().size(), 1u);
  EXPECT_LT(waited, milliseconds(2000));

  const auto start = std::chrono::steady_clock::now();
  d.stop();  // wakes the 30 s sleep
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  d.stop();  // idempotent
}

TEST_F(DispatcherThreadTest, StopFinishesTheMessageInHandAndHandsTheRestBack) {
  DispatcherOptions o = options();
  o.poll_interval = milliseconds(50);
  Dispatcher d(outbox_, channel_, real_clock_, os_random_, o);
  std::vector<OutboxMessage> ms;
  for (int i = 0; i < 3; ++i) ms.push_back(queue_now());
  std::atomic<bool> in_send{false};
  channel_.set_on_send([&] {
    in_send = true;
    std::this_thread::sleep_for(milliseconds(300));  // stop() arrives during this send
  });
  d.start();
  wait_for([&] { return in_send.load(); });
  ASSERT_TRUE(in_send);
  d.stop();

  // The first message was sent and marked; the others are queued again, untouched.
  EXPECT_EQ(channel_.attempts(), 1);
  ASSERT_EQ(channel_.delivered().size(), 1u);
  const std::string sent_id = channel_.delivered()[0].message_id;
  int queued = 0;
  for (const auto& m : ms) {
    OutboxMessage s = outbox_.get(m.id);
    if (m.id == sent_id) {
      EXPECT_EQ(s.status, OutboxStatus::kSent);
      continue;
    }
    ++queued;
    EXPECT_EQ(s.status, OutboxStatus::kQueued);
    EXPECT_EQ(s.attempts, 0);
    EXPECT_FALSE(s.lease_until.has_value());
  }
  EXPECT_EQ(queued, 2);

  // A restarted dispatcher (another owner) sends the rest at once: nothing lost, nothing twice.
  channel_.set_on_send(nullptr);
  DispatcherOptions o2 = options();
  o2.owner = "restarted";
  Dispatcher again(outbox_, channel_, real_clock_, os_random_, o2);
  EXPECT_EQ(again.run_once(), 2);
  EXPECT_EQ(channel_.delivered().size(), 3u);
  std::set<std::string> ids;
  for (const auto& s : channel_.delivered()) ids.insert(s.message_id);
  EXPECT_EQ(ids.size(), 3u);
}

TEST_F(DispatcherThreadTest, TheThreadSurvivesStorageErrors) {
  DispatcherOptions o = options();
  o.poll_interval = milliseconds(20);
  Dispatcher d(outbox_, channel_, real_clock_, os_random_, o);
  queue_now();
  {
    std::lock_guard lock(outbox_.mutex_);
    outbox_.fail_next = 3;
  }
  channel_.set_on_send([] { throw std::runtime_error("a channel bug"); });
  OutboxMessage second;
  d.start();
  // The three failed claims back off; the exception becomes a dead message, not a dead thread.
  wait_for([&] { return d.dead_total() == 1; });
  EXPECT_EQ(d.dead_total(), 1);
  channel_.set_on_send(nullptr);
  second = queue_now();
  d.wake();
  wait_for([&] { return channel_.delivered().size() == 1; });
  EXPECT_EQ(channel_.delivered().size(), 1u);
  d.stop();
  EXPECT_EQ(outbox_.get(second.id).status, OutboxStatus::kSent);
}

}  // namespace
}  // namespace latchkey::courier
