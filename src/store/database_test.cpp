#include "store/database.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <thread>

#include "store/circuit_breaker.hpp"
#include "store/database_url.hpp"
#include "store/migrations.hpp"
#include "store/repositories.hpp"
#include "store/sql_support.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using testing::TempDir;
using testing::TestDatabase;

TEST(DatabaseUrl, SqliteRelativeAndAbsolute) {
  auto rel = parse_database_url("sqlite://data/latchkey.db");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->dialect, Dialect::kSqlite);
  EXPECT_EQ(rel->sqlite_path, "data/latchkey.db");
  auto abs = parse_database_url("sqlite:///tmp/x.db");
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->sqlite_path, "/tmp/x.db");
  EXPECT_EQ(soci_connect_string(*abs), "/tmp/x.db");
}

TEST(DatabaseUrl, MysqlWithPercentEncodedCredentials) {
  auto u = parse_database_url("mysql://lat%40ch:p%40ss%3Aw%2Fd@db.example:3307/latchkey");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->dialect, Dialect::kMysql);
  EXPECT_EQ(u->user, "lat@ch");
  EXPECT_EQ(u->password, "p@ss:w/d");
  EXPECT_EQ(u->host, "db.example");
  ASSERT_TRUE(u->port);
  EXPECT_EQ(*u->port, 3307);
  EXPECT_EQ(u->database, "latchkey");
  EXPECT_EQ(soci_connect_string(*u, connect_limits(std::chrono::seconds(10))),
            "db='latchkey' user='lat@ch' password='p@ss:w/d' host='db.example' port=3307 "
            "charset=utf8mb4 connect_timeout=10 read_timeout=10 write_timeout=10");
  // Migrations: no I/O timeouts (long DDL, the wait for the migration lock).
  EXPECT_EQ(soci_connect_string(*u),
            "db='latchkey' user='lat@ch' password='p@ss:w/d' host='db.example' port=3307 "
            "charset=utf8mb4 connect_timeout=10");
}

TEST(DatabaseUrl, ConnectLimitsFollowTheStatementLimit) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  auto limits = connect_limits(milliseconds(10000));  // the default
  EXPECT_EQ(limits.connect, seconds(10));
  EXPECT_EQ(limits.io, seconds(10));
  limits = connect_limits(milliseconds(6000));
  EXPECT_EQ(limits.connect, seconds(6));
  EXPECT_EQ(limits.io, seconds(6));
  limits = connect_limits(milliseconds(6500));
  EXPECT_EQ(limits.connect, seconds(7));  // rounded up
  EXPECT_EQ(limits.io, seconds(7));
  limits = connect_limits(milliseconds(1000));
  EXPECT_EQ(limits.connect, seconds(2));  // libpq's minimum
  EXPECT_EQ(limits.io, seconds(1));       // never 0, which means none
  auto u = parse_database_url("postgresql://app@localhost/auth");
  ASSERT_TRUE(u);
  EXPECT_EQ(soci_connect_string(*u, connect_limits(milliseconds(6000))),
            "dbname='auth' host='localhost' user='app' connect_timeout=6");
  auto given = parse_database_url("postgresql://app@localhost/auth?connect_timeout=3");
  ASSERT_TRUE(given);
  EXPECT_EQ(soci_connect_string(*given, connect_limits(milliseconds(6000))),
            "dbname='auth' host='localhost' user='app' connect_timeout='3'");
}

TEST(DatabaseUrl, MysqlQuotesAwkwardPasswords) {
  auto u = parse_database_url("mysql://u:a%27b%5Cc%20d@h/db");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->password, "a'b\\c d");
  EXPECT_NE(soci_connect_string(*u).find("password='a\\'b\\\\c d'"), std::string::npos);
}

TEST(DatabaseUrl, MysqlSocket) {
  for (const char* url : {"mysql://u:p@localhost/db?unix_socket=/run/mysqld/mysqld.sock",
                          "mysql://u:p@/db?socket=%2Frun%2Fmysqld%2Fmysqld.sock"}) {
    auto u = parse_database_url(url);
    ASSERT_TRUE(u) << url;
    auto cs = soci_connect_string(*u);
    EXPECT_NE(cs.find("unix_socket='/run/mysqld/mysqld.sock'"), std::string::npos) << cs;
    EXPECT_EQ(cs.find("host="), std::string::npos) << cs;
  }
}

