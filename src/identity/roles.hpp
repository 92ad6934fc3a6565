#pragma once
// Roles and permissions. A permission is one of a fixed list; a role is a named set of them.
// Built-in roles: `admin` holds every permission, `user` none; neither can be changed or deleted.
// Custom roles are stored (RoleRepository) and hold any subset of the list.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace latchkey::identity {

enum class Permission {
  kUsersRead,
  kUsersWrite,
  kUsersDelete,
  kSessionsRevoke,
  kAuditRead,
  kRolesWrite,
};

// Every permission, in documentation order.
const std::vector<Permission>& all_permissions();
std::string_view to_string(Permission p) noexcept;  // "users:read"
std::optional<Permission> parse_permission(std::string_view s) noexcept;

struct Role {
  std::string name;
  std::vector<Permission> permissions;  // sorted by enum value, unique
  bool builtin = false;
};

// `admin` and `user`, with their permissions.
const std::vector<Role>& builtin_roles();
bool is_builtin_role(std::string_view name) noexcept;

// 1-64 of a-z 0-9 _ - starting with a letter. kInvalidField (field "name") otherwise.
Status check_role_name(std::string_view name);
// Sorted by enum value, duplicates removed.
std::vector<Permission> normalise_permissions(std::vector<Permission> permissions);

// The permissions a set of roles grants, given the custom roles that exist. Unknown role names
// grant nothing.
std::vector<Permission> permissions_of(const std::vector<std::string>& role_names,
                                       const std::vector<Role>& custom_roles);

// Persistence port for custom roles (built-in ones are not stored). Implemented in store/ and
// by an in-memory fake in tests.
class RoleRepository {
 public:
  virtual ~RoleRepository() = default;
  // Custom roles ordered by name.
  virtual Result<std::vector<Role>> list() = 0;
  virtual Result<std::optional<Role>> find(const std::string& name) = 0;
  // kConflict when the name is taken.
  virtual Status create(const Role& role) = 0;
  // kNotFound when the role does not exist.
  virtual Status set_permissions(const std::string& name,
                                 const std::vector<Permission>& permissions) = 0;
  // kNotFound when the role does not exist.
  virtual Status remove(const std::string& name) = 0;
};

}  // namespace latchkey::identity
