#pragma once
// The database adapter: one connection pool per process over SQLite, MariaDB/MySQL or PostgreSQL
// (SOCI backends), the schema migrations, and the helpers the repositories in store/ share.
// No SQL lives outside store/.
//
//   auto db = store::Database::open({.url = "sqlite://data/latchkey.db"});  // throws on failure
//   if (auto s = db->migrate(); !s) fail(s.error());
//   auto users = store::make_user_repository(*db);
//
// URLs:
//   sqlite://data/latchkey.db        relative path (parent directory created if missing)
//   sqlite:///var/lib/latchkey.db    absolute path
//   sqlite://:memory:                private in-memory database (pool forced to one connection)
//   mysql://user:pass@host:3306/db   also mariadb://; user and password are percent-decoded;
//                                    ?unix_socket=/path (or ?socket=) connects through a socket
//   postgresql://user:pass@host:5432/db   also postgres://; other query parameters (sslmode, ...)
//                                    are passed to libpq

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace soci {
class connection_pool;
class session;
}  // namespace soci

namespace latchkey::store {

class CircuitBreaker;
class StatementCache;
class StatementWatchdog;
class WalCheckpointer;

enum class Dialect { kSqlite, kMysql, kPostgres };

std::string_view to_string(Dialect d) noexcept;

struct DatabaseOptions {
  std::string url;
  std::size_t pool_size = 8;
  // How long lease() waits for a pooled connection to become free before kUnavailable (every
  // connection held, e.g. by operations waiting on a hung server). database.pool_wait.
  std::chrono::milliseconds lease_wait{5000};
  // How long one leased operation may wait on the server before it fails with kUnavailable
  // (database.statement_timeout). PostgreSQL: its connection is cut then (libpq has no read
  // timeout; see statement_watchdog.hpp). MariaDB/MySQL: the client library's read and write
  // timeouts are set from it; and connecting gives up after it on both (connect_limits in
  // database_url.hpp).
  std::chrono::milliseconds statement_timeout{10000};
  // The circuit breaker (circuit_breaker.hpp): after this many operations in a row lost their
  // connection, operations fail at once with 503 for `breaker_cooldown`, then one is let
  // through as a trial. 0 turns it off. database.breaker_threshold / database.breaker_cooldown.
  std::size_t breaker_threshold = 5;
  std::chrono::milliseconds breaker_cooldown{2000};
};

// The URL with its password replaced by "***" (for `config check` and logs). Text that does not
// parse as a URL is returned with everything between "://" and the last '@' masked.
std::string redact_url(std::string_view url);

class Database {
 public:
  // Parses the URL, opens `pool_size` connections and configures them (SQLite: WAL,
  // busy_timeout=5000, synchronous=NORMAL, foreign_keys=ON; MariaDB: utf8mb4). Throws
  // std::runtime_error with a message naming the problem (never the password) when the URL is
  // malformed or the database cannot be reached: this is a start-up failure.
  static std::unique_ptr<Database> open(const DatabaseOptions& options);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Dialect dialect() const noexcept { return dialect_; }
  // The URL as given, password masked.
  const std::string& redacted_url() const noexcept { return redacted_url_; }

  // Applies the pending migrations in version order, each in its own transaction where the
  // dialect allows DDL in transactions (SQLite, PostgreSQL; MariaDB commits DDL implicitly), and
  // records each in schema_migrations(version, name, applied_at). Running it again applies
  // nothing. Replicas starting at once serialise on a lock (GET_LOCK on MariaDB,
  // pg_advisory_lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so each migration is applied once.
  Status migrate();

  // Versions recorded in schema_migrations, ascending ("0001", ...); empty before the first
  // migrate(). Throws std::runtime_error when the database cannot be read (used by CLI commands).
  std::vector<std::string> applied_versions();

  // Versions known to this binary, ascending.
  static std::vector<std::string> known_versions();

  // A trivial round trip on a pooled connection (for /readyz). kUnavailable when it fails, and
  // at once while the circuit breaker is open.
  Status ping();

  // The circuit breaker every lease passes (for tests and logs).
  const CircuitBreaker& breaker() const noexcept { return *breaker_; }

  // The pool (tests lease sessions from it directly: `soci::session sql(db.pool());`).
  soci::connection_pool& pool() noexcept { return *pool_; }

  // A pooled session leased for one operation (with_session in sql_support.hpp), given back when
  // the lease ends. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    soci::session& session() noexcept { return *sql_; }

   private:
    friend class Database;
    Lease(Database& db, std::size_t position);
    // PostgreSQL: (re)starts the statement watchdog's clock for `operation` on the session's
    // current socket. Nothing on the other dialects.
    void watch(std::string_view operation);
    Database* db_;
    std::size_t position_;
    soci::session* sql_;
  };

