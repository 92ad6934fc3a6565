#pragma once
// Names a thread so that top -H, perf and /proc/PID/task/*/comm show which of the server's
// threads uses the CPU. Linux keeps at most 15 characters; a failure changes nothing.
//
//   threads_.emplace_back([this] { loop(); });
//   name_thread(threads_.back(), "latchkey-work");
//
// start_named_threads starts a pool's threads the same way, all or none:
//
//   start_named_threads(threads_, n, "latchkey-work", [this] { loop(); }, [this] { stop(); });

#include <pthread.h>

#include <cstddef>
#include <thread>
#include <vector>

namespace latchkey {

inline void name_thread(std::thread& thread, const char* name) noexcept {
  (void)pthread_setname_np(thread.native_handle(), name);
}

// Appends `count` threads running `body` to `threads`, each named `name`. When one cannot be
// started, calls `stop` (which must make the bodies return and join the threads started: a
// joinable std::thread destroyed would terminate the process) and rethrows std::system_error.
template <typename Body, typename Stop>
void start_named_threads(std::vector<std::thread>& threads, std::size_t count, const char* name,
                         const Body& body, Stop&& stop) {
  threads.reserve(threads.size() + count);
  try {
    for (std::size_t i = 0; i < count; ++i) {
      threads.emplace_back(body);
      name_thread(threads.back(), name);
    }
  } catch (...) {
    stop();
    throw;
  }
}

}  // namespace latchkey
