#include "store/wal_checkpointer.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "store/store_test_support.hpp"
#include "testing/eventually.hpp"

namespace latchkey::store {
namespace {

using testing::TempDir;

constexpr int kRowBytes = 3000;  // about a page per row

// The WAL header's checkpoint sequence number: it changes when the WAL starts over.
std::uint32_t wal_sequence(const std::filesystem::path& wal) {
  std::ifstream in(wal, std::ios::binary);
  unsigned char h[16] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  return (std::uint32_t{h[12]} << 24) | (std::uint32_t{h[13]} << 16) | (std::uint32_t{h[14]} << 8) |
         std::uint32_t{h[15]};
}

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writer_.open(soci::sqlite3, path_.string());
    std::string mode;
    writer_ << "PRAGMA journal_mode = WAL", soci::into(mode);
    writer_ << "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)";
  }

  // Writes `rows` rows of kRowBytes, `per_tx` to a transaction, each under the write lock.
  void write(int rows, int per_tx = 50) {
    const std::string value(kRowBytes, 'x');
    for (int done = 0; done < rows; done += per_tx) {
      std::lock_guard lock(mutex_);
      soci::transaction tx(writer_);
      for (int i = 0; i < per_tx; ++i) writer_ << "INSERT INTO t (v) VALUES (:v)", soci::use(value);
      tx.commit();
    }
  }

  template <typename Pred>
  static bool eventually(Pred pred) {
    return latchkey::testing::eventually(pred, std::chrono::seconds(30),
                                         std::chrono::milliseconds(20));
  }

  TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "w.db";
  std::mutex mutex_;
  soci::session writer_;
};

TEST_F(WalCheckpointerTest, CopiesTheWalIntoTheDatabaseOnItsOwnThread) {
  WalCheckpointer checkpointer(writer_, mutex_, path_.string(), *soci::factory_sqlite3());
  write(WalCheckpointer::kRequestPages + 500);
  // The writer never checkpoints below kInlinePages: what reached the database file came
  // through the checkpointer.
  ASSERT_TRUE(eventually([&] { return checkpointer.completed() > 0; }));
  EXPECT_TRUE(eventually([&] {
    return std::filesystem::file_size(path_) >
           static_cast<std::uintmax_t>(WalCheckpointer::kRequestPages) * kRowBytes;
  }));
}

TEST_F(WalCheckpointerTest, TheWalStartsOverUnderSteadyWrites) {
  WalCheckpointer checkpointer(writer_, mutex_, path_.string(), *soci::factory_sqlite3());
  write(10);
  const auto wal = std::filesystem::path(path_.string() + "-wal");
  const auto first = wal_sequence(wal);
  // Below kInlinePages in all, so only the checkpointer can make the WAL start over.
  write(3 * WalCheckpointer::kRestartPages);
  EXPECT_TRUE(eventually([&] {
    write(1, 1);  // a write starts the WAL over once all of it is in the database
    return wal_sequence(wal) != first;
  }));
  int rows = 0;
  writer_ << "SELECT COUNT(*) FROM t", soci::into(rows);
  EXPECT_GE(rows, 10 + 3 * WalCheckpointer::kRestartPages);
}

TEST_F(WalCheckpointerTest, WithoutItTheWalKeepsGrowing) {
  // The control for the test above: SQLite's own checkpoint is off, nothing starts the WAL over.
  writer_ << "PRAGMA wal_autocheckpoint = 0";
  write(10);
  const auto wal = std::filesystem::path(path_.string() + "-wal");
  const auto first = wal_sequence(wal);
  write(WalCheckpointer::kRestartPages);
  write(1, 1);
  EXPECT_EQ(wal_sequence(wal), first);
  EXPECT_GT(std::filesystem::file_size(wal),
            static_cast<std::uintmax_t>(WalCheckpointer::kRestartPages) * kRowBytes);
}

}  // namespace
}  // namespace latchkey::store
