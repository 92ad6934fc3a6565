#include "store/statement_cache.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <stdexcept>

#include "store/database.hpp"
#include "store/sql_support.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using testing::TempDir;

// SELECT v FROM t WHERE k >= :k ORDER BY k: one row read per execute(true).
struct ReadFrom {
  int k = 0;
  std::string v;
  soci::statement st;
  ReadFrom(soci::session& sql, const std::string& query)
      : st((sql.prepare << query, soci::use(k), soci::into(v))) {}
};

constexpr std::string_view kReadFrom = "SELECT v FROM t WHERE k >= :k ORDER BY k";

class StatementCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Database::open({"sqlite://" + (dir_.path() / "c.db").string(), 2});
    soci::session sql(db_->pool());
    sql << "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)";
    sql << "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')";
  }

  // Reads the first row from `k` on the writer through the kept statement.
  std::string first_from(int k, const ReadFrom** used = nullptr) {
    auto lock = db_->lock_writes();
    return with_prepared<ReadFrom>(*db_, *db_->writer(), kReadFrom, [&](ReadFrom& q) {
      if (used) *used = &q;
      q.k = k;
      return q.st.execute(true) ? q.v : std::string("(none)");
    });
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(StatementCacheTest, TheWriterKeepsOneStatementAndRebindsItsValues) {
  const ReadFrom* first = nullptr;
  const ReadFrom* second = nullptr;
  EXPECT_EQ(first_from(2, &first), "two");
  EXPECT_EQ(first_from(1, &second), "one");
  EXPECT_EQ(first, second);
  EXPECT_EQ(first_from(4), "(none)");
  EXPECT_EQ(first_from(3), "three");
}

// Reads the first row from `k` through with_prepared on `sql`, noting the query object used.
std::string read_from(Database& db, soci::session& sql, int k, const ReadFrom** used = nullptr) {
  return with_prepared<ReadFrom>(db, sql, kReadFrom, [&](ReadFrom& q) {
    if (used) *used = &q;
    q.k = k;
    return q.st.execute(true) ? q.v : std::string("(none)");
  });
}

TEST_F(StatementCacheTest, EachPooledConnectionKeepsItsOwnStatements) {
  auto a = db_->lease("test");
  ASSERT_TRUE(a);
  auto b = db_->lease("test");  // the pool's other connection
  ASSERT_TRUE(b);
  ASSERT_NE(db_->statements_for(a->session()), nullptr);
  ASSERT_NE(db_->statements_for(b->session()), nullptr);
  EXPECT_NE(db_->statements_for(a->session()), db_->statements_for(b->session()));
  EXPECT_NE(db_->statements_for(a->session()), db_->statements_for(*db_->writer()));
  const ReadFrom* a1 = nullptr;
  const ReadFrom* a2 = nullptr;
  const ReadFrom* b1 = nullptr;
  EXPECT_EQ(read_from(*db_, a->session(), 2, &a1), "two");
  EXPECT_EQ(read_from(*db_, b->session(), 3, &b1), "three");
  EXPECT_EQ(read_from(*db_, a->session(), 1, &a2), "one");
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b1);
}

TEST_F(StatementCacheTest, AStatementKeptOnAPooledConnectionSeesLaterWrites) {
  auto a = db_->lease("test");
  ASSERT_TRUE(a);
  EXPECT_EQ(read_from(*db_, a->session(), 4), "(none)");
  {
    auto lock = db_->lock_writes();
    *db_->writer() << "INSERT INTO t VALUES (4, 'four')";
  }
  EXPECT_EQ(read_from(*db_, a->session(), 4), "four");
}

TEST_F(StatementCacheTest, ProxySessionsPrepareForTheCallOnly) {
  soci::session sql(db_->pool());
  EXPECT_EQ(db_->statements_for(sql), nullptr);
  const ReadFrom* first = nullptr;
  EXPECT_EQ(read_from(*db_, sql, 3, &first), "three");
  EXPECT_EQ(read_from(*db_, sql, 2), "two");
}

TEST_F(StatementCacheTest, AKeptSelectDoesNotHoldItsSnapshot) {
  // Only the first of three rows is read: unless the statement is finished after use, the
  // writer keeps a read transaction open and no checkpoint can empty the WAL.
  EXPECT_EQ(first_from(1), "one");
  soci::session other(db_->pool());
  other << "INSERT INTO t VALUES (4, 'four')";
  int busy = -1, log = -1, done = -1;
  other << "PRAGMA wal_checkpoint(TRUNCATE)", soci::into(busy), soci::into(log), soci::into(done);
  EXPECT_EQ(busy, 0);
  EXPECT_EQ(log, 0);
  EXPECT_EQ(first_from(4), "four");  // and the next use sees the new row
}

TEST_F(StatementCacheTest, KeepsWorkingAfterAUseThatThrew) {
  const ReadFrom* before = nullptr;
  EXPECT_EQ(first_from(1, &before), "one");
  {
    auto lock = db_->lock_writes();
    EXPECT_THROW(with_prepared<ReadFrom>(*db_, *db_->writer(), kReadFrom,
                                         [](ReadFrom&) -> int { throw std::runtime_error("x"); }),
                 std::runtime_error);
  }
  // The entry was dropped; a new one is prepared.
  EXPECT_EQ(first_from(2), "two");
}

TEST_F(StatementCacheTest, PlainStatementsRunInTransactions) {
  auto lock = db_->lock_writes();
  soci::session& w = *db_->writer();
  for (int i = 0; i < 3; ++i) {
    execute_prepared(*db_, w, "BEGIN IMMEDIATE");
    w << "INSERT INTO t (v) VALUES ('x')";
    execute_prepared(*db_, w, i == 1 ? "ROLLBACK" : "COMMIT");
  }
  int n = 0;
  w << "SELECT COUNT(*) FROM t WHERE v = 'x'", soci::into(n);
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace latchkey::store
