#pragma once
// For the store/ tests only: the databases every contract suite runs against. SQLite (a fresh
// temporary file per test) always; MariaDB/MySQL when LATCHKEY_TEST_MYSQL_URL is set and
// PostgreSQL when LATCHKEY_TEST_POSTGRES_URL is set (point them at throwaway servers: each test
// creates and drops its own database or schema there, see TestDatabase). The list of backends is
// read when the test binary starts, so set the variables before running (or listing) the tests.

#include <gtest/gtest.h>
#include <soci/soci.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace latchkey::store::testing {

inline std::vector<std::string> backends() {
  std::vector<std::string> out = {"sqlite"};
  if (const char* u = std::getenv("LATCHKEY_TEST_MYSQL_URL"); u && *u) out.push_back("mysql");
  if (const char* u = std::getenv("LATCHKEY_TEST_POSTGRES_URL"); u && *u) {
    out.push_back("postgres");
  }
  return out;
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

// Drops every table the migrations create (children first), so a server database starts empty.
inline void drop_all_tables(Database& db) {
  soci::session sql(db.pool());
  for (const char* table :
       {"audit_events", "role_permissions", "roles", "identities", "totp_factors", "recovery_codes",
        "outbox", "verifications", "refresh_tokens", "sessions", "user_roles", "users",
        "signing_keys", "schema_migrations"}) {
    sql << std::string("DROP TABLE IF EXISTS ") + table;
  }
}

// A temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "latchkey-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string random_suffix() {
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 12; ++i) out += kHex[rd() % 16];
  return out;
}

// An empty database of the given backend; `migrated` runs migrate() on it.
//
// SQLite: a fresh file in a temporary directory. MariaDB: a fresh database named
// <url's database>_<random> when the account may create it (scripts/lib/mariadb.sh grants
// `latchkey_test%`), else the URL's database with its tables dropped. PostgreSQL: a fresh schema
// t_<random> selected through libpq's options=-c search_path. The fresh database or schema is
// dropped afterwards, so test processes may run in parallel against one server.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend, bool migrated = true) {
    if (backend == "sqlite") {
      url_ = "sqlite://" + (dir_.path() / "test.db").string();
    } else {
      const char* base = std::getenv(backend == "mysql" ? "LATCHKEY_TEST_MYSQL_URL"
                                                        : "LATCHKEY_TEST_POSTGRES_URL");
      if (base == nullptr) throw std::runtime_error("test database URL not set");
      base_url_ = base;
      isolate(backend);
    }
    db_ = Database::open({url_, 4});
    if (!isolated_ && backend != "sqlite") drop_all_tables(*db_);
    if (migrated) {
      auto s = db_->migrate();
      if (!s) throw std::runtime_error("migrate failed: " + s.error().log_detail);
    }
  }
  ~TestDatabase() {
    db_.reset();
    if (cleanup_.empty()) return;
    try {
      auto admin = Database::open({base_url_, 1});
      soci::session sql(admin->pool());
      sql << cleanup_;
    } catch (...) {
      // Left behind in a throwaway server.
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Database& db() { return *db_; }
  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  void isolate(const std::string& backend) {
    url_ = base_url_;
    auto q = base_url_.find('?');
    std::string path_part = base_url_.substr(0, q);
    std::string query = q == std::string::npos ? "" : base_url_.substr(q + 1);
    try {
      auto admin = Database::open({base_url_, 1});
      soci::session sql(admin->pool());
      if (backend == "mysql") {
        std::string name = path_part.substr(path_part.rfind('/') + 1) + "_" + random_suffix();
        sql << "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
        url_ = path_part.substr(0, path_part.rfind('/') + 1) + name +
               (query.empty() ? "" : "?" + query);
        cleanup_ = "DROP DATABASE IF EXISTS `" + name + "`";
      } else {
        std::string schema = "t_" + random_suffix();
        sql << "CREATE SCHEMA " + schema;
        url_ = base_url_ + (query.empty() ? "?" : "&") + "options=-c%20search_path%3D" + schema;
        cleanup_ = "DROP SCHEMA IF EXISTS " + schema + " CASCADE";
      }
      isolated_ = true;
    } catch (const std::exception&) {
      url_ = base_url_;  // no privilege: share the URL's database, tables dropped per test
    }
  }

  TempDir dir_;
  std::string base_url_;
  std::string url_;
  bool isolated_ = false;
  std::string cleanup_;
  std::unique_ptr<Database> db_;
};

// Rows in a table (tests use it to check that nothing else was written).
inline long long count_rows(Database& db, const std::string& table) {
  soci::session sql(db.pool());
  long long n = 0;
  sql << "SELECT COUNT(*) FROM " + table, soci::into(n);
  return n;
}

}  // namespace latchkey::store::testing
