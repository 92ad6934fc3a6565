#pragma once
// The schema migrations, embedded in the binary. Each version has one SQL script per dialect,
// written as raw string literals in store/migrations/<version>_<name>.cpp: those files are the
// source of truth (there are no separate .sql files, so nothing can drift apart).
//
// Rules for a script: statements end with ';' and no ';' appears inside a literal or comment
// (scripts are split on ';'); comments are whole lines starting with "--"; never edit a released
// migration, add the next version instead.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace latchkey::store {

struct Migration {
  std::string_view version;  // "0001": fixed width, so that text order is version order
  std::string_view name;     // "init"
  std::string_view sqlite;
  std::string_view mysql;
  std::string_view postgres;

  std::string_view script(Dialect d) const noexcept;
};

// Every migration, ascending by version.
std::span<const Migration> all_migrations() noexcept;

// The statements of a script, in order, without comments and surrounding whitespace.
std::vector<std::string> split_statements(std::string_view script);

namespace migrations {
// One accessor per version, defined in store/migrations/<version>_<name>.cpp.
const Migration& m0001_init() noexcept;
const Migration& m0002_courier_verifications() noexcept;
const Migration& m0003_phone_mfa() noexcept;
const Migration& m0004_identities() noexcept;
const Migration& m0005_admin_audit() noexcept;
const Migration& m0006_sessions_revoked_index() noexcept;
}  // namespace migrations

}  // namespace latchkey::store
