#include "store/migrations.hpp"

#include <array>
#include <functional>

namespace latchkey::store {

std::string_view Migration::script(Dialect d) const noexcept {
  switch (d) {
    case Dialect::kSqlite:
      return sqlite;
    case Dialect::kMysql:
      return mysql;
    case Dialect::kPostgres:
      return postgres;
  }
  return {};
}

std::span<const Migration> all_migrations() noexcept {
  // Add each new version here, in order.
  static const std::array<Migration, 6> kAll = {
      migrations::m0001_init(),        migrations::m0002_courier_verifications(),
      migrations::m0003_phone_mfa(),   migrations::m0004_identities(),
      migrations::m0005_admin_audit(), migrations::m0006_sessions_revoked_index(),
  };
  return kAll;
}

std::vector<std::string> split_statements(std::string_view script) {
  // Drop comment lines first, then split on ';'.
  std::string text;
  while (!script.empty()) {
    auto nl = script.find('\n');
    std::string_view line = script.substr(0, nl);
    script = nl == std::string_view::npos ? std::string_view{} : script.substr(nl + 1);
    auto first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line.substr(first, 2) == "--") continue;
    text += line;
    text += '\n';
  }
  std::vector<std::string> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view stmt = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    auto b = stmt.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) continue;
    auto e = stmt.find_last_not_of(" \t\r\n");
    out.emplace_back(stmt.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace latchkey::store
