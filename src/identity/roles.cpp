#include "identity/roles.hpp"

#include <algorithm>
#include <array>

#include "identity/user.hpp"

namespace latchkey::identity {

namespace {

constexpr std::array<std::pair<Permission, std::string_view>, 6> kNames = {{
    {Permission::kUsersRead, "users:read"},
    {Permission::kUsersWrite, "users:write"},
    {Permission::kUsersDelete, "users:delete"},
    {Permission::kSessionsRevoke, "sessions:revoke"},
    {Permission::kAuditRead, "audit:read"},
    {Permission::kRolesWrite, "roles:write"},
}};

}  // namespace

const std::vector<Permission>& all_permissions() {
  static const std::vector<Permission> kAll = [] {
    std::vector<Permission> out;
    for (const auto& [p, name] : kNames) out.push_back(p);
    return out;
  }();
  return kAll;
}

std::string_view to_string(Permission p) noexcept {
  for (const auto& [value, name] : kNames) {
    if (value == p) return name;
  }
  return "unknown";
}

std::optional<Permission> parse_permission(std::string_view s) noexcept {
  for (const auto& [value, name] : kNames) {
    if (name == s) return value;
  }
  return std::nullopt;
}

const std::vector<Role>& builtin_roles() {
  static const std::vector<Role> kRoles = {
      Role{std::string(kRoleAdmin), all_permissions(), true},
      Role{std::string(kRoleUser), {}, true},
  };
  return kRoles;
}

bool is_builtin_role(std::string_view name) noexcept {
  return name == kRoleAdmin || name == kRoleUser;
}

Status check_role_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 64 && name.front() >= 'a' &&
                  name.front() <= 'z' && std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                  });
  if (!ok) {
    return Error::on_field(ErrorCode::kInvalidField, "name",
                           "a role name is 1-64 of a-z 0-9 _ - starting with a letter");
  }
  return {};
}

std::vector<Permission> normalise_permissions(std::vector<Permission> permissions) {
  std::sort(permissions.begin(), permissions.end());
  permissions.erase(std::unique(permissions.begin(), permissions.end()), permissions.end());
  return permissions;
}

std::vector<Permission> permissions_of(const std::vector<std::string>& role_names,
                                       const std::vector<Role>& custom_roles) {
  std::vector<Permission> out;
  auto add = [&out](const Role& r) {
    out.insert(out.end(), r.permissions.begin(), r.permissions.end());
  };
  for (const auto& name : role_names) {
    for (const auto& r : builtin_roles()) {
      if (r.name == name) add(r);
    }
    for (const auto& r : custom_roles) {
      if (r.name == name) add(r);
    }
  }
  return normalise_permissions(std::move(out));
}

}  // namespace latchkey::identity
