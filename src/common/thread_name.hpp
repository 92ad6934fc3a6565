#pragma once
// Names a thread so that top -H, perf and /proc/PID/task/*/comm show which of the server's
// threads uses the CPU. Linux keeps at most 15 characters; a failure changes nothing.
//
//   threads_.emplace_back([this] { loop(); });
//   name_thread(threads_.back(), "latchkey-work");

#include <pthread.h>

#include <thread>

namespace latchkey {

inline void name_thread(std::thread& thread, const char* name) noexcept {
  (void)pthread_setname_np(thread.native_handle(), name);
}

}  // namespace latchkey
