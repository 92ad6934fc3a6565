#pragma once
// Helpers shared by the SOCI repositories in store/. Not for use outside store/.

#include <soci/soci.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.hpp"
#include "store/database.hpp"
#include "store/statement_cache.hpp"

namespace latchkey::store {

// The transaction of the UnitOfWork running on this thread (see make_unit_of_work): while it is
// set, every repository call on `db` joins it: it runs on `sql`, and its own Transaction is a
// no-op. Set and cleared only by AmbientScope.
struct Ambient {
  Database* db = nullptr;
  soci::session* sql = nullptr;
};
inline thread_local Ambient t_ambient;

inline soci::session* ambient_session(Database& db) {
  return t_ambient.db == &db ? t_ambient.sql : nullptr;
}

class AmbientScope {
 public:
  AmbientScope(Database& db, soci::session& sql) : saved_(t_ambient) { t_ambient = {&db, &sql}; }
  ~AmbientScope() { t_ambient = saved_; }
  AmbientScope(const AmbientScope&) = delete;
  AmbientScope& operator=(const AmbientScope&) = delete;

 private:
  Ambient saved_;
};

// Runs f(q) with q a query object Q (see statement_cache.hpp) prepared on `sql` for `query`. On
// SQLite's own connections (the writer and the pooled ones; Database::statements_for) q is kept
// and re-executed by later calls with the same Q and query on that connection (its statement
// finished after each use, and forgotten when f throws); on other connections it is prepared
// for this call only. f runs q.st and reads q's variables; it must not use the same Q and query
// again inside (that would be the same object).
template <typename Q, typename F>
decltype(auto) with_prepared(Database& db, soci::session& sql, std::string_view query, F&& f) {
  StatementCache* kept = db.statements_for(sql);
  if (kept == nullptr) {
    Q q(sql, std::string(query));
    return f(q);
  }
  StatementCache& cache = *kept;
  Q& q = cache.get<Q>(sql, query);
  struct Finish {
    soci::statement& st;
    ~Finish() { StatementCache::finish(st); }
  };
  try {
    Finish finish{q.st};
    return f(q);
  } catch (...) {
    cache.drop<Q>(query);
    throw;
  }
}

// A statement without parameters or results (SAVEPOINT, COMMIT, ...), for with_prepared().
struct PlainStatement {
  soci::statement st;
  PlainStatement(soci::session& sql, const std::string& query) : st((sql.prepare << query)) {}
};

// A SELECT with one parameter (`key`) whose result columns Row::bind(soci::statement&) binds to
// `row` (e.g. a repository's row struct), for with_prepared().
template <typename Row>
struct SelectByKey {
  std::string key;
  Row row;
  soci::statement st;

