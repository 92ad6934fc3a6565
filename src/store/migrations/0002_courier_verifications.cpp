// Migration 0002: the transactional outbox, single-use verification secrets (e-mail
// verification, password reset, e-mail change) and the user's locale for messages.
// Released: never edit, add a new version instead.

#include "store/migrations.hpp"

namespace latchkey::store::migrations {

namespace {

// outbox.status: queued -> sending (leased by a dispatcher until lease_until) -> sent | dead;
// a failed attempt puts it back to queued with a later next_attempt_at.
// verifications: `id` is the selector half of the token given out; secret_hash is the SHA-256 of
// the other half; code_hash the keyed hash of the 6-digit code (NULL when there is none).
constexpr std::string_view kSqlite = R"sql(
ALTER TABLE users ADD COLUMN locale VARCHAR(16) NULL;

CREATE TABLE outbox (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  channel VARCHAR(16) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  template_id VARCHAR(64) NOT NULL,
  payload TEXT NOT NULL,
  status VARCHAR(16) NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT NULL,
  lease_owner VARCHAR(64) NULL,
  last_error VARCHAR(1000) NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE verifications (
  id VARCHAR(32) NOT NULL PRIMARY KEY,
  user_id VARCHAR(36) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose VARCHAR(32) NOT NULL,
  email VARCHAR(254) NOT NULL,
  secret_hash CHAR(64) NOT NULL,
  code_hash CHAR(64) NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NULL
);
CREATE INDEX verifications_user ON verifications(user_id, purpose);
CREATE INDEX verifications_email ON verifications(email, purpose);
CREATE INDEX verifications_expires_at ON verifications(expires_at);
)sql";

constexpr std::string_view kMysql = R"sql(
ALTER TABLE users ADD COLUMN locale VARCHAR(16) NULL;

CREATE TABLE outbox (
  id VARCHAR(36) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  template_id VARCHAR(64) NOT NULL,
  payload MEDIUMTEXT NOT NULL,
  status VARCHAR(16) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT NULL,
  lease_owner VARCHAR(64) NULL,
  last_error VARCHAR(1000) NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT NULL,
  PRIMARY KEY (id),
  KEY outbox_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE verifications (
  id VARCHAR(32) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  purpose VARCHAR(32) NOT NULL,
  email VARCHAR(254) NOT NULL,
  secret_hash CHAR(64) NOT NULL,
  code_hash CHAR(64) NULL,
  attempts INT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NULL,
  PRIMARY KEY (id),
  KEY verifications_user (user_id, purpose),
  KEY verifications_email (email, purpose),
  KEY verifications_expires_at (expires_at),
  CONSTRAINT verifications_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
)sql";

constexpr std::string_view kPostgres = R"sql(
ALTER TABLE users ADD COLUMN locale VARCHAR(16) NULL;

CREATE TABLE outbox (
  id VARCHAR(36) COLLATE "C" NOT NULL PRIMARY KEY,
  channel VARCHAR(16) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  template_id VARCHAR(64) NOT NULL,
  payload TEXT NOT NULL,
  status VARCHAR(16) COLLATE "C" NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT NULL,
  lease_owner VARCHAR(64) NULL,
  last_error VARCHAR(1000) NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE verifications (
  id VARCHAR(32) COLLATE "C" NOT NULL PRIMARY KEY,
  user_id VARCHAR(36) COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose VARCHAR(32) COLLATE "C" NOT NULL,
  email VARCHAR(254) COLLATE "C" NOT NULL,
  secret_hash CHAR(64) NOT NULL,
  code_hash CHAR(64) NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT NULL
);
CREATE INDEX verifications_user ON verifications(user_id, purpose);
CREATE INDEX verifications_email ON verifications(email, purpose);
CREATE INDEX verifications_expires_at ON verifications(expires_at);
)sql";

}  // namespace

const Migration& m0002_courier_verifications() noexcept {
  static const Migration kMigration{"0002", "courier_verifications", kSqlite, kMysql, kPostgres};
  return kMigration;
}

}  // namespace latchkey::store::migrations
