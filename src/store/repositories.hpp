#pragma once
// SOCI implementations of the domain persistence ports. Each is safe to call from several
// threads at once: every call leases its own pooled session.
//
//   auto db = store::Database::open({.url = url});
//   db->migrate();
//   std::unique_ptr<identity::UserRepository> users = store::make_user_repository(*db);
//
// The Database must outlive the repositories.

#include <memory>

#include "common/unit_of_work.hpp"
#include "identity/user_repository.hpp"
#include "sessions/session_repository.hpp"
#include "store/database.hpp"
#include "store/outbox_repository.hpp"
#include "store/verification_repository.hpp"
#include "tokens/key_repository.hpp"

namespace latchkey::store {

std::unique_ptr<identity::UserRepository> make_user_repository(Database& db);
std::unique_ptr<sessions::SessionRepository> make_session_repository(Database& db);
std::unique_ptr<tokens::KeyRepository> make_key_repository(Database& db);
// Repository calls made inside run() on the calling thread join one transaction.
std::unique_ptr<UnitOfWork> make_unit_of_work(Database& db);

}  // namespace latchkey::store
