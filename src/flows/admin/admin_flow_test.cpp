// The admin rules with in-memory fakes and a fixed clock: permissions, recent authentication,
// last admin, roles, user changes with their audit events, import and pagination.

#include "flows/admin/admin_flow.hpp"

#include <gtest/gtest.h>

#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "flows/admin/import_records.hpp"
#include "kv/memory_key_value.hpp"
#include "testing/admin_fakes.hpp"
#include "testing/factor_fakes.hpp"
#include "testing/fakes.hpp"
#include "testing/social_fakes.hpp"

namespace latchkey::flows {
namespace {

using namespace std::chrono_literals;
using identity::AccountState;
using identity::Permission;
using methods::password::Argon2Params;

class FakeAccountMail final : public AccountMail {
 public:
  Status send_password_link(const identity::User& user, std::chrono::seconds ttl) override {
    links.emplace_back(user.email, ttl);
    return {};
  }
  void notify_mfa_reset(const identity::User& user) override { notices.push_back(user.email); }
  std::vector<std::pair<std::string, std::chrono::seconds>> links;
  std::vector<std::string> notices;
};

class AdminFlowTest : public ::testing::Test {
 protected:
  AdminFlowTest()
      : hasher_(random_, Argon2Params{8192, 1}),
        hash_pool_(2, 8),
        verifier_(hasher_, hash_pool_),
        policy_(2),
        kv_(clock_),
        revocations_(kv_, 660s, clock_),
        sessions_(session_repo_, users_, uow_, minter_, revocations_, audit_, clock_, random_, {}),
        admin_(users_, roles_, factors_, identities_, audit_log_, sessions_, verifier_, hasher_,
               policy_, mail_, uow_, audit_, clock_, random_, {900s, 7 * 24h, 3600s, "KR"}) {
    root_ = add("root@example.com", {"admin", "user"});
  }

  identity::User add(const std::string& email, std::vector<std::string> roles = {"user"},
                     AccountState state = AccountState::kActive) {
    identity::User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.name = email.substr(0, email.find('@'));
    u.state = state;
    u.email_verified = true;
    u.roles = std::move(roles);
    u.created_at = u.updated_at = clock_.now();
    clock_.advance(1s);
    EXPECT_TRUE(users_.create(u));
    return u;
  }

  Actor actor_for(const identity::User& u, Permission p) {
    auto a = admin_.authorize(u.id, p, clock_.now(), {"192.0.2.9", "test-agent"});
    EXPECT_TRUE(a) << (a ? "" : a.error().message);
    return a ? *a : Actor{};
  }

  int count(const std::string& type) {
    return static_cast<int>(std::count_if(audit_.events.begin(), audit_.events.end(),
                                          [&](const auto& e) { return e.type == type; }));
  }

