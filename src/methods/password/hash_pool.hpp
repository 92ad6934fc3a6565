#pragma once
// Password hashes run on a few threads of their own, and only there: each argon2id takes
// memory_kib of memory (19 MiB by default) and tens of milliseconds of one core, so the pool's
// size bounds both. A caller hands the work over and waits for it; at most `max_waiting` calls
// may wait for a free thread, and past that callers are turned away at once with kOverloaded
// (retry_after = 1) instead of piling up.
//
//   Result<std::string> phc = pool.run([&] { return hasher.hash(password); });
//   if (!phc) return phc.error();  // kOverloaded: every thread busy and the queue full
//
// A request whose whole point is a hash (a login, a sign-up) can instead be posted to the pool and
// run on a hashing thread from start to finish, its database calls included: post() queues it
// under the same admission limit and returns at once, and run() called from a job on a hashing
// thread runs inline (the job already holds a thread). That spares the request a second thread
// woken twice per hash, which on a machine busy hashing means preempting a hash each time.
//
// Each thread keeps its argon2 memory from one hash to the next (see hash_memory.hpp) and gives
// it back after `idle_release` without work, so an idle server holds none of it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace latchkey::methods::password {

class HashPool {
 public:
  // `threads` hashing threads (at least 1; throws std::invalid_argument otherwise), and at most
  // `max_waiting` calls queued behind them (0 = never wait). When a thread cannot be started, the
  // ones started are stopped and std::system_error is thrown (a start-up failure).
  HashPool(std::size_t threads, std::size_t max_waiting,
           std::chrono::milliseconds idle_release = std::chrono::seconds(10));
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;
  // Finishes the calls already admitted, then joins the threads.
  ~HashPool();

  // Runs `f` on a hashing thread and waits for it: Result<R> with f's value (Status when f
  // returns void), or kOverloaded without running f. An exception from f is rethrown here.
  // Called on one of this pool's threads (inside a posted job), runs `f` there and then.
  template <class F>
  auto run(F&& f) {
    using R = std::invoke_result_t<F&&>;
    if (on_own_thread()) {
      if constexpr (std::is_void_v<R>) {
        std::forward<F>(f)();
        return Status{};
      } else {
        return Result<R>(std::forward<F>(f)());
      }
    } else if constexpr (std::is_void_v<R>) {
      return execute([&f] { std::forward<F>(f)(); });
    } else {
      std::optional<R> value;
      Status st = execute([&f, &value] { value.emplace(std::forward<F>(f)()); });
      if (!st) return Result<R>(std::move(st).error());
      return Result<R>(std::move(*value));
    }
  }

  // Queues `job` to run on a hashing thread and returns at once; false (the job is not run) when
  // the pool is full (the same limit as run()'s) or shutting down. `job` must not throw: like a
  // thread's own function, an exception from it terminates the process.
  bool post(std::function<void()> job);

  // For metrics: calls waiting for a thread, and calls running.
  std::size_t waiting() const;
  std::size_t in_use() const;
  std::size_t concurrency() const { return threads_.size(); }
  std::size_t max_waiting() const { return max_waiting_; }

 private:
  // A caller of run() waiting for its work.
  struct Job {
    std::exception_ptr thrown;
    bool done = false;
    std::condition_variable finished;
  };
  struct Task {
    std::function<void()> work;
    Job* waiter = nullptr;  // null for a posted job
  };

  Status execute(std::function<void()> work);
  bool on_own_thread() const;
  // Under mutex_: whether one more call fits (threads busy or about to be, plus max_waiting_).
  bool admits() const;
  void serve();
  // Stops the threads once the calls admitted are done, and joins them.
  void shut_down() noexcept;

  const std::size_t max_waiting_;
  const std::chrono::milliseconds idle_release_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Task> queue_;  // waiting calls and posted jobs, oldest first
  std::size_t in_use_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace latchkey::methods::password