TEST(DatabaseUrl, Postgres) {
  auto u = parse_database_url("postgresql://app:s3cret@[::1]:5433/auth?sslmode=require");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->dialect, Dialect::kPostgres);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(*u->port, 5433);
  EXPECT_EQ(soci_connect_string(*u),
            "dbname='auth' host='::1' port=5433 user='app' password='s3cret' sslmode='require' "
            "connect_timeout=10");
  auto short_scheme = parse_database_url("postgres://app@localhost/auth");
  ASSERT_TRUE(short_scheme);
  EXPECT_EQ(short_scheme->dialect, Dialect::kPostgres);
}

TEST(DatabaseUrl, RejectsMalformed) {
  for (const char* url :
       {"", "data/latchkey.db", "sqlite://", "oracle://u:p@h/db", "mysql://u:p@h:99999/db",
        "mysql://u:p@h:12x/db", "mysql://u:p@h", "mysql://u:p@h/", "mysql://u:p%zz@h/db",
        "mysql://u:p@h/db?ssl=1", "mysql://u:p@/db", "sqlite://a=b.db"}) {
    auto u = parse_database_url(url);
    EXPECT_FALSE(u) << url;
    if (!u) {
      EXPECT_EQ(u.error().code, ErrorCode::kInvalidField);
      EXPECT_EQ(u.error().field, "database.url");
    }
  }
}

