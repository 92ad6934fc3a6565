#pragma once
// Polls `pred` until it holds or `timeout` passes, for tests of work done on other threads that
// offer no hook to wait on. Returns whether it held.

#include <chrono>
#include <thread>

namespace latchkey::testing {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds poll = std::chrono::milliseconds(1)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace latchkey::testing
