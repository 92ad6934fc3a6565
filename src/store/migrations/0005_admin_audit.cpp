// Migration 0005: custom roles and their permissions (built-in roles are not stored), and the
// audit log with indexes for the admin queries (newest first; by subject, actor or type).
// Released: never edit, add a new version instead.

#include "store/migrations.hpp"

namespace latchkey::store::migrations {

namespace {

constexpr std::string_view kSqlite = R"sql(
CREATE TABLE roles (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  created_at BIGINT NOT NULL
);

CREATE TABLE role_permissions (
  role VARCHAR(64) NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
  permission VARCHAR(32) NOT NULL,
  PRIMARY KEY (role, permission)
) WITHOUT ROWID;

CREATE TABLE audit_events (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  occurred_at BIGINT NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  actor_id VARCHAR(36) NULL,
  subject_id VARCHAR(36) NULL,
  ip VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(occurred_at, id);
CREATE INDEX audit_events_subject ON audit_events(subject_id, occurred_at, id);
CREATE INDEX audit_events_actor ON audit_events(actor_id, occurred_at, id);
CREATE INDEX audit_events_type ON audit_events(event_type, occurred_at, id);
)sql";

constexpr std::string_view kMysql = R"sql(
CREATE TABLE roles (
  name VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE role_permissions (
  role VARCHAR(64) NOT NULL,
  permission VARCHAR(32) NOT NULL,
  PRIMARY KEY (role, permission),
  CONSTRAINT role_permissions_role FOREIGN KEY (role) REFERENCES roles(name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_events (
  id VARCHAR(36) NOT NULL,
  occurred_at BIGINT NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  actor_id VARCHAR(36) NULL,
  subject_id VARCHAR(36) NULL,
  ip VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  details TEXT NOT NULL,
  PRIMARY KEY (id),
  KEY audit_events_at (occurred_at, id),
  KEY audit_events_subject (subject_id, occurred_at, id),
  KEY audit_events_actor (actor_id, occurred_at, id),
  KEY audit_events_type (event_type, occurred_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
)sql";

constexpr std::string_view kPostgres = R"sql(
CREATE TABLE roles (
  name VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
  created_at BIGINT NOT NULL
);

CREATE TABLE role_permissions (
  role VARCHAR(64) COLLATE "C" NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
  permission VARCHAR(32) COLLATE "C" NOT NULL,
  PRIMARY KEY (role, permission)
);

CREATE TABLE audit_events (
  id VARCHAR(36) COLLATE "C" NOT NULL PRIMARY KEY,
  occurred_at BIGINT NOT NULL,
  event_type VARCHAR(64) COLLATE "C" NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  actor_id VARCHAR(36) COLLATE "C" NULL,
  subject_id VARCHAR(36) COLLATE "C" NULL,
  ip VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(occurred_at, id);
CREATE INDEX audit_events_subject ON audit_events(subject_id, occurred_at, id);
CREATE INDEX audit_events_actor ON audit_events(actor_id, occurred_at, id);
CREATE INDEX audit_events_type ON audit_events(event_type, occurred_at, id);
)sql";

}  // namespace

const Migration& m0005_admin_audit() noexcept {
  static const Migration kMigration{"0005", "admin_audit", kSqlite, kMysql, kPostgres};
  return kMigration;
}

}  // namespace latchkey::store::migrations