  SelectByKey(soci::session& sql, const std::string& query) : st(sql) {
    st.alloc();
    row.bind(st);
    st.exchange(soci::use(key));
    st.prepare(query);
    st.define_and_bind();
  }
};

// Executes a statement without parameters or results, kept prepared on the writer.
inline void execute_prepared(Database& db, soci::session& sql, std::string_view query) {
  with_prepared<PlainStatement>(db, sql, query, [](PlainStatement& p) { p.st.execute(true); });
}

// A transaction on a leased session, rolled back unless committed. On SQLite it takes the
// in-process write lock and starts with BEGIN IMMEDIATE, so that the write lock is held from the
// first statement (no deferred read-to-write upgrade that could fail with SQLITE_BUSY).
class Transaction {
 public:
  // On the dedicated writer session (with_write_session) the caller already holds the write lock.
  // Inside a unit of work (the ambient transaction) it does nothing: the unit commits.
  Transaction(Database& db, soci::session& sql)
      : db_(db),
        sql_(sql),
        joined_(ambient_session(db) == &sql),
        lock_(joined_ || &sql == db.writer() ? std::unique_lock<std::mutex>() : db.lock_writes()) {
    if (joined_) {
      done_ = true;
    } else if (db.dialect() == Dialect::kSqlite) {
      execute_prepared(db, sql_, "BEGIN IMMEDIATE");
    } else {
      sql_.begin();
    }
  }
  ~Transaction() {
    if (done_) return;
    try {
      rollback_if_connected();
    } catch (...) {
      // A broken connection rolls back by itself.
    }
  }
  void commit() {
    if (joined_) return;
    if (sql_.get_backend() == nullptr) throw soci::soci_error("Session is not connected.");
    if (db_.dialect() == Dialect::kSqlite) {
      execute_prepared(db_, sql_, "COMMIT");
    } else {
      sql_.commit();
    }
    done_ = true;
  }
  // Inside a unit of work, a rollback must undo the whole unit: callers return an error after
  // it, which makes the unit roll back.
  void rollback() {
    if (joined_) return;
    done_ = true;
    rollback_if_connected();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  // A statement inside the transaction that lost the connection has Database::error_from try to
  // reconnect; when that fails too, the session is left without a backend, and soci's rollback()
  // would dereference it. The server rolled the transaction back when the connection died.
  void rollback_if_connected() {
    if (sql_.get_backend() != nullptr) sql_.rollback();
  }

  Database& db_;
  soci::session& sql_;
  bool joined_ = false;
  std::unique_lock<std::mutex> lock_;
  bool done_ = false;
};

// Runs `f(sql)` on a leased session; any exception becomes an Error through Database::error_from.
// `f` returns Result<T> (or Status).
template <typename R, typename F>
R with_session(Database& db, std::string_view operation, F&& f, bool unique_is_conflict = false) {
  if (soci::session* joined = ambient_session(db)) {
    try {
      return f(*joined);
    } catch (const std::exception& e) {
      return db.error_from(*joined, e, operation, unique_is_conflict);
    }
  }
  auto lease = db.lease(operation);
  if (!lease) return std::move(lease).error();
  soci::session& sql = lease->session();
  try {
    return f(sql);
  } catch (const std::exception& e) {
    return db.error_from(sql, e, operation, unique_is_conflict);
  }
}

// Like with_session for operations that write: on SQLite files `f` runs on the dedicated writer
// connection (Database::writer()) under the in-process write lock; elsewhere on a leased session.
template <typename R, typename F>
R with_write_session(Database& db, std::string_view operation, F&& f,
                     bool unique_is_conflict = false) {
  soci::session* writer = db.writer();
  if (writer == nullptr || ambient_session(db) != nullptr) {
    return with_session<R>(db, operation, std::forward<F>(f), unique_is_conflict);
  }
  auto guard = db.lock_writes();
  if (Status open = db.reopen_if_closed(*writer, operation); !open) return std::move(open).error();
  try {
    return f(*writer);
  } catch (const std::exception& e) {
    return db.error_from(*writer, e, operation, unique_is_conflict);
  }
}

// Executes a prepared statement and returns the number of rows it matched.
inline long long execute_count(soci::statement& st) {
  st.execute(true);
  return st.get_affected_rows();
}

// Rows a purge deletes per statement (purge_in_batches).
inline constexpr int kPurgeBatch = 1000;

// Deletes the rows of `table` that `where` selects (an SQL condition whose only parameter is
// :at, bound to `at`), identified by the column `key`, at most `batch` rows per statement, each
// statement a write of its own, until one deletes fewer than `batch`. A large backlog (a first
// purge after a long pause, a shorter audit retention) thus never holds SQLite's write lock
// for long, nor runs into the statement time limit of the server databases. Returns the rows
// deleted; the first error ends it (what was deleted stays deleted, the rest waits for the next
// purge). The names and the condition are the caller's constants, never user input.
inline Result<long long> purge_in_batches(Database& db, std::string_view operation,
                                          const std::string& table, const std::string& key,
                                          const std::string& where, long long at,
                                          int batch = kPurgeBatch) {
  // The derived table lets MariaDB delete from the table it selects from, and LIMIT inside IN.
  const std::string query = "DELETE FROM " + table + " WHERE " + key + " IN (SELECT " + key +
                            " FROM (SELECT " + key + " FROM " + table + " WHERE " + where +
                            " LIMIT " + std::to_string(batch) + ") purge_batch)";
  long long total = 0;
  while (true) {
    auto deleted = with_write_session<Result<long long>>(
        db, operation, [&](soci::session& sql) -> Result<long long> {
          soci::statement st = (sql.prepare << query, soci::use(at));
          return execute_count(st);
        });
    if (!deleted) return std::move(deleted).error();
    total += *deleted;
    if (*deleted < batch) return total;
  }
}

inline long long to_db(TimePoint t) {
  return static_cast<long long>(to_unix_ms(t));
}
inline TimePoint from_db(long long ms) {
  return from_unix_ms(ms);
}

// Nullable BIGINT time columns.
struct NullableTime {
  long long value = 0;
  soci::indicator ind = soci::i_null;

  static NullableTime of(const std::optional<TimePoint>& t) {
    NullableTime n;
    if (t) {
      n.value = to_db(*t);
      n.ind = soci::i_ok;
    }
    return n;
  }
  std::optional<TimePoint> get() const {
    if (ind != soci::i_ok) return std::nullopt;
    return from_db(value);
  }
};

// Nullable text columns where NULL and "" mean the same (absent).
struct NullableText {
  std::string value;
  soci::indicator ind = soci::i_null;

  static NullableText of(const std::string& s) {
    NullableText n;
    if (!s.empty()) {
      n.value = s;
      n.ind = soci::i_ok;
    }
    return n;
  }
  std::string get() const { return ind == soci::i_ok ? value : std::string(); }
};

inline Error not_found(std::string_view what) {
  return Error::make(ErrorCode::kNotFound, std::string(what) + " not found");
}

}  // namespace latchkey::store
