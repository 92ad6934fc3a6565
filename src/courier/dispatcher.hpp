#pragma once
// The outbox dispatcher: delivers queued messages through the e-mail channel, outside any
// request. Every replica may run one; the outbox leases each message to one of them at a time.
//
//   courier::Dispatcher dispatcher(*outbox, *smtp, clock, random, {.owner = ""});
//   dispatcher.start();          // background thread
//   ...                          // after a request queued mail: dispatcher.wake();
//   dispatcher.stop();           // on shutdown: finishes the message in hand, then joins
//
// One round (run_once): claim up to `batch` due messages, then for each: send it, and
//   - delivered                                  -> mark_sent
//   - kUnavailable and attempts < max_attempts   -> mark_retry, next attempt after the backoff
//   - any other error, or attempts = max_attempts -> mark_dead
// `attempts` counts this delivery too. last_error is "<code id>: <message> (<log_detail>)";
// channels keep secrets out of their errors.
//
// Delivery is at least once: a dispatcher that dies after sending but before marking leaves
// the message leased, and it is sent again once the lease runs out (with the same Message-ID,
// since the channel derives it from the outbox id). A graceful stop() never does that: the
// message in hand is sent and marked, and the rest of the claimed batch is handed back at once
// (queued again with its attempts and due time unchanged). A message whose lease has less than
// half of `lease` left when its turn comes (slow sends earlier in the batch) is handed back
// unsent rather than risk a second dispatcher sending it too.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "courier/message.hpp"
#include "courier/outbox.hpp"

namespace latchkey::courier {

struct DispatcherOptions {
  // Lease owner, 1..64 bytes, unique per running dispatcher. Empty: default_dispatcher_owner().
  std::string owner;
  std::chrono::milliseconds poll_interval{1000};  // sleep when nothing was due
  int batch = 10;                                 // messages claimed per round
  std::chrono::seconds lease{60};                 // longer than one send can take
  int max_attempts = 8;
  std::chrono::seconds retry_base{30};  // delay after the first failed attempt
  std::chrono::seconds retry_max{3600};
};

// "<hostname>-<pid>-<8 hex digits from random>", the hostname cut so the whole is <= 64 bytes.
std::string default_dispatcher_owner(Random& random);

class Dispatcher {
 public:
  // Throws std::invalid_argument when an option is out of range (start-up failure). All
  // references must outlive the dispatcher; `random` is used from the dispatcher's thread
  // (OsRandom is safe to share).
  // `sms` may be null: SMS messages then go dead with an error naming the missing channel.
  Dispatcher(OutboxRepository& outbox, EmailChannel& channel, const Clock& clock, Random& random,
             DispatcherOptions options = {}, SmsChannel* sms = nullptr);
  ~Dispatcher();  // stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // One round on the calling thread; returns the number of messages sent or marked failed.
  // Errors are logged, never thrown. Not to be called while the thread runs.
  int run_once();

  // Runs rounds on a background thread until stop(): right away again after a round that
  // processed something, otherwise after poll_interval (or sooner on wake()). After a storage
  // error the thread waits poll_interval and tries again; it never exits on an error.
  // Throws std::logic_error when already running.
  void start();
  // Ends a sleep early: call it after queueing a message to deliver it without waiting.
  void wake();
  // Finishes the message in hand (sends and marks it), hands the rest of its batch back, and
  // joins the thread. Idempotent; start() may be called again afterwards.
  void stop();

  const std::string& owner() const noexcept { return options_.owner; }

  // Counters for /metrics, since construction.
  std::int64_t sent_total() const noexcept { return sent_.load(); }
  std::int64_t failed_attempts_total() const noexcept { return failed_.load(); }
  std::int64_t dead_total() const noexcept { return dead_.load(); }

  // The wait before the attempt after failed attempt number `attempts` (1-based):
  // min(retry_base * 2^(attempts-1), retry_max), then +/-20 % uniform jitter.
  std::chrono::milliseconds retry_delay(int attempts);

 private:
  struct Round {
    int processed = 0;
    bool storage_error = false;
  };
  Round round();
  // Sends one claimed message and records the outcome; false when the storage failed.
  bool deliver(const OutboxMessage& message);
  void hand_back(const OutboxMessage& message);
  void loop();

  OutboxRepository& outbox_;
  EmailChannel& channel_;
  SmsChannel* sms_;
  const Clock& clock_;
  Random& random_;
  DispatcherOptions options_;

  std::atomic<std::int64_t> sent_{0};
  std::atomic<std::int64_t> failed_{0};
  std::atomic<std::int64_t> dead_{0};

  std::mutex lifecycle_;  // start() and stop()
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mutex_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace latchkey::courier
