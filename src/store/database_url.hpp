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

// The connection string for the SOCI backend of `url.dialect`, every value quoted.
// MySQL: charset utf8mb4; unix_socket from ?unix_socket= or ?socket=.
std::string soci_connect_string(const ParsedUrl& url);

}  // namespace latchkey::store
