// UnitOfWork over a database transaction.
//
// SQLite files have one writer at a time, and the cost of a write transaction is mostly its
// BEGIN and COMMIT (locks, WAL frames written with pwrite), not its statements. So units are
// group-committed there: a thread that finds no transaction running becomes the leader, takes
// every unit queued so far (its own first), runs each inside a SAVEPOINT (a unit's error rolls
// back only that unit) in one transaction on the dedicated writer connection, commits once, and
// wakes the others with their results. Units of one batch run one after another on the leader's
// thread, so each sees the writes of the units before it: the outcome is that of running them in
// queue order. A failed COMMIT fails every unit of the batch.
//
// MariaDB/MySQL and PostgreSQL have row locks and concurrent writers: there each unit is one
// transaction on a pooled connection.

#include <soci/soci.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <vector>

#include "store/repositories.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

constexpr std::size_t kMaxBatch = 64;

class SqlUnitOfWork final : public UnitOfWork {
 public:
  explicit SqlUnitOfWork(Database& db) : db_(db) {}

  Status run(const std::function<Status()>& work) override {
    if (ambient_session(db_) != nullptr) return work();  // nested: join the outer unit
    if (db_.writer() == nullptr) return run_alone(work);
    return run_grouped(work);
  }

 private:
  struct Pending {
    const std::function<Status()>* work = nullptr;
    Status result;
    std::exception_ptr exception;
    bool done = false;   // set by the leader before it calls wake()
    bool leads = false;  // likewise

    // A condition variable rather than a semaphore: libstdc++'s semaphores spin with
    // sched_yield before they sleep, a system call per turn.
    void wake() {
      std::lock_guard lock(mutex);
      woken = true;
      cv.notify_one();  // under the lock: the waiter (and this object) may be gone after it
    }
    void wait() {
      std::unique_lock lock(mutex);
      cv.wait(lock, [this] { return woken; });
      woken = false;
    }

   private:
    std::mutex mutex;
    std::condition_variable cv;
    bool woken = false;
  };

  Status run_alone(const std::function<Status()>& work) {
    return with_write_session<Status>(db_, "unit_of_work", [&](soci::session& sql) -> Status {
      Transaction tx(db_, sql);
      Status st;
      {
        AmbientScope scope(db_, sql);
        st = work();
      }
      if (st) tx.commit();  // otherwise ~Transaction rolls back
      return st;
    });
  }

  // The leader runs batches until its own unit is done, then hands the lead to the first unit
  // still queued. Each waiter sleeps on its own condition variable and is woken once: when its unit
  // is done, or when it is made the leader.
  Status run_grouped(const std::function<Status()>& work) {
    Pending self;
    self.work = &work;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(&self);
      if (!leading_) leading_ = self.leads = true;
    }
    if (!self.leads) self.wait();
    while (!self.done) {  // leading
      std::vector<Pending*> batch;
      {
        std::lock_guard lock(mutex_);
        while (!queue_.empty() && batch.size() < kMaxBatch) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      run_batch(batch);
      for (Pending* p : batch) {
        p->done = true;
        if (p != &self) p->wake();  // p may be gone once woken
      }
    }
    if (self.leads) {
      Pending* next = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
          leading_ = false;
        } else {
          next = queue_.front();
          next->leads = true;
        }
      }
      if (next != nullptr) next->wake();
    }
    if (self.exception) std::rethrow_exception(self.exception);
    return std::move(self.result);
  }

  // Runs the batch in one transaction on the writer connection.
  void run_batch(const std::vector<Pending*>& batch) {
    auto fail_all = [&](const Error& e) {
      for (Pending* p : batch) {
        if (p->result) p->result = e;
      }
    };
    auto st = with_write_session<Status>(db_, "unit_of_work", [&](soci::session& sql) -> Status {
      Transaction tx(db_, sql);
      // A batch of one needs no savepoint: its error rolls back the whole transaction.
      const bool savepoints = batch.size() > 1;
      for (Pending* p : batch) {
        if (savepoints) execute_prepared(db_, sql, "SAVEPOINT unit");
        {
          AmbientScope scope(db_, sql);
          try {
            p->result = (*p->work)();
          } catch (...) {
            p->exception = std::current_exception();
          }
        }
        const bool ok = p->result && !p->exception;
        if (!savepoints) {
          if (!ok) return Status{};  // ~Transaction rolls back; the unit keeps its own error
          continue;
        }
        if (ok) {
          execute_prepared(db_, sql, "RELEASE SAVEPOINT unit");
        } else {
          // Throws when SQLite already rolled the whole transaction back (I/O error, disk
          // full): with_write_session turns that into an error for the whole batch.
          sql << "ROLLBACK TO SAVEPOINT unit";
          sql << "RELEASE SAVEPOINT unit";
        }
      }
      tx.commit();
      return {};
    });
    if (!st) fail_all(st.error());
  }

  Database& db_;
  std::mutex mutex_;
  std::deque<Pending*> queue_;
  bool leading_ = false;
};

}  // namespace

std::unique_ptr<UnitOfWork> make_unit_of_work(Database& db) {
  return std::make_unique<SqlUnitOfWork>(db);
}

}  // namespace latchkey::store
