#include "store/statement_watchdog.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "common/log.hpp"
#include "common/thread_name.hpp"

namespace latchkey::store {

StatementWatchdog::StatementWatchdog(std::size_t slots, std::chrono::milliseconds limit,
                                     std::chrono::milliseconds tick)
    : limit_(limit), tick_(tick), slots_(slots) {
  if (limit.count() <= 0 || tick.count() <= 0) {
    throw std::invalid_argument("statement watchdog: limit and tick must be positive");
  }
  thread_ = std::thread([this] { loop(); });
  name_thread(thread_, "latchkey-sqlwd");
}

StatementWatchdog::~StatementWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (auto& slot : slots_) close_slot(slot);
}

void StatementWatchdog::close_slot(Slot& slot) noexcept {
  if (slot.fd >= 0) (void)::close(slot.fd);
  slot.fd = -1;
  slot.fired = false;
}

void StatementWatchdog::arm(std::size_t slot, int fd, std::string_view operation) {
  std::lock_guard lock(mutex_);
  Slot& s = slots_.at(slot);  // throws before a duplicate exists that nothing would close
  close_slot(s);
  const int copy = fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (copy < 0) return;
  s.fd = copy;
  s.since = std::chrono::steady_clock::now();
  s.operation.assign(operation);
}

void StatementWatchdog::disarm(std::size_t slot) {
  std::lock_guard lock(mutex_);
  close_slot(slots_.at(slot));
}

std::uint64_t StatementWatchdog::cut() const {
  std::lock_guard lock(mutex_);
  return cut_;
}

void StatementWatchdog::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, tick_);
    const auto now = std::chrono::steady_clock::now();
    for (auto& s : slots_) {
      if (s.fd < 0 || s.fired || now - s.since < limit_) continue;
      // The driver's blocked read or write on this socket returns now; the descriptors stay
      // open until the lease ends, so no number is reused meanwhile.
      (void)::shutdown(s.fd, SHUT_RDWR);
      s.fired = true;
      ++cut_;
      log::warn("database operation cut off: no answer within the statement time limit",
                {{"operation", s.operation}, {"limit_ms", limit_.count()}});
    }
  }
}

}  // namespace latchkey::store
