#pragma once
// Database URL parsing (see database.hpp for the accepted forms). Internal to store/; exposed in
// a header so that it can be unit-tested without a server.

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

// MySQL/MariaDB: how long a pooled connection waits for the server to read or answer one
// statement, in seconds. The client library tries a read three times, so a hung server (one that
// accepts but never answers: stopped, partitioned) fails a request after about 3 x this, with
// kUnavailable, instead of hanging it for good.
inline constexpr int kMysqlIoTimeoutSeconds = 5;

// The connection string for the SOCI backend of `url.dialect`, every value quoted.
// MySQL: charset utf8mb4; unix_socket from ?unix_socket= or ?socket=; read_timeout and
// write_timeout of kMysqlIoTimeoutSeconds unless `io_timeouts` is false (migrations: DDL and the
// wait for the migration lock may take longer).
std::string soci_connect_string(const ParsedUrl& url, bool io_timeouts = true);

}  // namespace latchkey::store
