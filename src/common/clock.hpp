#pragma once
// Injected time. Domain code never calls system_clock directly, so tests pin the time.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace latchkey {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock for tests: starts at a fixed instant and moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t unix_seconds = 1'700'000'000)
      : now_(std::chrono::seconds(unix_seconds)) {}
  TimePoint now() const override { return TimePoint(now_.load()); }
  void advance(std::chrono::system_clock::duration d) { now_ = now_.load() + d; }
  void set(std::int64_t unix_seconds) { now_ = std::chrono::seconds(unix_seconds); }

 private:
  std::atomic<std::chrono::system_clock::duration> now_;
};

inline std::int64_t to_unix(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline std::int64_t to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_unix(std::int64_t s) {
  return TimePoint(std::chrono::seconds(s));
}
inline TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

}  // namespace latchkey