  FakeClock clock_;
  SeededRandom random_;
  methods::password::PasswordHasher hasher_;
  methods::password::HashPool hash_pool_;
  PasswordVerifier verifier_;
  methods::password::PasswordPolicy policy_;
  kv::MemoryKeyValue kv_;
  testing::FakeUserRepository users_;
  testing::FakeRoleRepository roles_;
  testing::FakeFactorRepository factors_;
  testing::FakeIdentityRepository identities_;
  testing::FakeAuditRepository audit_log_;
  testing::FakeSessionRepository session_repo_;
  testing::FakeUnitOfWork uow_;
  testing::FakeMinter minter_;
  testing::RecordingAudit audit_;
  FakeAccountMail mail_;
  sessions::RevocationList revocations_;
  sessions::SessionService sessions_;
  AdminFlow admin_;
  identity::User root_;
};

TEST_F(AdminFlowTest, AuthorizeUsesStoredRolesAndFailsClosed) {
  auto plain = add("plain@example.com");
  auto r = admin_.authorize(plain.id, Permission::kUsersRead, clock_.now(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kForbidden);

  ASSERT_TRUE(roles_.create({"reader", {Permission::kUsersRead}, false}));
  auto reader = add("reader@example.com", {"reader", "user"});
  EXPECT_TRUE(admin_.authorize(reader.id, Permission::kUsersRead, clock_.now(), {}));
  EXPECT_EQ(admin_.authorize(reader.id, Permission::kUsersWrite, clock_.now(), {}).error().code,
            ErrorCode::kForbidden);

  // Disabled admins and unknown accounts have no permissions.
  auto off = add("off@example.com", {"admin"}, AccountState::kDisabled);
  EXPECT_EQ(admin_.authorize(off.id, Permission::kUsersRead, clock_.now(), {}).error().code,
            ErrorCode::kForbidden);
  EXPECT_EQ(admin_
                .authorize("0190aaaa-0000-7000-8000-00000000dead", Permission::kUsersRead,
                           clock_.now(), {})
                .error()
                .code,
            ErrorCode::kForbidden);
  EXPECT_TRUE(admin_.authorize(root_.id, Permission::kRolesWrite, clock_.now(), {}));
}

TEST_F(AdminFlowTest, DestructiveActionsNeedRecentAuthentication) {
  auto victim = add("victim@example.com");
  auto actor = actor_for(root_, Permission::kUsersDelete);
  clock_.advance(901s);
  auto st = admin_.delete_user(actor, victim.id);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kReauthenticationRequired);
  UserPatch disable;
  disable.state = AccountState::kDisabled;
  EXPECT_EQ(admin_.update_user(actor, victim.id, disable).error().code,
            ErrorCode::kReauthenticationRequired);
  EXPECT_EQ(admin_.reset_mfa(actor, victim.id).error().code, ErrorCode::kReauthenticationRequired);
  // A name change is not destructive.
  UserPatch rename;
  rename.name = "New Name";
  EXPECT_TRUE(admin_.update_user(actor, victim.id, rename));
  EXPECT_TRUE(users_.find_by_id(victim.id).value().has_value());
  EXPECT_EQ(count("admin.user.deleted"), 0);

  auto fresh = actor_for(root_, Permission::kUsersDelete);
  ASSERT_TRUE(admin_.delete_user(fresh, victim.id));
  EXPECT_FALSE(users_.find_by_id(victim.id).value().has_value());
  EXPECT_EQ(count("admin.user.deleted"), 1);
  EXPECT_EQ(admin_.delete_user(fresh, victim.id).error().code, ErrorCode::kNotFound);
}

TEST_F(AdminFlowTest, LastAdminCannotBeDemotedDisabledOrDeleted) {
  auto actor = actor_for(root_, Permission::kUsersWrite);
  UserPatch demote;
  demote.roles = std::vector<std::string>{"user"};
  EXPECT_EQ(admin_.update_user(actor, root_.id, demote).error().code, ErrorCode::kLastAdmin);
  UserPatch disable;
  disable.state = AccountState::kDisabled;
  EXPECT_EQ(admin_.update_user(actor, root_.id, disable).error().code, ErrorCode::kLastAdmin);
  EXPECT_EQ(admin_.delete_user(actor, root_.id).error().code, ErrorCode::kLastAdmin);
  // A disabled admin does not count.
  add("sleeping@example.com", {"admin"}, AccountState::kDisabled);
  EXPECT_EQ(admin_.delete_user(actor, root_.id).error().code, ErrorCode::kLastAdmin);
  // With a second active admin the first may step down.
  add("second@example.com", {"admin"});
  auto after = admin_.update_user(actor, root_.id, demote);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->roles, std::vector<std::string>{"user"});
}

TEST_F(AdminFlowTest, UpdateRecordsChangedFieldsOnceAndEndsSessionsOnDisable) {
  auto u = add("kim@example.com");
  ASSERT_TRUE(sessions_.start(u, {"pwd"}, {"198.51.100.1", "ua"}));
  auto actor = actor_for(root_, Permission::kUsersWrite);
  UserPatch p;
  p.name = "Kim Minsu";
  p.phone = "010-1234-5678";
  p.state = AccountState::kDisabled;
  p.email = "Minsu@Example.com";
  auto r = admin_.update_user(actor, u.id, p);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->email, "Minsu@example.com");  // the domain is case-insensitive, the local part not
  EXPECT_EQ(r->phone, "+821012345678");
  EXPECT_EQ(r->state, AccountState::kDisabled);
  EXPECT_EQ(sessions_.list(u.id).value().size(), 0u);
  ASSERT_EQ(count("admin.user.updated"), 1);
  const auto& e = audit_.events.back();
  EXPECT_EQ(e.actor_id, root_.id);
  EXPECT_EQ(e.subject_id, u.id);
  EXPECT_EQ(e.ip, "192.0.2.9");
  EXPECT_EQ(e.details["changes"]["name"]["before"], "kim");
  EXPECT_EQ(e.details["changes"]["name"]["after"], "Kim Minsu");
  EXPECT_EQ(e.details["changes"]["status"]["after"], "disabled");
  EXPECT_EQ(e.details["changes"]["email"]["after"], "Minsu@example.com");
  EXPECT_FALSE(e.details["changes"].contains("roles"));