TEST(RedactUrl, MasksPasswordOnly) {
  EXPECT_EQ(redact_url("mysql://latchkey:hunter2@127.0.0.1:3306/latchkey"),
            "mysql://latchkey:***@127.0.0.1:3306/latchkey");
  EXPECT_EQ(redact_url("postgresql://u:p@ss/word@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(redact_url("mysql://u@h/db"), "mysql://u@h/db");
  EXPECT_EQ(redact_url("sqlite://data/latchkey.db"), "sqlite://data/latchkey.db");
  EXPECT_EQ(redact_url("mysql://u:secret@h/db?unix_socket=/s"),
            "mysql://u:***@h/db?unix_socket=/s");
}

TEST(Migrations, SplitStatementsDropsCommentsAndBlanks) {
  auto s = split_statements(
      "-- header\nCREATE TABLE a (x INT);\n\n  -- note\nCREATE INDEX i ON a(x);\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], "CREATE TABLE a (x INT)");
  EXPECT_EQ(s[1], "CREATE INDEX i ON a(x)");
}

TEST(Migrations, EveryVersionHasAScriptPerDialectInOrder) {
  std::string previous;
  for (const auto& m : all_migrations()) {
    EXPECT_GT(std::string(m.version), previous);
    previous = std::string(m.version);
    for (auto d : {Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres}) {
      EXPECT_FALSE(split_statements(m.script(d)).empty()) << m.version << " " << to_string(d);
    }
    // The same number of statements per dialect: a table or index missing in one dialect shows.
    EXPECT_EQ(split_statements(m.sqlite).size(), split_statements(m.postgres).size());
  }
  EXPECT_EQ(Database::known_versions().front(), "0001");
}

TEST(DatabaseOpen, BadUrlThrowsWithoutPassword) {
  try {
    Database::open({"mysql://u:topsecret@h:0/db", 1});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("database.url"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("topsecret"), std::string::npos) << msg;
  }
}

TEST(DatabaseOpen, UnreachableServerThrowsWithoutPassword) {
  // Port 1 on loopback refuses connections at once.
  try {
    Database::open({"mysql://latchkey:topsecret@127.0.0.1:1/latchkey", 1});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
    EXPECT_NE(msg.find("latchkey:***@"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("topsecret"), std::string::npos) << msg;
  }
}

TEST(DatabaseOpen, SqliteCreatesParentDirectoryAndConfiguresEveryConnection) {
  TempDir dir;
  auto path = dir.path() / "nested" / "deeper" / "latchkey.db";
  auto db = Database::open({"sqlite://" + path.string(), 3});
  EXPECT_EQ(db->dialect(), Dialect::kSqlite);
  EXPECT_TRUE(std::filesystem::exists(path.parent_path()));
  ASSERT_EQ(db->pool_size(), 3u);
  for (std::size_t i = 0; i < db->pool_size(); ++i) {
    soci::session& sql = db->pool().at(i);
    std::string mode;
    int fk = 0, timeout = 0, sync = 0;
    sql << "PRAGMA journal_mode", soci::into(mode);
    sql << "PRAGMA foreign_keys", soci::into(fk);
    sql << "PRAGMA busy_timeout", soci::into(timeout);
    sql << "PRAGMA synchronous", soci::into(sync);
    EXPECT_EQ(mode, "wal") << i;
    EXPECT_EQ(fk, 1) << i;
    EXPECT_EQ(timeout, 5000) << i;
    EXPECT_EQ(sync, 1) << i;  // NORMAL
  }
}

// What the MySQL and PostgreSQL drivers throw for a lost connection.
class LostConnection : public soci::soci_error {
 public:
  LostConnection() : soci::soci_error("Lost connection to server during query") {}
  error_category get_error_category() const override { return connection_error; }
};

// A connection lost inside a transaction, and a reconnect that fails too (the database is still
// down): soci's reconnect() of a session leased from the pool frees the backend and throws before
// the leased session forgets it. Ending the transaction must not touch it (the server crashed on
// sign-ups while MariaDB was down), and the session's next user reconnects it before running
// anything, so that no request fails once the database is back. Here the reconnect fails
// because the SQLite file's directory is gone.
TEST(Transaction, EndsQuietlyWhenTheReconnectAfterALostConnectionFails) {
  TempDir dir;
  auto db = Database::open({"sqlite://" + (dir.path() / "gone" / "x.db").string(), 1});
  {
    soci::session sql(db->pool());
    Transaction tx(*db, sql);
    std::filesystem::remove_all(dir.path() / "gone");
    Error err = db->error_from(sql, LostConnection(), "users.insert");
    EXPECT_EQ(err.code, ErrorCode::kUnavailable);
    EXPECT_EQ(err.retry_after, 1);
    EXPECT_EQ(sql.get_backend(), nullptr);  // not the freed backend
    EXPECT_FALSE(sql.is_connected());
  }  // ~Transaction: no rollback on a session without a connection

  // The only pooled session is closed: its next user tries to reconnect it first.
  bool ran = false;
  auto select_one = [&](soci::session& sql) -> Result<int> {
    ran = true;
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    return one;
  };
  Result<int> down = with_session<Result<int>>(*db, "still.down", select_one);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(down.error().log_detail.find("still.down: reconnect: "), std::string::npos)
      << down.error().log_detail;
  EXPECT_FALSE(ran);
  EXPECT_EQ(db->ping().error().code, ErrorCode::kUnavailable);

  std::filesystem::create_directories(dir.path() / "gone");  // the database is back
  Result<int> back = with_session<Result<int>>(*db, "back", select_one);
  ASSERT_TRUE(back) << back.error().log_detail;
  EXPECT_EQ(*back, 1);
  EXPECT_TRUE(db->ping());

  soci::session sql(db->pool());
  {
    Transaction tx(*db, sql);
    sql.close();
    EXPECT_THROW(tx.commit(), soci::soci_error);  // an error, not a crash
    tx.rollback();
  }
  EXPECT_TRUE(db->reopen_if_closed(sql, "reopen"));
  int one = 0;
  sql << "SELECT 1", soci::into(one);
  EXPECT_EQ(one, 1);
}

// The circuit breaker (circuit_breaker.hpp) around leases: operations that lose their connection
// (here: the connection is declared lost and its reconnect fails, the SQLite file's directory
// being gone) open it; while it is open an operation fails at once, without trying the
// database; after the cooldown one trial goes through, and the database answering closes it.
TEST(DatabaseBreaker, OpensAfterLostConnectionsFailsFastAndATrialClosesIt) {
  TempDir dir;
  const auto cooldown = std::chrono::milliseconds(300);
  auto db = Database::open({.url = "sqlite://" + (dir.path() / "gone" / "x.db").string(),
                            .pool_size = 1,
                            .breaker_threshold = 2,
                            .breaker_cooldown = cooldown});
  int ran = 0;
  auto select_one = [&](soci::session& sql) -> Result<int> {
    ++ran;
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    return one;
  };
  ASSERT_TRUE(with_session<Result<int>>(*db, "warm", select_one));
  EXPECT_EQ(db->breaker().state(), CircuitBreaker::State::kClosed);

  std::filesystem::remove_all(dir.path() / "gone");
  {
    auto lease = db->lease("first");
    ASSERT_TRUE(lease);
    db->error_from(lease->session(), LostConnection(), "first");  // failure 1
  }  // a lease that lost its connection is no success
  EXPECT_EQ(db->breaker().state(), CircuitBreaker::State::kClosed);
  Result<int> second = with_session<Result<int>>(*db, "second", select_one);  // reconnect fails
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().log_detail.find("second: reconnect: "), std::string::npos);
  EXPECT_EQ(db->breaker().state(), CircuitBreaker::State::kOpen);
  EXPECT_EQ(db->breaker().openings(), 1u);

  // Open: fails at once, even though the database is back, and /readyz's ping too.
  std::filesystem::create_directories(dir.path() / "gone");
  ran = 0;
  Result<int> fast = with_session<Result<int>>(*db, "fast", select_one);
  ASSERT_FALSE(fast);
  EXPECT_EQ(fast.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(fast.error().message, "database unavailable");
  ASSERT_TRUE(fast.error().retry_after.has_value());
  EXPECT_GE(*fast.error().retry_after, 1);
  EXPECT_NE(fast.error().log_detail.find("fast: circuit breaker open"), std::string::npos)
      << fast.error().log_detail;
  EXPECT_EQ(ran, 0);
  Status ping = db->ping();
  ASSERT_FALSE(ping);
  EXPECT_NE(ping.error().log_detail.find("ping: circuit breaker open"), std::string::npos);

  // After the cooldown, a trial against a database still gone opens it again...
  std::filesystem::remove_all(dir.path() / "gone");
  std::this_thread::sleep_for(cooldown + std::chrono::milliseconds(50));
  Result<int> trial = with_session<Result<int>>(*db, "trial", select_one);
  ASSERT_FALSE(trial);
  EXPECT_NE(trial.error().log_detail.find("trial: reconnect: "), std::string::npos);
  EXPECT_EQ(db->breaker().state(), CircuitBreaker::State::kOpen);
  EXPECT_EQ(db->breaker().openings(), 2u);
  EXPECT_EQ(ran, 0);

  // ...and the next trial, the database back, closes it: operations run again.
  std::filesystem::create_directories(dir.path() / "gone");
  std::this_thread::sleep_for(cooldown + std::chrono::milliseconds(50));
  Result<int> back = with_session<Result<int>>(*db, "back", select_one);
  ASSERT_TRUE(back) << back.error().log_detail;
  EXPECT_EQ(*back, 1);
  EXPECT_EQ(db->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(db->ping());
  EXPECT_TRUE(with_session<Result<int>>(*db, "again", select_one));
}

// A database that answers, even with an error, is no reason to open the circuit.
TEST(DatabaseBreaker, StatementErrorsAreNotConnectionFailures) {
  TempDir dir;
  auto db = Database::open({.url = "sqlite://" + (dir.path() / "x.db").string(),
                            .pool_size = 1,
                            .breaker_threshold = 1});
  for (int i = 0; i < 5; ++i) {
    Result<int> bad = with_session<Result<int>>(*db, "bad", [](soci::session& sql) -> Result<int> {
      int v = 0;
      sql << "SELECT no_such_column FROM no_such_table", soci::into(v);
      return v;
    });
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  }
  EXPECT_EQ(db->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(db->breaker().openings(), 0u);
}

TEST(DatabaseOpen, SqliteRelativePathIsRelativeToWorkingDirectory) {
  TempDir dir;
  auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  {
    auto db = Database::open({"sqlite://data/latchkey.db", 1});
    EXPECT_TRUE(db->migrate());
  }
  std::filesystem::current_path(old);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / "latchkey.db"));
}

TEST(DatabaseOpen, SqliteInMemoryUsesOneConnection) {
  auto db = Database::open({"sqlite://:memory:", 8});
  EXPECT_EQ(db->pool_size(), 1u);
  ASSERT_TRUE(db->migrate());
  EXPECT_EQ(db->applied_versions(), Database::known_versions());
}

class DatabaseContract : public ::testing::TestWithParam<std::string> {};

TEST_P(DatabaseContract, WrongPasswordFailsAtOpenWithoutLeakingIt) {
  if (GetParam() == "sqlite") GTEST_SKIP() << "no password";
  TestDatabase t(GetParam(), /*migrated=*/false);
  std::string url = t.url();
  auto scheme_end = url.find("://") + 3;
  auto at = url.rfind('@');
  auto colon = url.find(':', scheme_end);
  ASSERT_NE(at, std::string::npos);
  ASSERT_LT(colon, at);
  url = url.substr(0, colon + 1) + "Wrong-Secret-42" + url.substr(at);
  try {
    Database::open({url, 1});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Wrong-Secret-42"), std::string::npos) << msg;
  }
}

TEST_P(DatabaseContract, MigrateIsIdempotent) {
  TestDatabase t(GetParam(), /*migrated=*/false);
  Database& db = t.db();
  EXPECT_TRUE(db.applied_versions().empty());
  auto first = db.migrate();
  ASSERT_TRUE(first) << first.error().log_detail;
  EXPECT_EQ(db.applied_versions(), Database::known_versions());
  auto second = db.migrate();
  ASSERT_TRUE(second) << second.error().log_detail;
  EXPECT_EQ(db.applied_versions(), Database::known_versions());
  EXPECT_EQ(testing::count_rows(db, "schema_migrations"),
            static_cast<long long>(Database::known_versions().size()));
  EXPECT_EQ(testing::count_rows(db, "users"), 0);
}

TEST_P(DatabaseContract, ConcurrentMigrationsApplyEachVersionOnce) {
  TestDatabase t(GetParam(), /*migrated=*/false);
  // Two "replicas": separate Database objects (separate pools) on the same database.
  auto other = Database::open({t.url(), 2});
  Status a, b;
  std::thread ta([&] { a = t.db().migrate(); });
  std::thread tb([&] { b = other->migrate(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a) << a.error().log_detail;
  ASSERT_TRUE(b) << b.error().log_detail;
  EXPECT_EQ(testing::count_rows(t.db(), "schema_migrations"),
            static_cast<long long>(Database::known_versions().size()));
}

TEST_P(DatabaseContract, Ping) {
  TestDatabase t(GetParam());
  auto s = t.db().ping();
  EXPECT_TRUE(s) << s.error().log_detail;
}

TEST_P(DatabaseContract, ErrorsCarryNoBoundValues) {
  TestDatabase t(GetParam());
  soci::session sql(t.db().pool());
  try {
    std::string secret = "bound-secret-value";
    sql << "SELECT no_such_column FROM users WHERE email = :e", soci::use(secret);
    FAIL() << "expected an exception";
  } catch (const std::exception& e) {
    Error err = t.db().error_from(sql, e, "test.op");
    EXPECT_EQ(err.code, ErrorCode::kInternal);
    EXPECT_EQ(err.log_detail.rfind("test.op: ", 0), 0u) << err.log_detail;
    EXPECT_EQ(err.log_detail.find("bound-secret-value"), std::string::npos) << err.log_detail;
  }
}

// Kills the server side of `victim`'s only pooled connection (MariaDB or PostgreSQL), through
// another connection of the test database.
void kill_only_connection(TestDatabase& t, Database& victim, const std::string& backend) {
  long long id = 0;
  {
    soci::session sql(victim.pool());
    sql << (backend == "mysql" ? "SELECT CONNECTION_ID()" : "SELECT pg_backend_pid()"),
        soci::into(id);
  }
  soci::session killer(t.db().pool());
  if (backend == "mysql") {
    killer << "KILL " + std::to_string(id);
  } else {
    killer << "SELECT pg_terminate_backend(" + std::to_string(id) + ")";
  }
}

TEST_P(DatabaseContract, LostConnectionIsUnavailableThenRecovers) {
  if (GetParam() == "sqlite") GTEST_SKIP() << "no server connection to lose";
  TestDatabase t(GetParam());
  // One pooled connection, so the repository is bound to use the one we kill.
  auto victim = Database::open({t.url(), 1});
  auto users = make_user_repository(*victim);
  kill_only_connection(t, *victim, GetParam());
  auto lost = users->find_by_email("someone@example.com");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable) << lost.error().log_detail;
  // The pooled session was reconnected: the next call works.
  auto again = users->find_by_email("someone@example.com");
  ASSERT_TRUE(again) << again.error().log_detail;
  EXPECT_FALSE(again->has_value());
  EXPECT_TRUE(victim->ping());
}

// A database restart kills the connections sitting in the pool: the next user of one that sat
// idle for Database::kIdleCheck pings it first and reconnects, so its operation succeeds.
TEST_P(DatabaseContract, IdleConnectionKilledWhileInThePoolIsReconnectedBeforeUse) {
  if (GetParam() == "sqlite") GTEST_SKIP() << "no server connection to lose";
  TestDatabase t(GetParam());
  auto victim = Database::open({t.url(), 1});
  auto users = make_user_repository(*victim);
  kill_only_connection(t, *victim, GetParam());
  std::this_thread::sleep_for(Database::kIdleCheck + std::chrono::milliseconds(50));
  auto found = users->find_by_email("someone@example.com");
  ASSERT_TRUE(found) << found.error().log_detail;
  EXPECT_FALSE(found->has_value());
}

// Every pooled connection is held (here by one lease; in production by operations waiting on a
// hung server): the next caller gets kUnavailable after lease_wait instead of waiting for good.
TEST_P(DatabaseContract, LeaseGivesUpWhenNoConnectionFreesInTime) {
  TestDatabase t(GetParam());
  auto db = Database::open(
      {.url = t.url(), .pool_size = 1, .lease_wait = std::chrono::milliseconds(300)});
  auto held = db->lease("hold");
  ASSERT_TRUE(held) << held.error().log_detail;
  const auto start = std::chrono::steady_clock::now();
  auto second = db->lease("second");
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().log_detail.find("second: no pooled connection free within 300 ms"),
            std::string::npos)
      << second.error().log_detail;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  { auto done = std::move(*held); }  // given back
  auto third = db->lease("third");
  EXPECT_TRUE(third) << third.error().log_detail;
}

// PostgreSQL's client library has no read timeout: a statement the server does not answer in
// time (here one that sleeps; in production a stopped or partitioned server) has its connection
// cut by the statement watchdog and fails with kUnavailable, and the next operation reconnects.
TEST_P(DatabaseContract, PostgresStatementPastTheTimeLimitIsCutAndTheConnectionRecovers) {
  if (GetParam() != "postgres") GTEST_SKIP() << "MariaDB has read_timeout; SQLite has no server";
  TestDatabase t(GetParam());
  auto db = Database::open(
      {.url = t.url(), .pool_size = 1, .statement_timeout = std::chrono::milliseconds(1000)});
  const auto start = std::chrono::steady_clock::now();
  Status slow = with_session<Status>(*db, "sleepy", [](soci::session& sql) -> Status {
    sql << "SELECT pg_sleep(10)";
    return {};
  });
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, ErrorCode::kUnavailable) << slow.error().log_detail;
  EXPECT_GE(waited, std::chrono::milliseconds(1000));
  EXPECT_LT(waited, std::chrono::seconds(5));
  auto users = make_user_repository(*db);
  auto found = users->find_by_email("someone@example.com");
  ASSERT_TRUE(found) << found.error().log_detail;
  // Each operation is timed from its own start: this one ends 1.1 s after the lease above
  // began, and is not cut.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  Status quick = with_session<Status>(*db, "quick", [](soci::session& sql) -> Status {
    sql << "SELECT pg_sleep(0.7)";
    return {};
  });
  EXPECT_TRUE(quick) << quick.error().log_detail;
}

// Purges delete in batches, each statement a write of its own, until one deletes fewer than a
// batch: the same SQL (a derived table under IN, for MariaDB) on every backend.
TEST_P(DatabaseContract, PurgeInBatchesDeletesWhatTheConditionSelectsAFewRowsAtATime) {
  TestDatabase t(GetParam());
  {
    soci::session sql(t.db().pool());
    sql << "CREATE TABLE purge_demo (id VARCHAR(36) NOT NULL PRIMARY KEY, at BIGINT NOT NULL)";
    for (int i = 1; i <= 7; ++i) {
      sql << "INSERT INTO purge_demo (id, at) VALUES ('r" + std::to_string(i) + "', " +
                 std::to_string(i) + ")";
    }
  }
  auto deleted = purge_in_batches(t.db(), "test.purge", "purge_demo", "id", "at < :at", 6, 2);
  ASSERT_TRUE(deleted) << deleted.error().log_detail;
  EXPECT_EQ(*deleted, 5);  // r1..r5, two at a time
  EXPECT_EQ(testing::count_rows(t.db(), "purge_demo"), 2);
  auto none = purge_in_batches(t.db(), "test.purge", "purge_demo", "id", "at < :at", 6, 2);
  ASSERT_TRUE(none) << none.error().log_detail;
  EXPECT_EQ(*none, 0);
  auto exact = purge_in_batches(t.db(), "test.purge", "purge_demo", "id", "at < :at", 100, 2);
  ASSERT_TRUE(exact) << exact.error().log_detail;
  EXPECT_EQ(*exact, 2);  // a full batch, then an empty one
  EXPECT_EQ(testing::count_rows(t.db(), "purge_demo"), 0);
  soci::session sql(t.db().pool());
  sql << "DROP TABLE purge_demo";
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseContract, ::testing::ValuesIn(testing::backends()),
                         testing::backend_name);

}  // namespace
}  // namespace latchkey::store
