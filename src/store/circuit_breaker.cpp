#include "store/circuit_breaker.hpp"

namespace latchkey::store {

CircuitBreaker::Pass CircuitBreaker::admit(Clock::time_point now) {
  if (quiet_.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(mutex_);
  switch (state_) {
    case State::kClosed:
      return {};
    case State::kOpen:
      if (now < open_until_) {
        auto left = std::chrono::ceil<std::chrono::seconds>(open_until_ - now).count();
        return {false, false, static_cast<int>(left < 1 ? 1 : left)};
      }
      state_ = State::kHalfOpen;
      return {true, true, 0};
    case State::kHalfOpen:
      break;
  }
  return {false, false, 1};  // a trial is under way
}

bool CircuitBreaker::success() {
  if (quiet_.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(mutex_);
  const bool closed_it = state_ != State::kClosed;
  state_ = State::kClosed;
  failures_ = 0;
  quiet_.store(true, std::memory_order_release);
  return closed_it;
}

bool CircuitBreaker::failure(Clock::time_point now) {
  if (options_.threshold == 0) return false;
  std::lock_guard lock(mutex_);
  quiet_.store(false, std::memory_order_release);
  ++failures_;
  if (state_ == State::kHalfOpen) {
    open(now);
    return false;
  }
  if (state_ == State::kClosed && failures_ >= options_.threshold) {
    open(now);
    return true;
  }
  return false;  // kOpen: operations admitted before it opened still fail; the cooldown stands
}

void CircuitBreaker::open(Clock::time_point now) {
  state_ = State::kOpen;
  open_until_ = now + options_.cooldown;
  ++openings_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::size_t CircuitBreaker::openings() const {
  std::lock_guard lock(mutex_);
  return openings_;
}

}  // namespace latchkey::store
