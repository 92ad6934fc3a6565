#pragma once
// For the store/ tests only: the databases every contract suite runs against. SQLite (a fresh
// temporary file per test) always; MariaDB/MySQL when LATCHKEY_TEST_MYSQL_URL is set and
// PostgreSQL when LATCHKEY_TEST_POSTGRES_URL is set (their tables are dropped and re-created for
// each test, so point them at throwaway databases).

#include <gtest/gtest.h>
#include <soci/soci.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
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
       {"refresh_tokens", "sessions", "user_roles", "users", "signing_keys", "schema_migrations"}) {
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

// An empty database of the given backend; `migrated` runs migrate() on it.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend, bool migrated = true) {
    if (backend == "sqlite") {
      url_ = "sqlite://" + (dir_.path() / "test.db").string();
    } else if (backend == "mysql") {
      url_ = std::getenv("LATCHKEY_TEST_MYSQL_URL");
    } else {
      url_ = std::getenv("LATCHKEY_TEST_POSTGRES_URL");
    }
    db_ = Database::open({url_, 4});
    if (backend != "sqlite") drop_all_tables(*db_);
    if (migrated) {
      auto s = db_->migrate();
      if (!s) throw std::runtime_error("migrate failed: " + s.error().log_detail);
    }
  }
  Database& db() { return *db_; }
  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string url_;
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
