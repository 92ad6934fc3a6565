#include "store/database.hpp"

#include <soci/connection-pool.h>
#include <soci/mysql/soci-mysql.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "common/log.hpp"
#include "store/circuit_breaker.hpp"
#include "store/database_url.hpp"
#include "store/migrations.hpp"
#include "store/sql_support.hpp"
#include "store/statement_cache.hpp"
#include "store/statement_watchdog.hpp"
#include "store/wal_checkpointer.hpp"

namespace latchkey::store {

namespace {

constexpr int kSqliteBusyTimeoutMs = 5000;
constexpr int kMigrationLockTimeoutSeconds = 60;
// pg_advisory_lock key: "latchkey" in ASCII, truncated to fit a signed 64-bit integer.
constexpr std::string_view kPgMigrationLockKey = "7809911610410710112";
constexpr std::string_view kMysqlMigrationLock = "latchkey_migrate";

enum class Failure { kUnique, kConnection, kTransient, kOther };

// The driver's liveness check (a round trip on the server dialects); an exception means no.
bool alive(soci::session& sql) noexcept {
  try {
    return sql.is_connected();
  } catch (...) {
    return false;
  }
}

// The driver's own message, without SOCI's context (which may quote bound values), on one line.
std::string driver_message(const std::exception& e) {
  const auto* se = dynamic_cast<const soci::soci_error*>(&e);
  std::string raw = se != nullptr ? se->get_error_message() : std::string(e.what());
  std::string out;
  bool space = false;
  for (char c : raw) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

Failure classify(const std::exception& e) {
  if (const auto* le = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
    int primary = le->result() & 0xff;
    if (primary == 19) {  // SQLITE_CONSTRAINT
      std::string msg = le->get_error_message();
      if (msg.find("UNIQUE") != std::string::npos || msg.find("PRIMARY KEY") != std::string::npos) {
        return Failure::kUnique;
      }
      return Failure::kOther;
    }
    if (primary == 5 || primary == 6) return Failure::kTransient;  // SQLITE_BUSY / LOCKED
    return Failure::kOther;
  }
  if (const auto* me = dynamic_cast<const soci::mysql_soci_error*>(&e)) {
    switch (me->err_num_) {
      case 1062:  // ER_DUP_ENTRY
      case 1586:  // ER_DUP_ENTRY_WITH_KEY_NAME
        return Failure::kUnique;
      case 1205:  // ER_LOCK_WAIT_TIMEOUT
      case 1213:  // ER_LOCK_DEADLOCK
        return Failure::kTransient;
      default:
        break;
    }
    if (me->get_error_category() == soci::soci_error::connection_error) {
      return Failure::kConnection;
    }
    return Failure::kOther;
  }
  if (const auto* pe = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    std::string state = pe->sqlstate();
    if (state == "23505") return Failure::kUnique;
    if (state == "40001" || state == "40P01" || state == "55P03") return Failure::kTransient;
    if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
      return Failure::kConnection;
    }
    if (pe->get_error_category() == soci::soci_error::connection_error) {
      return Failure::kConnection;
    }
    return Failure::kOther;
  }
  if (const auto* se = dynamic_cast<const soci::soci_error*>(&e)) {
    if (se->get_error_category() == soci::soci_error::connection_error) {
      return Failure::kConnection;
    }
  }
  return Failure::kOther;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void configure_connection(soci::session& sql, Dialect dialect) {
  switch (dialect) {
    case Dialect::kSqlite: {
      sql << "PRAGMA busy_timeout = " + std::to_string(kSqliteBusyTimeoutMs);
      std::string mode;
      sql << "PRAGMA journal_mode = WAL", soci::into(mode);
      sql << "PRAGMA synchronous = NORMAL";
      sql << "PRAGMA foreign_keys = ON";
      // A fallback: the writer's WAL hook (WalCheckpointer) replaces this on the writer.
      sql << "PRAGMA wal_autocheckpoint = " + std::to_string(WalCheckpointer::kInlinePages);
      break;
    }
    case Dialect::kMysql:
      // Fewer gap locks than REPEATABLE READ; compare-and-set updates read the latest row anyway.
      sql << "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
      break;
    case Dialect::kPostgres:
      // libpq prints NOTICEs (e.g. "relation already exists, skipping") to stderr otherwise.
      sql << "SET client_min_messages TO WARNING";
      break;
  }
}

const soci::backend_factory& factory_for(Dialect d) {
  switch (d) {
    case Dialect::kSqlite:
      return soci::sqlite3;
    case Dialect::kMysql:
      return soci::mysql;
    case Dialect::kPostgres:
      return soci::postgresql;
  }
  return soci::sqlite3;
}

// Holds the cross-replica migration lock for the lifetime of the object.
class MigrationLock {
 public:
  MigrationLock(soci::session& sql, Dialect d) : sql_(sql), dialect_(d) {
    if (d == Dialect::kMysql) {
      int got = 0;
      soci::indicator ind = soci::i_ok;
      std::string name(kMysqlMigrationLock);
      int timeout = kMigrationLockTimeoutSeconds;
      sql << "SELECT GET_LOCK(:name, :timeout)", soci::use(name), soci::use(timeout),
          soci::into(got, ind);
      if (ind != soci::i_ok || got != 1) {
        throw std::runtime_error("timed out waiting for the migration lock");
      }
      held_ = true;
    } else if (d == Dialect::kPostgres) {
      sql << "SELECT pg_advisory_lock(" + std::string(kPgMigrationLockKey) + ")";
      held_ = true;
    }
  }
  ~MigrationLock() {
    if (!held_) return;
    try {
      if (dialect_ == Dialect::kMysql) {
        int released = 0;
        soci::indicator ind = soci::i_ok;
        std::string name(kMysqlMigrationLock);
        sql_ << "SELECT RELEASE_LOCK(:name)", soci::use(name), soci::into(released, ind);
      } else {
        sql_ << "SELECT pg_advisory_unlock(" + std::string(kPgMigrationLockKey) + ")";
      }
    } catch (...) {
      // The lock dies with the connection.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  soci::session& sql_;
  Dialect dialect_;
  bool held_ = false;
};

std::string create_schema_migrations(Dialect d) {
  std::string sql =
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version VARCHAR(32) NOT NULL PRIMARY KEY, "
      "name VARCHAR(200) NOT NULL, "
      "applied_at BIGINT NOT NULL)";
  if (d == Dialect::kMysql) sql += " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
  return sql;
}

bool is_applied(soci::session& sql, std::string_view version) {
  int count = 0;
  std::string v(version);
  sql << "SELECT COUNT(*) FROM schema_migrations WHERE version = :v", soci::use(v),
      soci::into(count);
  return count > 0;
}

void record(soci::session& sql, const Migration& m) {
  std::string version(m.version);
  std::string name(m.name);
  long long at = now_ms();
  sql << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :a)",
      soci::use(version), soci::use(name), soci::use(at);
}

}  // namespace

std::string_view to_string(Dialect d) noexcept {
  switch (d) {
    case Dialect::kSqlite:
      return "sqlite";
    case Dialect::kMysql:
      return "mysql";
    case Dialect::kPostgres:
      return "postgresql";
  }
  return "sqlite";
}

std::unique_ptr<Database> Database::open(const DatabaseOptions& options) {
  auto parsed = parse_database_url(options.url);
  if (!parsed) {
    throw std::runtime_error("invalid database.url '" + redact_url(options.url) +
                             "': " + parsed.error().message);
  }
  std::unique_ptr<Database> db(new Database());
  db->dialect_ = parsed->dialect;
  db->redacted_url_ = redact_url(options.url);
  if (!parsed->password.empty()) db->secrets_.push_back(parsed->password);
  if (auto colon = options.url.find(':', options.url.find("://") + 3);
      !parsed->password.empty() && colon != std::string::npos) {
    // The password as written in the URL (possibly percent-encoded) is a secret too.
    auto at = options.url.rfind('@');
    if (at != std::string::npos && at > colon) {
      db->secrets_.push_back(options.url.substr(colon + 1, at - colon - 1));
    }
  }

  std::size_t size = options.pool_size == 0 ? 1 : options.pool_size;
  if (parsed->dialect == Dialect::kSqlite) {
    if (parsed->sqlite_path == ":memory:") {
      size = 1;  // every connection would see its own private database
    } else {
      std::filesystem::path path(parsed->sqlite_path);
      if (path.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
          throw std::runtime_error("cannot create the directory of database " + db->redacted_url_ +
                                   ": " + ec.message());
        }
      }
    }
  }
  db->pool_size_ = size;
  db->lease_wait_ = options.lease_wait;
  db->pool_ = std::make_unique<soci::connection_pool>(size);
  db->last_used_.assign(size, std::chrono::steady_clock::now());
  db->lost_ = std::make_unique<bool[]>(size);
  db->breaker_ = std::make_unique<CircuitBreaker>(CircuitBreaker::Options{
      .threshold = options.breaker_threshold, .cooldown = options.breaker_cooldown});
  const ConnectLimits limits = connect_limits(options.statement_timeout);
  const std::string connect = soci_connect_string(*parsed, limits);
  if (db->dialect_ == Dialect::kMysql) {
    db->migration_connect_ = soci_connect_string(*parsed, {.connect = limits.connect});
  }
  for (std::size_t i = 0; i < size; ++i) {
    soci::session& sql = db->pool_->at(i);
    try {
      sql.open(factory_for(db->dialect_), connect);
      configure_connection(sql, db->dialect_);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot connect to database " + db->redacted_url_ + ": " +
                               db->scrub(driver_message(e)));
    }
  }
  if (db->dialect_ == Dialect::kSqlite) {
    for (std::size_t i = 0; i < size; ++i) {
      db->kept_statements_.push_back({&db->pool_->at(i), std::make_unique<StatementCache>()});
    }
  }
  if (db->dialect_ == Dialect::kPostgres) {
    db->watchdog_ = std::make_unique<StatementWatchdog>(size, options.statement_timeout);
  }
  if (db->dialect_ == Dialect::kSqlite && parsed->sqlite_path != ":memory:") {
    db->writer_ = std::make_unique<soci::session>();
    try {
      db->writer_->open(factory_for(db->dialect_), connect);
      configure_connection(*db->writer_, db->dialect_);
      db->kept_statements_.push_back({db->writer_.get(), std::make_unique<StatementCache>()});
      db->checkpointer_ = std::make_unique<WalCheckpointer>(*db->writer_, db->write_mutex_, connect,
                                                            factory_for(db->dialect_));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot connect to database " + db->redacted_url_ + ": " +
                               db->scrub(driver_message(e)));
    }
  }
  return db;
}

