#include "methods/password/hash_pool.hpp"

#include <stdexcept>

#include "common/thread_name.hpp"
#include "methods/password/hash_memory.hpp"

namespace latchkey::methods::password {

namespace {
// The pool whose thread this is, if any.
thread_local const HashPool* current_pool = nullptr;
}  // namespace

HashPool::HashPool(std::size_t threads, std::size_t max_waiting,
                   std::chrono::milliseconds idle_release)
    : max_waiting_(max_waiting), idle_release_(idle_release) {
  if (threads == 0) throw std::invalid_argument("hash concurrency must be at least 1");
  start_named_threads(
      threads_, threads, "latchkey-hash", [this] { serve(); }, [this] { shut_down(); });
}

HashPool::~HashPool() {
  shut_down();
}

void HashPool::shut_down() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& t : threads_) t.join();
}

bool HashPool::on_own_thread() const {
  return current_pool == this;
}

bool HashPool::admits() const {
  return !stopping_ && in_use_ + queue_.size() < threads_.size() + max_waiting_;
}

bool HashPool::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (!admits()) return false;
    queue_.push_back({std::move(job), nullptr});
  }
  work_ready_.notify_one();
  return true;
}

Status HashPool::execute(std::function<void()> work) {
  Job job;
  std::unique_lock lock(mutex_);
  if (!admits()) {
    Error e = Error::make(ErrorCode::kOverloaded, "the server is busy; try again shortly");
    e.retry_after = 1;
    return e;
  }
  queue_.push_back({std::move(work), &job});
  lock.unlock();
  work_ready_.notify_one();
  lock.lock();
  job.finished.wait(lock, [&job] { return job.done; });
  if (job.thrown) std::rethrow_exception(job.thrown);
  return {};
}

void HashPool::serve() {
  current_pool = this;
  HashMemoryScope keep_memory;
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto has_work = [this] { return stopping_ || !queue_.empty(); };
    if (!work_ready_.wait_for(lock, idle_release_, has_work)) {
      lock.unlock();
      release_thread_hash_memory();
      lock.lock();
      work_ready_.wait(lock, has_work);
    }
    if (queue_.empty()) return;  // stopping, and every admitted call has run
    Task task = std::move(queue_.front());
    queue_.pop_front();
    ++in_use_;
    lock.unlock();
    Job* job = task.waiter;
    if (job == nullptr) {
      task.work();
    } else {
      try {
        task.work();
      } catch (...) {
        job->thrown = std::current_exception();
      }
    }
    task.work = nullptr;  // what the job captured goes now, not when the next job comes
    lock.lock();
    --in_use_;
    if (job == nullptr) continue;
    job->done = true;
    // Notified under the lock: the caller owns `job` and may destroy it as soon as it sees done.
    job->finished.notify_one();
  }
}

std::size_t HashPool::waiting() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t HashPool::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

}  // namespace latchkey::methods::password
