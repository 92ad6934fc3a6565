// Migration 0004: linked provider identities for social login (issue 5). One row per
// (provider, subject); the id is random, not sequential, because it appears in URLs.
// Released: never edit, add a new version instead.

#include "store/migrations.hpp"

namespace latchkey::store::migrations {

namespace {

constexpr std::string_view kSqlite = R"sql(
CREATE TABLE identities (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  user_id VARCHAR(36) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider VARCHAR(32) NOT NULL,
  subject VARCHAR(255) NOT NULL,
  email VARCHAR(320) NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identities_provider_subject ON identities(provider, subject);
CREATE INDEX identities_user ON identities(user_id);
)sql";

constexpr std::string_view kMysql = R"sql(
CREATE TABLE identities (
  id VARCHAR(64) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  provider VARCHAR(32) NOT NULL,
  subject VARCHAR(255) NOT NULL,
  email VARCHAR(320) NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY identities_provider_subject (provider, subject),
  KEY identities_user (user_id),
  CONSTRAINT identities_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
)sql";

constexpr std::string_view kPostgres = R"sql(
CREATE TABLE identities (
  id VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
  user_id VARCHAR(36) COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider VARCHAR(32) COLLATE "C" NOT NULL,
  subject VARCHAR(255) COLLATE "C" NOT NULL,
  email VARCHAR(320) NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identities_provider_subject ON identities(provider, subject);
CREATE INDEX identities_user ON identities(user_id);
)sql";

}  // namespace

const Migration& m0004_identities() noexcept {
  static const Migration kMigration{"0004", "identities", kSqlite, kMysql, kPostgres};
  return kMigration;
}

}  // namespace latchkey::store::migrations