Database::Database() = default;

Database::~Database() {
  checkpointer_.reset();     // unhooks the writer and joins the thread
  kept_statements_.clear();  // finalised before their connections close
}

StatementCache* Database::statements_for(const soci::session& sql) const noexcept {
  for (const auto& kept : kept_statements_) {
    if (kept.sql == &sql) return kept.cache.get();
  }
  return nullptr;
}

std::string Database::scrub(std::string text) const {
  for (const auto& secret : secrets_) {
    if (secret.empty()) continue;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

std::unique_lock<std::mutex> Database::lock_writes() {
  if (dialect_ != Dialect::kSqlite) return {};
  return std::unique_lock<std::mutex>(write_mutex_);
}

bool Database::is_unique_violation(const std::exception& e) const {
  return classify(e) == Failure::kUnique;
}

Error Database::error_from(soci::session& sql, const std::exception& e, std::string_view operation,
                           bool unique_is_conflict) {
  Failure kind = classify(e);
  std::string detail = std::string(operation) + ": " + scrub(driver_message(e));
  if (kind == Failure::kOther && dialect_ != Dialect::kSqlite) {
    // Errors the driver does not classify may still come from a dead connection.
    if (!alive(sql)) kind = Failure::kConnection;
  }
  switch (kind) {
    case Failure::kUnique:
      if (unique_is_conflict) {
        return Error{ErrorCode::kConflict, "already exists", {}, {}, std::move(detail)};
      }
      break;
    case Failure::kConnection:
      // Closed, not reconnected here: against a hung server a reconnect would make this caller
      // wait connect_timeout more for its 503. The session's next user reconnects it (lease(),
      // reopen_if_closed()).
      disconnect(sql);
      return Error{ErrorCode::kUnavailable, "database unavailable", {}, 1, std::move(detail)};
    case Failure::kTransient:
      return Error{ErrorCode::kUnavailable, "database busy", {}, 1, std::move(detail)};
    case Failure::kOther:
      break;
  }
  return Error::internal(std::move(detail));
}

Status Database::reconnect(soci::session& sql, std::string_view operation) {
  if (StatementCache* kept = statements_for(sql)) kept->clear();  // they die with the connection
  try {
    sql.reconnect();
    configure_connection(sql, dialect_);
    if (&sql == writer_.get()) checkpointer_->hook();
    return {};
  } catch (const std::exception& e) {
    // Closed, the session has no backend, which its next user sees (lease(), reopen_if_closed).
    // It also matters for a proxy session (`soci::session sql(pool)`): soci's reconnect() deleted
    // the pooled session's backend and threw before updating the proxy, left pointing at it.
    disconnect(sql);
    return Error{ErrorCode::kUnavailable,
                 "database unavailable",
                 {},
                 1,
                 std::string(operation) + ": reconnect: " + scrub(driver_message(e))};
  }
}

void Database::disconnect(soci::session& sql) noexcept {
  if (StatementCache* kept = statements_for(sql)) kept->clear();  // they die with the connection
  try {
    sql.close();
  } catch (...) {
  }
  if (breaker_->failure(std::chrono::steady_clock::now())) {
    log_breaker(true);
  }
  for (std::size_t i = 0; i < pool_size_; ++i) {
    if (&pool_->at(i) == &sql) lost_[i] = true;
  }
}

void Database::log_breaker(bool opened) const noexcept {
  try {
    if (opened) {
      log::warn(
          "database: circuit breaker open: connections failed repeatedly; operations fail "
          "at once with 503 until a trial gets through",
          {{"url", redacted_url_}});
    } else {
      log::info("database: circuit breaker closed: the database answers again",
                {{"url", redacted_url_}});
    }
  } catch (...) {  // a log line is not worth terminating for
  }
}

Status Database::reopen_if_closed(soci::session& sql, std::string_view operation) {
  if (sql.get_backend() != nullptr) return {};
  return reconnect(sql, operation);
}

Database::Lease::Lease(Database& db, std::size_t position)
    : db_(&db), position_(position), sql_(&db.pool_->at(position)) {
  db.lost_[position] = false;
}

Database::Lease::Lease(Lease&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), position_(other.position_), sql_(other.sql_) {}

void Database::Lease::watch(std::string_view operation) {
  if (db_->watchdog_ == nullptr) return;
  const auto* backend = static_cast<soci::postgresql_session_backend*>(sql_->get_backend());
  db_->watchdog_->arm(position_, backend != nullptr ? PQsocket(backend->conn_) : -1, operation);
}

Database::Lease::~Lease() {
  if (db_ == nullptr) return;
  if (db_->watchdog_ != nullptr) db_->watchdog_->disarm(position_);
  // The database answered whatever this lease asked, unless it lost its connection (that
  // failure was counted by disconnect()).
  if (!db_->lost_[position_] && db_->breaker_->success()) {
    db_->log_breaker(false);
  }
  db_->last_used_[position_] = std::chrono::steady_clock::now();
  db_->pool_->give_back(position_);
}

Result<Database::Lease> Database::lease_within(std::string_view operation,
                                               std::chrono::milliseconds wait) {
  const auto pass = breaker_->admit(std::chrono::steady_clock::now());
  if (!pass.allowed) {
    return Error{ErrorCode::kUnavailable,
                 "database unavailable",
                 {},
                 pass.retry_after,
                 std::string(operation) +
                     ": circuit breaker open (connections to the database failed repeatedly)"};
  }
  std::size_t pos = 0;
  if (!pool_->try_lease(pos, static_cast<int>(wait.count()))) {
    if (pass.trial) breaker_->abandon_trial(std::chrono::steady_clock::now());
    return Error{ErrorCode::kUnavailable,
                 "database unavailable",
                 {},
                 1,
                 std::string(operation) + ": no pooled connection free within " +
                     std::to_string(wait.count()) + " ms"};
  }
  Lease lease(*this, pos);
  soci::session& sql = lease.session();
  const bool closed = sql.get_backend() == nullptr;
  if (!closed) lease.watch(operation);  // the idle ping below may meet a hung server
  // The breaker's trial is pinged whatever its idle time: it decides whether the circuit closes.
  const bool unusable =
      closed || (dialect_ != Dialect::kSqlite &&
                 (pass.trial || std::chrono::steady_clock::now() - last_used_[pos] >= kIdleCheck) &&
                 !alive(sql));
  if (unusable) {
    if (Status st = reconnect(sql, operation); !st) return std::move(st).error();
    lease.watch(operation);  // a new socket
  }
  return lease;
}

Status Database::ping() {
  auto lease = lease_within("ping", std::chrono::milliseconds(2000));
  if (!lease) return std::move(lease).error();
  soci::session& sql = lease->session();
  try {
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    if (one != 1) return Error::internal("ping: SELECT 1 returned " + std::to_string(one));
    return {};
  } catch (const std::exception& e) {
    Error err = error_from(sql, e, "ping");
    if (err.code == ErrorCode::kInternal) err.code = ErrorCode::kUnavailable;
    return err;
  }
}

std::vector<std::string> Database::known_versions() {
  std::vector<std::string> out;
  for (const auto& m : all_migrations()) out.emplace_back(m.version);
  return out;
}

std::vector<std::string> Database::applied_versions() {
  soci::session sql(*pool_);
  try {
    int exists = 0;
    switch (dialect_) {
      case Dialect::kSqlite:
        sql << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
               "name = 'schema_migrations'",
            soci::into(exists);
        break;
      case Dialect::kMysql:
        sql << "SELECT COUNT(*) FROM information_schema.tables WHERE "
               "table_schema = DATABASE() AND table_name = 'schema_migrations'",
            soci::into(exists);
        break;
      case Dialect::kPostgres:
        sql << "SELECT COUNT(*) FROM information_schema.tables WHERE "
               "table_schema = current_schema() AND table_name = 'schema_migrations'",
            soci::into(exists);
        break;
    }
    std::vector<std::string> out;
    if (exists == 0) return out;
    std::string version;
    soci::statement st = (sql.prepare << "SELECT version FROM schema_migrations ORDER BY version",
                          soci::into(version));
    st.execute();
    while (st.fetch()) out.push_back(version);
    return out;
  } catch (const std::exception& e) {
    Error err = error_from(sql, e, "applied_versions");
    throw std::runtime_error("cannot read schema_migrations from " + redacted_url_ + ": " +
                             err.log_detail);
  }
}

Status Database::migrate() {
  // MySQL: pooled connections give up on a statement after the I/O timeout; DDL on a big table
  // and the wait for the migration lock may take longer, so migrations get a connection of their
  // own without it.
  std::optional<soci::session> leased;
  soci::session own;
  if (dialect_ == Dialect::kMysql) {
    try {
      own.open(factory_for(dialect_), migration_connect_);
      configure_connection(own, dialect_);
    } catch (const std::exception& e) {
      return Error{ErrorCode::kUnavailable,
                   "database unavailable",
                   {},
                   1,
                   "migrate: connect: " + scrub(driver_message(e))};
    }
  } else {
    leased.emplace(*pool_);
  }
  soci::session& sql = leased ? *leased : own;
  std::string step = "migrate: lock";
  try {
    MigrationLock lock(sql, dialect_);
    step = "migrate: create schema_migrations";
    {
      auto guard = lock_writes();
      sql << create_schema_migrations(dialect_);
    }
    for (const auto& m : all_migrations()) {
      step = "migrate " + std::string(m.version) + "_" + std::string(m.name);
      const auto statements = split_statements(m.script(dialect_));
      if (dialect_ == Dialect::kMysql) {
        // MariaDB commits DDL implicitly: GET_LOCK is what keeps replicas from racing.
        if (is_applied(sql, m.version)) continue;
        for (const auto& s : statements) sql << s;
        record(sql, m);
        continue;
      }
      // SQLite (BEGIN IMMEDIATE: the write lock, held across the check and the apply) and
      // PostgreSQL (transactional DDL, under the advisory lock).
      Transaction tx(*this, sql);
      if (is_applied(sql, m.version)) continue;  // rolled back by tx's destructor
      for (const auto& s : statements) sql << s;
      record(sql, m);
      tx.commit();
    }
    return {};
  } catch (const std::exception& e) {
    return error_from(sql, e, step);
  }
}

}  // namespace latchkey::store
