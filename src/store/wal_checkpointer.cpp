#include "store/wal_checkpointer.hpp"

#include <soci/sqlite3/soci-sqlite3.h>

#include <exception>

#include "common/log.hpp"
#include "common/thread_name.hpp"

namespace latchkey::store {

namespace {

sqlite_api::sqlite3* native(soci::session& sql) {
  return static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
}

// Called by SQLite after every commit on the writer, with the WAL's size in pages.
int on_commit(void* self, sqlite_api::sqlite3* db, const char* name, int pages) {
  if (pages >= WalCheckpointer::kInlinePages) {
    // The background checkpoints cannot keep up (a reader holding an old snapshot, a slow disk):
    // do what SQLite would have done, here.
    sqlite_api::sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= WalCheckpointer::kRequestPages) {
    static_cast<WalCheckpointer*>(self)->request();
  }
  return SQLITE_OK;
}

}  // namespace

WalCheckpointer::WalCheckpointer(soci::session& writer, std::mutex& write_mutex,
                                 const std::string& connect, const soci::backend_factory& factory)
    : writer_(writer), write_mutex_(write_mutex), sql_(factory, connect) {
  // A connection learns that the database is in WAL mode when it first reads it; until then
  // a checkpoint on it does nothing.
  std::string mode;
  sql_ << "PRAGMA journal_mode", soci::into(mode);
  thread_ = std::thread([this] { loop(); });
  name_thread(thread_, "latchkey-wal");
  hook();
}

void WalCheckpointer::hook() {
  sqlite_api::sqlite3_wal_hook(native(writer_), on_commit, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite_api::sqlite3_wal_hook(native(writer_), nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void WalCheckpointer::request() {
  {
    std::lock_guard lock(mutex_);
    if (requested_) return;
    requested_ = true;
  }
  cv_.notify_one();
}

long long WalCheckpointer::completed() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

int WalCheckpointer::checkpoint(int* wal_pages) {
  return sqlite_api::sqlite3_wal_checkpoint_v2(native(sql_), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               wal_pages, nullptr);
}

void WalCheckpointer::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    int pages = 0;
    int rc = checkpoint(&pages);
    if (rc == SQLITE_OK && pages >= kRestartPages) {
      // Under steady writes a checkpoint never catches up with the writer, and the WAL restarts
      // from its beginning only once all of it is in the database: copy the rest with the
      // writer held (a few pages, the bulk is done), so that the next write restarts it.
      std::lock_guard writes(write_mutex_);
      rc = checkpoint(&pages);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::warn("sqlite: background checkpoint failed",
                {{"error", sqlite_api::sqlite3_errstr(rc)}});
    }
    lock.lock();
    ++completed_;
  }
}

}  // namespace latchkey::store
