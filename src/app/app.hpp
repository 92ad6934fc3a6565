#pragma once
// The composition root: the one place that builds objects from Config and wires them together.
// Sub-commands take what they need: `Core` (storage, crypto, domain services) for the CLI, and
// `serve()` builds the HTTP server on top of it.

#include <functional>
#include <memory>

#include "audit/audit.hpp"
#include "audit/audit_log.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "config/config.hpp"
#include "flows/admin/admin_flow.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/login/throttle.hpp"
#include "flows/recovery/recovery_flow.hpp"
#include "flows/settings/settings_flow.hpp"
#include "flows/signup/signup_flow.hpp"
#include "http/pipeline.hpp"
#include "identity/identity_repository.hpp"
#include "identity/roles.hpp"
#include "identity/user_repository.hpp"
#include "kv/memory_key_value.hpp"
#include "methods/password/hash_pool.hpp"
#include "methods/password/hasher.hpp"
#include "methods/password/policy.hpp"
#include "sessions/revocation.hpp"
#include "sessions/session_repository.hpp"
#include "sessions/session_service.hpp"
#include "store/database.hpp"
#include "tokens/access_token.hpp"
#include "tokens/key_repository.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::app {

struct Core {
  explicit Core(const config::Config& config);
  ~Core();

  const config::Config& config;
  SystemClock clock;
  OsRandom random;
  std::unique_ptr<store::Database> database;
  std::unique_ptr<identity::UserRepository> users;
  std::unique_ptr<sessions::SessionRepository> session_repo;
  std::unique_ptr<UnitOfWork> unit_of_work;
  std::unique_ptr<tokens::KeyRepository> key_repo;
  std::unique_ptr<kv::KeyValue> kv;         // kv.url: in-process or Redis
  kv::MemoryKeyValue* memory_kv = nullptr;  // set when kv is in-process (swept by housekeeping)
  audit::LogAuditSink log_audit;
  // Every event goes to the log and, once the database is open, to the audit_events table.
  audit::StoreAuditSink audit{log_audit, clock, random};
  methods::password::PasswordHasher hasher;
  methods::password::PasswordPolicy policy;
  methods::password::HashPool hash_pool;
  flows::PasswordVerifier verifier;
  std::unique_ptr<identity::RoleRepository> role_repo;
  std::unique_ptr<audit::AuditRepository> audit_repo;
  std::unique_ptr<identity::IdentityRepository> identity_repo;  // linked social identities

  // Opens the database and applies pending migrations (start-up failures throw).
  void open_database(bool migrate);
  // Loads (or on first start generates) the signing keys; needs the master key.
  tokens::KeyRing& key_ring();

 private:
  std::unique_ptr<tokens::KeyRing> key_ring_;
};

// The 32-byte master key from keys.master_key or keys.master_key_file. Throws ConfigError.
Bytes load_master_key(const config::KeysConfig& keys);

// The AccountMail of the admin flow, over the recovery flow and the mailer.
class AdminMail final : public flows::AccountMail {
 public:
  AdminMail(flows::RecoveryFlow& recovery, courier::Mailer& mailer, const Clock& clock)
      : recovery_(recovery), mailer_(mailer), clock_(clock) {}
  Status send_password_link(const identity::User& user, std::chrono::seconds ttl) override;
  void notify_mfa_reset(const identity::User& user) override;

 private:
  flows::RecoveryFlow& recovery_;
  courier::Mailer& mailer_;
  const Clock& clock_;
};

// The admin flow for CLI commands, built from Core without the HTTP server. Mail
// (MFA-reset notices) is queued in the outbox for a running server to deliver. Sessions ended
// here are revoked in the database; a server using the in-process KV store keeps accepting
// their access tokens until they expire (tokens.access_ttl).
class AdminCli {
 public:
  explicit AdminCli(Core& core);
  ~AdminCli();
  flows::AdminFlow& admin();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

// Builds every service, the router and the pipeline from `config` (opening and migrating the
// database), starts the background work (mail dispatcher, housekeeping), and calls `use` with the
// pipeline; stops the background work when `use` returns or throws. Returns what `use` returns.
// serve() hands the pipeline to an http::Server; fuzz targets feed it requests directly.
int with_application(const config::Config& config, const std::function<int(http::Pipeline&)>& use);

// Runs the server until SIGTERM/SIGINT. Returns the process exit code.
int serve(const config::Config& config);

}  // namespace latchkey::app