  // No change, no event.
  UserPatch same;
  same.name = "Kim Minsu";
  ASSERT_TRUE(admin_.update_user(actor, u.id, same));
  EXPECT_EQ(count("admin.user.updated"), 1);
}

TEST_F(AdminFlowTest, RolesMustExistAndGrantingNeedsRolesWrite) {
  ASSERT_TRUE(roles_.create({"support", {Permission::kUsersRead, Permission::kUsersWrite}, false}));
  auto support = add("support@example.com", {"support", "user"});
  auto u = add("target@example.com");
  auto actor = actor_for(support, Permission::kUsersWrite);
  UserPatch grant;
  grant.roles = std::vector<std::string>{"admin", "user"};
  EXPECT_EQ(admin_.update_user(actor, u.id, grant).error().code, ErrorCode::kForbidden);
  auto root = actor_for(root_, Permission::kUsersWrite);
  UserPatch unknown;
  unknown.roles = std::vector<std::string>{"nope"};
  auto r = admin_.update_user(root, u.id, unknown);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(r.error().field, "roles");
  // Self-escalation through create is refused the same way.
  NewUser n;
  n.email = "new@example.com";
  n.roles = std::vector<std::string>{"admin"};
  EXPECT_EQ(admin_.create_user(actor, n).error().code, ErrorCode::kForbidden);
  EXPECT_FALSE(users_.find_by_email("new@example.com").value().has_value());
}

TEST_F(AdminFlowTest, RoleLifecycle) {
  auto actor = actor_for(root_, Permission::kRolesWrite);
  EXPECT_EQ(admin_.create_role(actor, "Bad Name", {}).error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(admin_.create_role(actor, "admin", {}).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(admin_.create_role(actor, "auditor", {Permission::kAuditRead}));
  EXPECT_EQ(admin_.create_role(actor, "auditor", {}).error().code, ErrorCode::kConflict);
  EXPECT_EQ(admin_.update_role(actor, "admin", {}).error().code, ErrorCode::kForbidden);
  EXPECT_EQ(admin_.delete_role(actor, "user").error().code, ErrorCode::kForbidden);
  auto holder = add("holder@example.com", {"auditor", "user"});
  EXPECT_EQ(admin_.delete_role(actor, "auditor").error().code, ErrorCode::kRoleInUse);
  auto updated =
      admin_.update_role(actor, "auditor", {Permission::kAuditRead, Permission::kUsersRead});
  ASSERT_TRUE(updated);
  EXPECT_TRUE(admin_.authorize(holder.id, Permission::kUsersRead, clock_.now(), {}));
  auto list = admin_.list_roles();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].role.name, "admin");
  EXPECT_EQ((*list)[0].users, 1);
  EXPECT_EQ((*list)[2].role.name, "auditor");
  EXPECT_EQ((*list)[2].users, 1);
  ASSERT_TRUE(users_.set_roles(holder.id, {"user"}, clock_.now()));
  ASSERT_TRUE(admin_.delete_role(actor, "auditor"));
  EXPECT_EQ(count("admin.role.created"), 1);
  EXPECT_EQ(count("admin.role.updated"), 1);
  EXPECT_EQ(count("admin.role.deleted"), 1);
}

