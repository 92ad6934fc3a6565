#pragma once
// The composition root: the one place that builds objects from Config and wires them together.
// Sub-commands take what they need: `Core` (storage, crypto, domain services) for the CLI, and
// `serve()` builds the HTTP server on top of it.

#include <memory>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "config/config.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/login/throttle.hpp"
#include "flows/settings/settings_flow.hpp"
#include "flows/signup/signup_flow.hpp"
#include "identity/user_repository.hpp"
#include "kv/memory_key_value.hpp"
#include "methods/password/hash_limiter.hpp"
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
  audit::LogAuditSink audit;
  methods::password::PasswordHasher hasher;
  methods::password::PasswordPolicy policy;
  methods::password::HashLimiter limiter;
  flows::PasswordVerifier verifier;

  // Opens the database and applies pending migrations (start-up failures throw).
  void open_database(bool migrate);
  // Loads (or on first start generates) the signing keys; needs the master key.
  tokens::KeyRing& key_ring();

 private:
  std::unique_ptr<tokens::KeyRing> key_ring_;
};

// The 32-byte master key from keys.master_key or keys.master_key_file. Throws ConfigError.
Bytes load_master_key(const config::KeysConfig& keys);

// Runs the server until SIGTERM/SIGINT. Returns the process exit code.
int serve(const config::Config& config);

}  // namespace latchkey::app
