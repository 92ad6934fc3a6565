#pragma once
// A fixed set of threads with a bounded queue, for blocking work (database calls, and waiting for
// the password hash pool) so that I/O threads never block. When the queue is full, submit() refuses
// at once and the caller answers 503.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace latchkey::http {

class WorkerPool {
 public:
  // When a thread cannot be started, the ones started are stopped and std::system_error is thrown
  // (a start-up failure).
  WorkerPool(std::size_t threads, std::size_t max_queue);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is stopping; the job is then not run.
  bool submit(std::function<void()> job);
  // Runs every queued job, then joins the threads.
  void stop();
  std::size_t queued() const;

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t max_queue_;
  bool stopping_ = false;
};

}  // namespace latchkey::http