TEST_F(AdminFlowTest, CreateWithInviteAndPasswordResetMail) {
  auto actor = actor_for(root_, Permission::kUsersWrite);
  NewUser n;
  n.email = "Invitee@Example.com";
  n.name = "Invitee";
  n.send_invite = true;
  auto u = admin_.create_user(actor, n);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->state, AccountState::kPending);
  EXPECT_TRUE(u->password_hash.empty());
  ASSERT_EQ(mail_.links.size(), 1u);
  EXPECT_EQ(mail_.links[0].first, "Invitee@example.com");
  EXPECT_EQ(mail_.links[0].second, std::chrono::seconds(7 * 24h));
  EXPECT_EQ(admin_.create_user(actor, n).error().code, ErrorCode::kConflict);
  n.email = "weak@example.com";
  n.password = "password";
  EXPECT_EQ(admin_.create_user(actor, n).error().code, ErrorCode::kWeakPassword);

  ASSERT_TRUE(admin_.send_password_reset(actor, u->id));
  EXPECT_EQ(mail_.links.back().second, std::chrono::seconds(3600));
  EXPECT_EQ(count("admin.user.created"), 1);
  EXPECT_EQ(count("admin.user.password_reset_sent"), 1);
  for (const auto& e : audit_.events)
    EXPECT_EQ(e.details.dump().find("password\":\""), std::string::npos);
}

TEST_F(AdminFlowTest, ResetMfaRemovesFactorsAndNotifies) {
  auto u = add("mfa@example.com");
  methods::TotpFactor f;
  f.user_id = u.id;
  f.secret_sealed = "sealed";
  f.created_at = clock_.now();
  ASSERT_TRUE(factors_.put_totp(f));
  ASSERT_TRUE(factors_.confirm_totp(u.id, clock_.now(), 1));
  ASSERT_TRUE(factors_.replace_recovery_codes(u.id, {"h1", "h2"}, clock_.now()));
  auto detail = admin_.get_user(u.id);
  ASSERT_TRUE(detail);
  EXPECT_TRUE(detail->totp);
  EXPECT_EQ(detail->recovery_codes_left, 2);
  auto actor = actor_for(root_, Permission::kUsersWrite);
  ASSERT_TRUE(admin_.reset_mfa(actor, u.id));
  detail = admin_.get_user(u.id);
  EXPECT_FALSE(detail->totp);
  EXPECT_EQ(detail->recovery_codes_left, 0);
  EXPECT_EQ(mail_.notices, std::vector<std::string>{"mfa@example.com"});
  EXPECT_EQ(count("admin.user.mfa_reset"), 1);
}

TEST_F(AdminFlowTest, GetUserListsLinkedIdentitiesOfThatUserOnly) {
  auto u = add("linked@example.com");
  auto other = add("other@example.com");
  ASSERT_TRUE(
      identities_.create({"id-1", u.id, "github", "42", "linked@example.com", clock_.now()}));
  ASSERT_TRUE(identities_.create({"id-2", other.id, "google", "7", "", clock_.now()}));
  auto detail = admin_.get_user(u.id);
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->identities.size(), 1u);
  EXPECT_EQ(detail->identities[0].provider, "github");
  EXPECT_EQ(detail->identities[0].subject, "42");
}

TEST_F(AdminFlowTest, ListPagesWithCursorAndRejectsForgedCursors) {
  for (int i = 0; i < 5; ++i) add("user" + std::to_string(i) + "@example.com");
  UserListQuery q;
  q.search.limit = 2;
  q.search.sort = identity::UserSort::kEmail;
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = admin_.list_users(q);
    ASSERT_TRUE(page) << page.error().message;
    for (const auto& u : page->users) seen.push_back(u.email);
    if (!page->next_cursor) break;
    q.cursor = *page->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"root@example.com", "user0@example.com",
                                            "user1@example.com", "user2@example.com",
                                            "user3@example.com", "user4@example.com"}));
  q.cursor = "not-a-cursor!";
  EXPECT_EQ(admin_.list_users(q).error().field, "cursor");
  q.search.sort = identity::UserSort::kCreatedAt;
  q.cursor = base64url_encode(std::string(R"({"k":"abc","i":"x"})"));
  EXPECT_EQ(admin_.list_users(q).error().field, "cursor");
}

