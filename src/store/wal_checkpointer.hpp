#pragma once
// Checkpoints of a SQLite WAL on a thread of their own. Not for use outside store/.
//
// By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages: the
// committing connection copies the pages into the database file and syncs it. Our writer
// connection commits while holding the write lock with a batch of other requests waiting, so a
// checkpoint there stalls every writer for the copy and two fsyncs. Instead the writer's WAL
// hook calls request() past kRequestPages (a longer WAL holds more writes of the same pages,
// copied once), and this thread runs a PASSIVE checkpoint on its own connection, which copies
// what no reader still needs without blocking the writer or readers. Past kRestartPages it then
// holds the write lock for a second, short checkpoint of what was written meanwhile, so that the
// WAL is wholly copied and the next write starts it over. Should this thread fall behind, the
// hook checkpoints inline past kInlinePages, so the WAL stays bounded either way.

#include <soci/soci.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace latchkey::store {

class WalCheckpointer {
 public:
  // In pages of the WAL (4 KiB each by default).
  static constexpr int kRequestPages = 4000;  // 16 MiB
  static constexpr int kRestartPages = 8000;  // 32 MiB
  static constexpr int kInlinePages = 20000;  // 80 MiB

  // Opens its own connection to the database behind `writer` (a SQLite file, connect string
  // `connect`) and installs the WAL hook on `writer`. `write_mutex` is the lock the writer's
  // users hold. Throws what opening the connection throws.
  WalCheckpointer(soci::session& writer, std::mutex& write_mutex, const std::string& connect,
                  const soci::backend_factory& factory);
  // Removes the hook and joins the thread (finishing a checkpoint in progress).
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Asks for a checkpoint soon; cheap when one is already asked for.
  void request();

  // Installs the WAL hook on the writer (again, after it reconnected).
  void hook();

  // Checkpoints run so far (for tests).
  long long completed() const;

 private:
  void loop();
  int checkpoint(int* wal_pages);

  soci::session& writer_;
  std::mutex& write_mutex_;
  soci::session sql_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  long long completed_ = 0;
  std::thread thread_;
};

}  // namespace latchkey::store
