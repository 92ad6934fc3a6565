#include "store/database_url.hpp"

#include <algorithm>
#include <cstdint>

#include "common/encoding.hpp"

#include <charconv>

namespace latchkey::store {

namespace {

Error bad_url(std::string message) {
  return Error::on_field(ErrorCode::kInvalidField, "database.url", std::move(message));
}

// Quotes a value for SOCI's MySQL connection-string parser (backslash escapes the next char).
std::string quote_mysql(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

// Quotes a value for libpq's keyword=value syntax.
std::string quote_libpq(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

Result<ParsedUrl> parse_database_url(std::string_view url) {
  ParsedUrl out;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return bad_url("database URL must start with sqlite://, mysql:// or postgresql://");
  }
  std::string_view scheme = url.substr(0, sep);
  std::string_view rest = url.substr(sep + 3);
  if (scheme == "sqlite" || scheme == "sqlite3") {
    out.dialect = Dialect::kSqlite;
    if (rest.empty()) return bad_url("sqlite URL has no path (e.g. sqlite://data/latchkey.db)");
    if (rest.find('=') != std::string_view::npos || rest.find('?') != std::string_view::npos) {
      return bad_url("sqlite path must not contain '=' or '?'");
    }
    out.sqlite_path = std::string(rest);
    return out;
  }
  if (scheme == "mysql" || scheme == "mariadb") {
    out.dialect = Dialect::kMysql;
  } else if (scheme == "postgresql" || scheme == "postgres") {
    out.dialect = Dialect::kPostgres;
  } else {
    return bad_url("unsupported database URL scheme '" + std::string(scheme) +
                   "' (use sqlite, mysql or postgresql)");
  }

  // [user[:pass]@]host[:port]/database[?query]. The last '@' ends the userinfo, since a
  // password may hold a raw '@', '/' or '?'.
  std::string_view userinfo;
  bool has_userinfo = false;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    has_userinfo = true;
  }

  // Query string.
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return bad_url("malformed query parameter in database URL");
      }
      std::string key(pair.substr(0, eq));
      for (char c : key) {
        if (!is_key_char(c)) return bad_url("malformed query parameter name in database URL");
      }
      auto value = percent_decode(pair.substr(eq + 1));
      if (!value) return bad_url("malformed percent-encoding in database URL");
      out.query[key] = *value;
    }
  }

  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return bad_url("database URL has no database name");
  auto db = percent_decode(rest.substr(slash + 1));
  if (!db || db->empty()) return bad_url("database URL has no database name");
  out.database = *db;
  std::string_view authority = rest.substr(0, slash);
  if (has_userinfo) {
    auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) return bad_url("malformed percent-encoding in database URL user");
    out.user = *user;
    if (colon != std::string_view::npos) {
      auto pass = percent_decode(userinfo.substr(colon + 1));
      if (!pass) return bad_url("malformed percent-encoding in database URL password");
      out.password = *pass;
    }
  }

  // host[:port], host may be [v6].
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("malformed IPv6 host in database URL");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("malformed host in database URL");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (!port_text.empty()) {
    int port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port <= 0 ||
        port > 65535) {
      return bad_url("malformed port in database URL");
    }
    out.port = port;
  }

  if (out.dialect == Dialect::kMysql) {
    for (const auto& [key, value] : out.query) {
      if (key != "unix_socket" && key != "socket") {
        return bad_url("unknown mysql URL parameter '" + key + "' (supported: unix_socket)");
      }
    }
  }
  bool has_socket = out.query.count("unix_socket") || out.query.count("socket");
  if (out.host.empty() && !has_socket && out.dialect == Dialect::kMysql) {
    return bad_url("database URL has no host (or ?unix_socket=)");
  }
  return out;
}

ConnectLimits connect_limits(std::chrono::milliseconds statement_timeout) {
  // Whole seconds, rounded up.
  const std::int64_t s = (std::max<std::int64_t>(0, statement_timeout.count()) + 999) / 1000;
  return {.connect = std::chrono::seconds(std::max<std::int64_t>(2, s)),
          .io = std::chrono::seconds(std::max<std::int64_t>(1, s))};
}

std::string soci_connect_string(const ParsedUrl& url, const ConnectLimits& limits) {
  std::string s;
  auto add = [&s](std::string_view key, const std::string& quoted) {
    if (!s.empty()) s += ' ';
    s += key;
    s += '=';
    s += quoted;
  };
  switch (url.dialect) {
    case Dialect::kSqlite:
      // SOCI's SQLite backend takes a string without '=' as the file name verbatim.
      return url.sqlite_path;
    case Dialect::kMysql: {
      add("db", quote_mysql(url.database));
      if (!url.user.empty()) add("user", quote_mysql(url.user));
      if (!url.password.empty()) add("password", quote_mysql(url.password));
      std::string socket;
      if (auto it = url.query.find("unix_socket"); it != url.query.end()) socket = it->second;
      if (auto it = url.query.find("socket"); it != url.query.end()) socket = it->second;
      if (!socket.empty()) {
        add("unix_socket", quote_mysql(socket));
      } else {
        add("host", quote_mysql(url.host));
      }
      if (url.port) add("port", std::to_string(*url.port));
      add("charset", "utf8mb4");
      add("connect_timeout", std::to_string(limits.connect.count()));
      if (limits.io.count() > 0) {
        add("read_timeout", std::to_string(limits.io.count()));
        add("write_timeout", std::to_string(limits.io.count()));
      }
      return s;
    }
    case Dialect::kPostgres: {
      add("dbname", quote_libpq(url.database));
      if (!url.host.empty()) add("host", quote_libpq(url.host));
      if (url.port) add("port", std::to_string(*url.port));
      if (!url.user.empty()) add("user", quote_libpq(url.user));
      if (!url.password.empty()) add("password", quote_libpq(url.password));
      bool has_timeout = false;
      for (const auto& [key, value] : url.query) {
        add(key, quote_libpq(value));
        has_timeout = has_timeout || key == "connect_timeout";
      }
      if (!has_timeout) add("connect_timeout", std::to_string(limits.connect.count()));
      return s;
    }
  }
  return s;
}

std::string redact_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  std::string_view rest = url.substr(sep + 3);
  // Same rule as the parser: the last '@' ends the userinfo, and the password follows the
  // first ':' in it. Masking too much is harmless; too little is not.
  auto at = rest.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string_view userinfo = rest.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, sep + 3));
  out += userinfo.substr(0, colon);
  out += ":***";
  out += rest.substr(at);
  return out;
}

}  // namespace latchkey::store