TEST_F(AdminFlowTest, ImportIsIdempotentAndReportsBadLines) {
  const std::string bcrypt = "$2b$04$beyvuV4xQhZi73YMQejpkOOpOQhP8hO1WNZMFv5iZJZeKdSr7mg92";
  auto records = parse_import_text(
      "email,name,phone,password_hash,email_verified,roles,created_at\n"
      "a@example.com,Alice,,\"" +
      bcrypt +
      "\",true,user,2020-01-02T03:04:05Z\n"
      "not-an-email,Bob,,,false,user,\n"
      "c@example.com,Carol,,$md5$nope,false,,\n"
      "d@example.com,Dan,,,false,ghost,\n"
      "a@EXAMPLE.com,Alice again,,,true,,\n");
  ASSERT_EQ(records.size(), 5u);
  auto actor = actor_for(root_, Permission::kUsersWrite);

  auto dry = admin_.import_users(actor, records, /*dry_run=*/true);
  EXPECT_EQ(dry.created, 1);
  EXPECT_EQ(dry.skipped, 1);
  EXPECT_EQ(dry.errors.size(), 3u);
  EXPECT_FALSE(users_.find_by_email("a@example.com").value().has_value());
  EXPECT_EQ(count("admin.users.imported"), 0);

  auto report = admin_.import_users(actor, records, false);
  EXPECT_EQ(report.created, 1);
  EXPECT_EQ(report.skipped, 1);
  ASSERT_EQ(report.errors.size(), 3u);
  EXPECT_EQ(report.errors[0].line, 3);
  EXPECT_EQ(report.errors[0].error.code, ErrorCode::kInvalidEmail);
  EXPECT_EQ(report.errors[1].line, 4);
  EXPECT_EQ(report.errors[1].error.field, "password_hash");
  EXPECT_EQ(report.errors[2].error.field, "roles");
  auto alice = users_.find_by_email("a@example.com").value();
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->password_hash, bcrypt);
  EXPECT_EQ(alice->state, AccountState::kActive);
  EXPECT_EQ(to_unix(alice->created_at), 1577934245);

  auto again = admin_.import_users(actor, records, false);
  EXPECT_EQ(again.created, 0);
  EXPECT_EQ(again.skipped, 2);
  EXPECT_EQ(count("admin.users.imported"), 2);
}

TEST(ImportRecords, JsonLinesAndBadInput) {
  auto r = parse_import_text(
      "{\"email\":\"x@example.com\",\"roles\":[\"user\"],\"email_verified\":true,"
      "\"created_at\":1700000000}\n\n{oops\n{\"email\":\"y@example.com\",\"extra\":1}\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].line, 1);
  EXPECT_FALSE(r[0].parse_error);
  EXPECT_TRUE(r[0].email_verified);
  EXPECT_EQ(to_unix(*r[0].created_at), 1700000000);
  EXPECT_EQ(r[1].line, 3);
  EXPECT_EQ(r[1].parse_error->code, ErrorCode::kMalformedJson);
  EXPECT_EQ(r[2].parse_error->field, "extra");
  EXPECT_THROW(parse_import_text("email,favourite_colour\nx@example.com,red\n"),
               std::invalid_argument);
}

TEST(ImportRecords, Rfc3339) {
  EXPECT_EQ(to_unix_ms(*parse_rfc3339("2020-01-02T03:04:05Z")), 1577934245000);
  EXPECT_EQ(to_unix_ms(*parse_rfc3339("2020-01-02T03:04:05.250+09:00")),
            1577934245250 - 9 * 3600 * 1000LL);
  EXPECT_FALSE(parse_rfc3339("2020-01-02"));
  EXPECT_FALSE(parse_rfc3339("2020-13-02T03:04:05Z"));
  EXPECT_FALSE(parse_rfc3339("2020-01-02T03:04:05"));
  EXPECT_FALSE(parse_rfc3339("2999-01-01T00:00:00Z"));  // past the end of TimePoint
  EXPECT_TRUE(parse_rfc3339("2200-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace latchkey::flows
