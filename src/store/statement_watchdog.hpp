#pragma once
// Bounds how long one database operation may wait on its server, for a driver without a read
// timeout of its own. libpq has none: a PostgreSQL that accepts connections but never answers
// (a stopped server, a partition that drops packets) would hold the request, its worker thread
// and its pooled connection for good. (MariaDB's client library has read_timeout, set in
// database_url.cpp.)
//
// A lease arms its pool slot with the connection's socket when its operation starts and disarms
// it when the operation ends. A thread looks at the armed slots every `tick`; one armed for
// `limit` or longer gets its socket shut down (shutdown(2), both directions), so the driver's
// blocked read returns at once and reports the connection lost, which the caller maps to
// kUnavailable and reconnects. While a slot is armed the watchdog holds a duplicate of the socket
// (dup(2)): it never shuts down a descriptor number that the driver closed and the process reused.
//
//   StatementWatchdog watchdog(pool_size, std::chrono::seconds(10));
//   watchdog.arm(pos, PQsocket(conn), "find user");   // before the first statement
//   ...                                                // statements; a hang ends after 10 s
//   watchdog.disarm(pos);                              // before the connection is given back

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace latchkey::store {

class StatementWatchdog {
 public:
  StatementWatchdog(std::size_t slots, std::chrono::milliseconds limit,
                    std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  // Stops the thread and closes the duplicates of the slots still armed.
  ~StatementWatchdog();
  StatementWatchdog(const StatementWatchdog&) = delete;
  StatementWatchdog& operator=(const StatementWatchdog&) = delete;

  // Starts (or restarts, on a new socket) the clock of `slot` for `operation` on socket `fd`.
  // Nothing is armed when the socket cannot be duplicated (fd < 0, or no descriptor left).
  void arm(std::size_t slot, int fd, std::string_view operation);
  // Stops the clock of `slot`; nothing happens to its socket any more.
  void disarm(std::size_t slot);

  std::chrono::milliseconds limit() const noexcept { return limit_; }
  // How many operations had their connection cut, since the start.
  std::uint64_t cut() const;

 private:
  struct Slot {
    int fd = -1;  // our duplicate; -1 when disarmed
    std::chrono::steady_clock::time_point since;
    std::string operation;
    bool fired = false;
  };

  void loop();
  static void close_slot(Slot& slot) noexcept;

  const std::chrono::milliseconds limit_;
  const std::chrono::milliseconds tick_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Slot> slots_;
  std::uint64_t cut_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: started after the rest is ready
};

}  // namespace latchkey::store
