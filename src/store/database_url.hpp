#pragma once
// Database URL parsing (see database.hpp for the accepted forms). Internal to store/; exposed in
// a header so that it can be unit-tested without a server.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/database.hpp"

namespace latchkey::store {

struct ParsedUrl {
  Dialect dialect = Dialect::kSqlite;
  std::string sqlite_path;  // kSqlite only: the file path, or ":memory:"
  std::string user;         // percent-decoded
  std::string password;     // percent-decoded
  std::string host;         // without brackets
  std::optional<int> port;
  std::string database;                      // percent-decoded
  std::map<std::string, std::string> query;  // percent-decoded
};

// kInvalidField with a message naming the problem (never the password).
Result<ParsedUrl> parse_database_url(std::string_view url);

// The client libraries' own time limits on a connection.
struct ConnectLimits {
  // Connecting: MySQL's connect_timeout, and libpq's unless the URL gives one (?connect_timeout=).
  std::chrono::seconds connect{10};
  // MySQL only: read_timeout and write_timeout; zero for none (migrations: DDL and the wait for
  // the migration lock may take longer).
  std::chrono::seconds io{0};
};

// The limits for pooled connections under DatabaseOptions::statement_timeout, so that a server
// that accepts but never answers (stopped, partitioned) fails an operation after about that long
// with kUnavailable instead of hanging it: connecting may take that long (at least 2 s, libpq's
// minimum), and on MySQL/MariaDB a read or a write (whole seconds, rounded up).
ConnectLimits connect_limits(std::chrono::milliseconds statement_timeout);

// The connection string for the SOCI backend of `url.dialect`, every value quoted.
// MySQL: charset utf8mb4; unix_socket from ?unix_socket= or ?socket=; `limits`.
// PostgreSQL: the URL's query parameters (sslmode, ...), and connect_timeout from `limits`
// unless among them.
std::string soci_connect_string(const ParsedUrl& url, const ConnectLimits& limits = {});

}  // namespace latchkey::store
