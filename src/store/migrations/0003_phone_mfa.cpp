// Migration 0003: phone numbers (E.164, verified flag) and second factors: one TOTP secret per
// user (sealed with the master key; last_step stops a code from being used twice) and hashed
// single-use recovery codes. Released: never edit, add a new version instead.

#include "store/migrations.hpp"

namespace latchkey::store::migrations {

namespace {

constexpr std::string_view kSqlite = R"sql(
ALTER TABLE users ADD COLUMN phone VARCHAR(20) NULL;
ALTER TABLE users ADD COLUMN phone_verified INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_phone ON users(phone);

CREATE TABLE totp_factors (
  user_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  confirmed_at BIGINT NULL,
  last_step BIGINT NULL
);

CREATE TABLE recovery_codes (
  user_id VARCHAR(36) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash CHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  used_at BIGINT NULL,
  PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
)sql";

constexpr std::string_view kMysql = R"sql(
ALTER TABLE users ADD COLUMN phone VARCHAR(20) NULL;
ALTER TABLE users ADD COLUMN phone_verified BOOLEAN NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_phone ON users(phone);

CREATE TABLE totp_factors (
  user_id VARCHAR(36) NOT NULL,
  secret_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  confirmed_at BIGINT NULL,
  last_step BIGINT NULL,
  PRIMARY KEY (user_id),
  CONSTRAINT totp_factors_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE recovery_codes (
  user_id VARCHAR(36) NOT NULL,
  code_hash CHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  used_at BIGINT NULL,
  PRIMARY KEY (user_id, code_hash),
  CONSTRAINT recovery_codes_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
)sql";

constexpr std::string_view kPostgres = R"sql(
ALTER TABLE users ADD COLUMN phone VARCHAR(20) COLLATE "C" NULL;
ALTER TABLE users ADD COLUMN phone_verified SMALLINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_phone ON users(phone);

CREATE TABLE totp_factors (
  user_id VARCHAR(36) COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  confirmed_at BIGINT NULL,
  last_step BIGINT NULL
);

CREATE TABLE recovery_codes (
  user_id VARCHAR(36) COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash CHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  used_at BIGINT NULL,
  PRIMARY KEY (user_id, code_hash)
);
)sql";

}  // namespace

const Migration& m0003_phone_mfa() noexcept {
  static const Migration kMigration{"0003", "phone_mfa", kSqlite, kMysql, kPostgres};
  return kMigration;
}

}  // namespace latchkey::store::migrations
