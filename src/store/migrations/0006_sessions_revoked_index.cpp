// Migration 0006: an index on sessions.revoked_at, so that every replica can poll the sessions
// revoked since its last look (its local copy of the revocation set) without a table scan.
// (0004 and 0005 belong to the social-login and admin work.) Released: never edit, add a new
// version instead.

#include "store/migrations.hpp"

namespace latchkey::store::migrations {

namespace {

constexpr std::string_view kAll = R"sql(
CREATE INDEX sessions_revoked_at ON sessions(revoked_at);
)sql";

}  // namespace

const Migration& m0006_sessions_revoked_index() noexcept {
  static const Migration kMigration{"0006", "sessions_revoked_index", kAll, kAll, kAll};
  return kMigration;
}

}  // namespace latchkey::store::migrations
