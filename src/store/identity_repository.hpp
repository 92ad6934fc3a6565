#pragma once
// identity::IdentityRepository over SOCI (SQLite, MariaDB/MySQL, PostgreSQL): the `identities`
// table of migration 0004 (social login). Safe to call from several threads at once; writes join
// the caller's UnitOfWork (make_unit_of_work) when one runs on the thread.
//
//   auto identities = store::make_identity_repository(*db);
//   auto found = identities->find("google", sub);   // optional<LinkedIdentity>
//
// The Database must outlive the repository.

#include <memory>

#include "identity/identity_repository.hpp"
#include "store/database.hpp"

namespace latchkey::store {

std::unique_ptr<identity::IdentityRepository> make_identity_repository(Database& db);

}  // namespace latchkey::store
