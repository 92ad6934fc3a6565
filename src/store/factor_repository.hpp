#pragma once
// methods::FactorRepository over SOCI (SQLite, MariaDB/MySQL, PostgreSQL): the `totp_factors`
// and `recovery_codes` tables of migration 0003. Safe to call from several threads at once;
// writes join the caller's UnitOfWork (make_unit_of_work) when one runs on the thread.
//
//   auto factors = store::make_factor_repository(*db);
//   auto ok = factors->use_totp_step(user_id, step);   // false: replayed or not enrolled
//
// The Database must outlive the repository.

#include <memory>

#include "methods/factors.hpp"
#include "store/database.hpp"

namespace latchkey::store {

std::unique_ptr<methods::FactorRepository> make_factor_repository(Database& db);

}  // namespace latchkey::store
