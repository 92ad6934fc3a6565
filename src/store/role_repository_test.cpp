// Contract tests for identity::RoleRepository, run against every configured database.

#include <gtest/gtest.h>

#include "store/admin_repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using identity::Permission;
using identity::Role;

class RoleRepositoryContract : public ::testing::TestWithParam<std::string> {
 protected:
  RoleRepositoryContract() : t_(GetParam()), repo_(make_role_repository(t_.db())) {}
  testing::TestDatabase t_;
  std::unique_ptr<identity::RoleRepository> repo_;
};

TEST_P(RoleRepositoryContract, CreateListFindUpdateRemove) {
  ASSERT_TRUE(
      repo_->create(Role{"support",
                         {Permission::kUsersWrite, Permission::kUsersRead, Permission::kUsersRead},
                         false}));
  ASSERT_TRUE(repo_->create(Role{"auditor", {Permission::kAuditRead}, false}));
  ASSERT_TRUE(repo_->create(Role{"empty", {}, false}));

  auto list = repo_->list();
  ASSERT_TRUE(list) << list.error().log_detail;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "auditor");
  EXPECT_EQ((*list)[1].name, "empty");
  EXPECT_TRUE((*list)[1].permissions.empty());
  EXPECT_EQ((*list)[2].permissions,
            (std::vector<Permission>{Permission::kUsersRead, Permission::kUsersWrite}));

  auto dup = repo_->create(Role{"support", {}, false});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_EQ(testing::count_rows(t_.db(), "role_permissions"), 3);  // nothing half-written

  ASSERT_TRUE(repo_->set_permissions("support", {Permission::kSessionsRevoke}));
  auto found = repo_->find("support");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->permissions, (std::vector<Permission>{Permission::kSessionsRevoke}));
  EXPECT_EQ(repo_->set_permissions("nope", {}).error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(repo_->remove("support"));
  EXPECT_FALSE(repo_->find("support")->has_value());
  EXPECT_EQ(repo_->remove("support").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(testing::count_rows(t_.db(), "role_permissions"), 1);
}

TEST_P(RoleRepositoryContract, UnknownStoredPermissionGrantsNothing) {
  ASSERT_TRUE(repo_->create(Role{"future", {Permission::kAuditRead}, false}));
  {
    soci::session sql(t_.db().pool());
    sql << "INSERT INTO role_permissions (role, permission) VALUES ('future', 'clients:write')";
  }
  auto r = repo_->find("future");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->permissions, (std::vector<Permission>{Permission::kAuditRead}));
}

INSTANTIATE_TEST_SUITE_P(Backends, RoleRepositoryContract, ::testing::ValuesIn(testing::backends()),
                         testing::backend_name);

}  // namespace
}  // namespace latchkey::store
