// Migration 0001: users, roles, sessions, refresh tokens, signing keys.
// Times are BIGINT unix milliseconds; ids are UUIDv7 text; refresh tokens are stored only as
// lower-case hex SHA-256. Released: never edit, add a new version instead.

#include "store/migrations.hpp"

namespace latchkey::store::migrations {

namespace {

constexpr std::string_view kSqlite = R"sql(
CREATE TABLE users (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  email VARCHAR(254) NOT NULL UNIQUE,
  name VARCHAR(200) NOT NULL,
  state VARCHAR(16) NOT NULL,
  email_verified INTEGER NOT NULL DEFAULT 0,
  password_hash VARCHAR(255) NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
  user_id VARCHAR(36) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role VARCHAR(64) NOT NULL,
  PRIMARY KEY (user_id, role)
) WITHOUT ROWID;

CREATE TABLE sessions (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  user_id VARCHAR(36) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  auth_time BIGINT NOT NULL,
  amr VARCHAR(200) NOT NULL,
  ip VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  revoked_at BIGINT NULL,
  revoke_reason VARCHAR(32) NULL
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

CREATE TABLE refresh_tokens (
  hash CHAR(64) NOT NULL PRIMARY KEY,
  session_id VARCHAR(36) NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  user_id VARCHAR(36) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT NULL,
  successor_sealed TEXT NULL
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_session_id ON refresh_tokens(session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens(expires_at);

CREATE TABLE signing_keys (
  kid VARCHAR(64) NOT NULL PRIMARY KEY,
  alg VARCHAR(16) NOT NULL,
  private_sealed TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  signs_from BIGINT NOT NULL,
  retired_at BIGINT NULL
);
)sql";

// utf8mb4_bin everywhere: e-mail addresses, ids, roles and hashes compare byte for byte.
constexpr std::string_view kMysql = R"sql(
CREATE TABLE users (
  id VARCHAR(36) NOT NULL,
  email VARCHAR(254) NOT NULL,
  name VARCHAR(200) NOT NULL,
  state VARCHAR(16) NOT NULL,
  email_verified BOOLEAN NOT NULL DEFAULT 0,
  password_hash VARCHAR(255) NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE user_roles (
  user_id VARCHAR(36) NOT NULL,
  role VARCHAR(64) NOT NULL,
  PRIMARY KEY (user_id, role),
  CONSTRAINT user_roles_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE sessions (
  id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  auth_time BIGINT NOT NULL,
  amr VARCHAR(200) NOT NULL,
  ip VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  revoked_at BIGINT NULL,
  revoke_reason VARCHAR(32) NULL,
  PRIMARY KEY (id),
  KEY sessions_user_id (user_id),
  KEY sessions_expires_at (expires_at),
  CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE refresh_tokens (
  hash CHAR(64) NOT NULL,
  session_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT NULL,
  successor_sealed TEXT NULL,
  PRIMARY KEY (hash),
  KEY refresh_tokens_session_id (session_id),
  KEY refresh_tokens_expires_at (expires_at),
  CONSTRAINT refresh_tokens_session FOREIGN KEY (session_id) REFERENCES sessions(id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE signing_keys (
  kid VARCHAR(64) NOT NULL,
  alg VARCHAR(16) NOT NULL,
  private_sealed TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  signs_from BIGINT NOT NULL,
  retired_at BIGINT NULL,
  PRIMARY KEY (kid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
)sql";

// COLLATE "C" on keys: byte order for ids and roles whatever the database's locale.
constexpr std::string_view kPostgres = R"sql(
CREATE TABLE users (
  id VARCHAR(36) COLLATE "C" NOT NULL PRIMARY KEY,
  email VARCHAR(254) COLLATE "C" NOT NULL UNIQUE,
  name VARCHAR(200) NOT NULL,
  state VARCHAR(16) NOT NULL,
  email_verified SMALLINT NOT NULL DEFAULT 0,
  password_hash VARCHAR(255) NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
  user_id VARCHAR(36) COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role VARCHAR(64) COLLATE "C" NOT NULL,
  PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
  id VARCHAR(36) COLLATE "C" NOT NULL PRIMARY KEY,
  user_id VARCHAR(36) COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  auth_time BIGINT NOT NULL,
  amr VARCHAR(200) NOT NULL,
  ip VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  revoked_at BIGINT NULL,
  revoke_reason VARCHAR(32) NULL
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

CREATE TABLE refresh_tokens (
  hash CHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
  session_id VARCHAR(36) COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  user_id VARCHAR(36) COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT NULL,
  successor_sealed TEXT NULL
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens(session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens(expires_at);

CREATE TABLE signing_keys (
  kid VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
  alg VARCHAR(16) NOT NULL,
  private_sealed TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  signs_from BIGINT NOT NULL,
  retired_at BIGINT NULL
);
)sql";

}  // namespace

const Migration& m0001_init() noexcept {
  static const Migration kMigration{"0001", "init", kSqlite, kMysql, kPostgres};
  return kMigration;
}

}  // namespace latchkey::store::migrations
