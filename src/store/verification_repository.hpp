#pragma once
// flows::VerificationRepository over SOCI (SQLite, MariaDB/MySQL, PostgreSQL): the
// `verifications` table of migration 0002. Safe to call from several threads at once; writes
// join the caller's UnitOfWork (make_unit_of_work) when one runs on the thread.
//
//   auto verifications = store::make_verification_repository(*db);
//   if (auto st = verifications->create(issued.row); !st) return st;
//
// The Database must outlive the repository.

#include <memory>

#include "flows/verification/verification.hpp"
#include "store/database.hpp"

namespace latchkey::store {

std::unique_ptr<flows::VerificationRepository> make_verification_repository(Database& db);

}  // namespace latchkey::store
