#pragma once
// A circuit breaker for the database: after `threshold` operations in a row have lost their
// connection (a dead or hung server: each one waited up to database.statement_timeout or
// connect_timeout to find out), the circuit opens and operations fail at once with 503 for
// `cooldown`, instead of each holding a thread and a pooled connection for the full timeout.
// After the cooldown one operation is let through as a trial (half-open): if the database
// answers it the circuit closes; if it fails again the circuit opens for another cooldown. Any
// operation the database answered (a constraint error included) closes it.
//
//   CircuitBreaker breaker({.threshold = 5, .cooldown = 2s});
//   auto pass = breaker.admit(now);             // before leasing a connection
//   if (!pass.allowed) return 503 with Retry-After pass.retry_after
//   ... breaker.failure(now) when the connection was lost, breaker.success() when answered
//   (each says whether it changed the state, for a log line);
//   a trial that ended without either (no connection free in time): breaker.abandon_trial(now).
//
// Thread-safe; time is passed in, so tests are exact. threshold 0 disables it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>

namespace latchkey::store {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::size_t threshold = 5;  // connection failures in a row that open it; 0: never opens
    std::chrono::milliseconds cooldown{2000};
  };

  struct Pass {
    bool allowed = true;
    bool trial = false;   // the half-open trial: its outcome decides the state
    int retry_after = 0;  // seconds (>= 1) when not allowed
  };

  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(Options options) : options_(options) {}

  Pass admit(Clock::time_point now);
  // True when this closed a circuit that was open or half-open.
  bool success();
  // True when this opened a closed circuit (not when a failed trial opened it again).
  bool failure(Clock::time_point now);
  // The trial admitted by admit() never reached the database (e.g. no pooled connection was
  // free in time): counted as a failure, so the circuit opens again rather than waiting forever.
  void abandon_trial(Clock::time_point now) { failure(now); }

  State state() const;
  // How many times it has opened since start (for logs and tests).
  std::size_t openings() const;

 private:
  void open(Clock::time_point now);

  const Options options_;
  // Lock-free fast path: closed with no failure counted needs no lock in admit() or success().
  std::atomic<bool> quiet_{true};
  mutable std::mutex mutex_;
  State state_ = State::kClosed;
  std::size_t failures_ = 0;
  std::size_t openings_ = 0;
  Clock::time_point open_until_{};
};

}  // namespace latchkey::store
