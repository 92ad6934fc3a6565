// identity::RoleRepository over SOCI: roles(name) and role_permissions(role, permission).

#include <soci/soci.h>

#include "store/admin_repositories.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using identity::Permission;
using identity::Role;

void insert_permissions(soci::session& sql, const std::string& name,
                        const std::vector<Permission>& permissions) {
  if (permissions.empty()) return;
  std::string role = name;
  std::string permission;
  soci::statement st =
      (sql.prepare << "INSERT INTO role_permissions (role, permission) VALUES (:r, :p)",
       soci::use(role), soci::use(permission));
  for (auto p : identity::normalise_permissions(permissions)) {
    permission = std::string(identity::to_string(p));
    st.execute(true);
  }
}

class SqlRoleRepository final : public identity::RoleRepository {
 public:
  explicit SqlRoleRepository(Database& db) : db_(db) {}

  Result<std::vector<Role>> list() override { return load("roles.list", std::nullopt); }

  Result<std::optional<Role>> find(const std::string& name) override {
    auto roles = load("roles.find", name);
    if (!roles) return roles.error();
    if (roles->empty()) return std::optional<Role>();
    return std::optional<Role>(std::move(roles->front()));
  }

  Status create(const Role& role) override {
    return with_session<Status>(
        db_, "roles.create",
        [&](soci::session& sql) -> Status {
          Transaction tx(db_, sql);
          std::string name = role.name;
          long long now = to_db(std::chrono::system_clock::now());
          sql << "INSERT INTO roles (name, created_at) VALUES (:n, :c)", soci::use(name),
              soci::use(now);
          insert_permissions(sql, role.name, role.permissions);
          tx.commit();
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Status set_permissions(const std::string& name,
                         const std::vector<Permission>& permissions) override {
    return with_session<Status>(db_, "roles.set_permissions", [&](soci::session& sql) -> Status {
      Transaction tx(db_, sql);
      std::string key = name;
      int n = 0;
      sql << "SELECT COUNT(*) FROM roles WHERE name = :n", soci::use(key), soci::into(n);
      if (n == 0) return not_found("role");
      sql << "DELETE FROM role_permissions WHERE role = :n", soci::use(key);
      insert_permissions(sql, name, permissions);
      tx.commit();
      return {};
    });
  }

  Status remove(const std::string& name) override {
    return with_session<Status>(db_, "roles.remove", [&](soci::session& sql) -> Status {
      Transaction tx(db_, sql);
      std::string key = name;
      sql << "DELETE FROM role_permissions WHERE role = :n", soci::use(key);
      soci::statement st = (sql.prepare << "DELETE FROM roles WHERE name = :n", soci::use(key));
      if (execute_count(st) == 0) return not_found("role");
      tx.commit();
      return {};
    });
  }

 private:
  Result<std::vector<Role>> load(std::string_view op, const std::optional<std::string>& only) {
    using R = Result<std::vector<Role>>;
    return with_session<R>(db_, op, [&](soci::session& sql) -> R {
      std::string key = only.value_or(std::string());
      int filter = only ? 1 : 0;
      std::string name, permission;
      soci::indicator pind = soci::i_null;
      soci::statement st =
          (sql.prepare << "SELECT r.name, p.permission FROM roles r LEFT JOIN role_permissions p "
                          "ON p.role = r.name WHERE (:f = 0 OR r.name = :k) "
                          "ORDER BY r.name, p.permission",
           soci::into(name), soci::into(permission, pind), soci::use(filter), soci::use(key));
      st.execute();
      std::vector<Role> roles;
      while (st.fetch()) {
        if (roles.empty() || roles.back().name != name) roles.push_back(Role{name, {}, false});
        if (pind != soci::i_ok) continue;
        // A permission this version does not know (written by a newer one) grants nothing.
        if (auto p = identity::parse_permission(permission)) roles.back().permissions.push_back(*p);
      }
      for (auto& r : roles) r.permissions = identity::normalise_permissions(r.permissions);
      return roles;
    });
  }

  Database& db_;
};

}  // namespace

std::unique_ptr<identity::RoleRepository> make_role_repository(Database& db) {
  return std::make_unique<SqlRoleRepository>(db);
}

}  // namespace latchkey::store
