#pragma once
// SOCI implementations of the admin ports: custom roles and the audit log. Thread-safe like the
// other repositories; the Database must outlive them.

#include <memory>

#include "audit/audit_log.hpp"
#include "identity/roles.hpp"
#include "store/database.hpp"

namespace latchkey::store {

std::unique_ptr<identity::RoleRepository> make_role_repository(Database& db);
std::unique_ptr<audit::AuditRepository> make_audit_repository(Database& db);

}  // namespace latchkey::store