  // Leases a pooled session, waiting up to DatabaseOptions::lease_wait for one to be free, and
  // makes it ready for `operation`: one left closed by a failed reconnect is reconnected, and on
  // a database server one that sat unused for kIdleCheck or longer is pinged first and
  // reconnected when its connection died (the database restarted while it sat in the pool), so
  // that an operation does not fail on a stale connection. On PostgreSQL the lease's operation
  // (the ping included) runs under the statement watchdog. kUnavailable (the session given back)
  // when no session became free in time or the database cannot be reached, and at once, with a
  // retry_after, while the circuit breaker is open: a lease that loses its connection (here or
  // through error_from) counts as a failure, any other one as a success; the breaker's
  // half-open trial is always pinged first.
  Result<Lease> lease(std::string_view operation) { return lease_within(operation, lease_wait_); }
  static constexpr std::chrono::milliseconds kIdleCheck{1000};
  std::size_t pool_size() const noexcept { return pool_size_; }

  // --- for the repositories in store/ ---

  // SQLite allows one writer at a time and its busy handler sleeps, so writers inside this process
  // queue on a mutex instead (cross-process writers still meet busy_timeout). Empty lock for the
  // other dialects. Take it after leasing a session, never before.
  std::unique_lock<std::mutex> lock_writes();

  // SQLite files only (null otherwise): a connection outside the pool that only ever writes, and
  // only while holding lock_writes(). As the last writer it keeps its page cache valid from one
  // write transaction to the next, so the write lock is not held while a stale cache (dropped
  // because another connection committed) is re-read from disk. Used through
  // with_write_session() in sql_support.hpp.
  soci::session* writer() noexcept { return writer_.get(); }

  // The statements kept prepared on `sql` (see with_prepared() in sql_support.hpp) when it is one
  // of this database's own SQLite connections, the writer or a pooled one; used only by whoever
  // holds that connection (the write lock for the writer, a Lease for a pooled one). nullptr for
  // any other session (a proxy `soci::session sql(db.pool())`, MariaDB, PostgreSQL): there
  // with_prepared() prepares for the call only.
  StatementCache* statements_for(const soci::session& sql) const noexcept;

  // Maps an exception thrown by SOCI (or the driver) while doing `operation` to an Error:
  // kUnavailable when the connection is lost (the session is closed; its next user reconnects
  // it) or the database is busy/deadlocked, kConflict when `unique_is_conflict` and a unique
  // or primary key constraint was violated, else kInternal. log_detail holds the operation and
  // the driver's message (without bound values, with the URL's password masked).
  Error error_from(soci::session& sql, const std::exception& e, std::string_view operation,
                   bool unique_is_conflict = false);

  // A session whose connection was lost and could not be reconnected has no backend (its
  // statements would fail). Reconnects such a session before it is used: kUnavailable when the
  // database still cannot be reached. Ok for a connected session, without a round trip.
  Status reopen_if_closed(soci::session& sql, std::string_view operation);

  // True when `e` reports a violated unique or primary-key constraint.
  bool is_unique_violation(const std::exception& e) const;

 private:
  Database();
  Result<Lease> lease_within(std::string_view operation, std::chrono::milliseconds wait);
  // Logs that the circuit breaker opened (warn) or closed (info), naming the database; never
  // throws.
  void log_breaker(bool opened) const noexcept;
  std::string scrub(std::string text) const;
  // Reconnects `sql` and configures the new connection; on failure leaves it closed (no backend)
  // and returns kUnavailable.
  Status reconnect(soci::session& sql, std::string_view operation);
  // Closes `sql`, whose connection was lost or could not be made (no backend left), so that its
  // next user reconnects it. A failure for the circuit breaker; when `sql` is a pooled session,
  // its lease will not count as a success.
  void disconnect(soci::session& sql) noexcept;

  Dialect dialect_ = Dialect::kSqlite;
  std::string redacted_url_;
  std::vector<std::string> secrets_;  // strings that must never reach a log
  std::size_t pool_size_ = 0;
  std::unique_ptr<soci::connection_pool> pool_;
  // When each pooled session was last given back (by a Lease), by pool position. An entry is
  // only touched by the holder of that position's lease.
  std::vector<std::chrono::steady_clock::time_point> last_used_;
  // Whether the lease of each pooled position lost its connection (disconnect); likewise only
  // touched by the holder of that position's lease. Not vector<bool>: neighbours are written by
  // different threads.
  std::unique_ptr<bool[]> lost_;
  std::unique_ptr<CircuitBreaker> breaker_;
  std::mutex write_mutex_;
  std::unique_ptr<soci::session> writer_;
  // SQLite: the statements kept on each pooled connection and on the writer (statements_for);
  // after pool_ and writer_, so destroyed before the connections they belong to.
  struct KeptStatements {
    const soci::session* sql;
    std::unique_ptr<StatementCache> cache;
  };
  std::vector<KeptStatements> kept_statements_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // checkpoints writer_'s WAL off its thread
  std::chrono::milliseconds lease_wait_{0};
  std::unique_ptr<StatementWatchdog> watchdog_;  // PostgreSQL only
  std::string migration_connect_;                // MySQL: the connect string without I/O timeouts
};

}  // namespace latchkey::store
