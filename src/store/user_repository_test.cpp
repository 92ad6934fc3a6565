// Contract tests for identity::UserRepository, run against every configured database.

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <atomic>
#include <optional>
#include <thread>

#include "common/clock.hpp"
#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "common/random.hpp"
#include "store/repositories.hpp"
#include "store/store_test_support.hpp"

namespace latchkey::store {
namespace {

using identity::AccountState;
using identity::User;

class UserRepositoryContract : public ::testing::TestWithParam<std::string> {
 protected:
  UserRepositoryContract() : t_(GetParam()), repo_(make_user_repository(t_.db())) {}

  User make_user(const std::string& email, std::vector<std::string> roles = {"user"}) {
    User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.name = "Test User";
    u.state = AccountState::kPending;
    u.email_verified = false;
    u.roles = std::move(roles);
    u.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    u.created_at = clock_.now();
    u.updated_at = clock_.now();
    clock_.advance(std::chrono::milliseconds(3));
    return u;
  }

  FakeClock clock_{1'700'000'000};
  SeededRandom random_{7};
  testing::TestDatabase t_;
  std::unique_ptr<identity::UserRepository> repo_;
};

void expect_same(const User& a, const User& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.email_verified, b.email_verified);
  EXPECT_EQ(a.roles, b.roles);
  EXPECT_EQ(a.password_hash, b.password_hash);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

TEST_P(UserRepositoryContract, CreateThenFindByIdAndEmail) {
  User u = make_user("alice@example.com", {"user", "admin"});
  u.created_at += std::chrono::milliseconds(123);  // millisecond precision survives
  ASSERT_TRUE(repo_->create(u));
  u.roles = {"admin", "user"};  // stored sorted

  auto by_id = repo_->find_by_id(u.id);
  ASSERT_TRUE(by_id) << by_id.error().log_detail;
  ASSERT_TRUE(by_id->has_value());
  expect_same(**by_id, u);

  auto by_email = repo_->find_by_email("alice@example.com");
  ASSERT_TRUE(by_email);
  ASSERT_TRUE(by_email->has_value());
  expect_same(**by_email, u);
}

TEST_P(UserRepositoryContract, MissingUserIsEmptyNotError) {
  auto r = repo_->find_by_id("01890000-0000-7000-8000-000000000000");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  auto e = repo_->find_by_email("nobody@example.com");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->has_value());
}

TEST_P(UserRepositoryContract, UserWithoutRolesOrPassword) {
  User u = make_user("norole@example.com", {});
  u.password_hash.clear();
  ASSERT_TRUE(repo_->create(u));
  auto r = repo_->find_by_id(u.id);
  ASSERT_TRUE(r && r->has_value());
  EXPECT_TRUE((*r)->roles.empty());
  EXPECT_EQ((*r)->password_hash, "");
}

TEST_P(UserRepositoryContract, DuplicateEmailIsConflictAndWritesNothing) {
  User a = make_user("dup@example.com");
  ASSERT_TRUE(repo_->create(a));
  User b = make_user("dup@example.com", {"user", "admin"});
  auto s = repo_->create(b);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_EQ(testing::count_rows(t_.db(), "users"), 1);
  EXPECT_EQ(testing::count_rows(t_.db(), "user_roles"), 1);
  auto missing = repo_->find_by_id(b.id);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(UserRepositoryContract, DuplicateIdIsConflict) {
  User a = make_user("one@example.com");
  ASSERT_TRUE(repo_->create(a));
  User b = make_user("two@example.com");
  b.id = a.id;
  auto s = repo_->create(b);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
}

TEST_P(UserRepositoryContract, EmailsDifferingInCaseAreDistinct) {
  // Normalisation happens upstream; the store compares byte for byte.
  ASSERT_TRUE(repo_->create(make_user("Bob@example.com")));
  ASSERT_TRUE(repo_->create(make_user("bob@example.com")));
  auto upper = repo_->find_by_email("Bob@example.com");
  auto lower = repo_->find_by_email("bob@example.com");
  auto other = repo_->find_by_email("BOB@example.com");
  ASSERT_TRUE(upper && lower && other);
  ASSERT_TRUE(upper->has_value() && lower->has_value());
  EXPECT_NE((*upper)->id, (*lower)->id);
  EXPECT_EQ((*upper)->email, "Bob@example.com");
  EXPECT_FALSE(other->has_value());
}

TEST_P(UserRepositoryContract, SqlMetacharactersAndUnicodeAreStoredLiterally) {
  const std::vector<std::string> names = {
      "'; DROP TABLE users; --",
      "Robert\"); DELETE FROM user_roles; --",
      "back\\slash 'single' \"double\" `tick` %_ :colon ?mark",
      "한국어 이름",
      "emoji \xF0\x9F\x94\x90\xF0\x9F\x98\x80 name",
  };
  std::vector<User> created;
  for (std::size_t i = 0; i < names.size(); ++i) {
    User u = make_user("meta" + std::to_string(i) + "+'x'@example.com", {"user", "o'role"});
    u.name = names[i];
    ASSERT_TRUE(repo_->create(u)) << names[i];
    created.push_back(u);
  }
  EXPECT_EQ(testing::count_rows(t_.db(), "users"), static_cast<long long>(names.size()));
  for (auto u : created) {
    auto r = repo_->find_by_email(u.email);
    ASSERT_TRUE(r && r->has_value()) << u.name;
    std::sort(u.roles.begin(), u.roles.end());
    expect_same(**r, u);
  }
  // A metacharacter-laden lookup key matches nothing rather than everything.
  auto inj = repo_->find_by_email("' OR '1'='1");
  ASSERT_TRUE(inj);
  EXPECT_FALSE(inj->has_value());
}

TEST_P(UserRepositoryContract, UpdatesChangeOnlyTheirFields) {
  User u = make_user("upd@example.com");
  ASSERT_TRUE(repo_->create(u));
  TimePoint t1 = u.created_at + std::chrono::seconds(10);
  ASSERT_TRUE(repo_->update_name(u.id, "Renamed 'quoted'", t1));
  TimePoint t2 = t1 + std::chrono::seconds(10);
  ASSERT_TRUE(repo_->set_password_hash(u.id, "$2b$12$abcdefghijklmnopqrstuv", t2));
  TimePoint t3 = t2 + std::chrono::seconds(10);
  ASSERT_TRUE(repo_->set_state(u.id, AccountState::kActive, t3));
  auto r = repo_->find_by_id(u.id);
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->name, "Renamed 'quoted'");
  EXPECT_EQ((*r)->password_hash, "$2b$12$abcdefghijklmnopqrstuv");
  EXPECT_EQ((*r)->state, AccountState::kActive);
  EXPECT_EQ((*r)->updated_at, t3);
  EXPECT_EQ((*r)->created_at, u.created_at);
  EXPECT_EQ((*r)->email, u.email);

  ASSERT_TRUE(repo_->set_state(u.id, AccountState::kDisabled, t3));
  // Setting the same value again still succeeds (matched, not changed, rows count).
  ASSERT_TRUE(repo_->set_state(u.id, AccountState::kDisabled, t3));
  ASSERT_TRUE(repo_->set_password_hash(u.id, "", t3));
  r = repo_->find_by_id(u.id);
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->state, AccountState::kDisabled);
  EXPECT_EQ((*r)->password_hash, "");
}

TEST_P(UserRepositoryContract, PhoneAndLocaleRoundTripAndPhonesAreUnique) {
  User a = make_user("a@example.com");
  a.locale = "ko";
  a.phone = "+821012345678";
  a.phone_verified = true;
  ASSERT_TRUE(repo_->create(a));
  auto found = repo_->find_by_phone("+821012345678");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, a.id);
  EXPECT_EQ((*found)->locale, "ko");
  EXPECT_TRUE((*found)->phone_verified);

  User b = make_user("b@example.com");
  ASSERT_TRUE(repo_->create(b));
  auto taken = repo_->set_phone(b.id, "+821012345678", false, clock_.now());
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);
  ASSERT_TRUE(repo_->set_phone(b.id, "+821098765432", false, clock_.now()));
  auto b2 = repo_->find_by_id(b.id);
  ASSERT_TRUE(b2 && *b2);
  EXPECT_EQ((*b2)->phone, "+821098765432");
  EXPECT_FALSE((*b2)->phone_verified);
  // Removing a number frees it, and several accounts may have none.
  ASSERT_TRUE(repo_->set_phone(a.id, "", true, clock_.now()));
  auto a2 = repo_->find_by_id(a.id);
  ASSERT_TRUE(a2 && *a2);
  EXPECT_EQ((*a2)->phone, "");
  EXPECT_FALSE((*a2)->phone_verified);
  ASSERT_TRUE(repo_->set_phone(b.id, "", false, clock_.now()));
  ASSERT_TRUE(repo_->set_phone(b.id, "+821012345678", true, clock_.now()));
  auto none = repo_->find_by_phone("+15550000000");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(UserRepositoryContract, UpdatesOfMissingUserAreNotFound) {
  const std::string id = "01890000-0000-7000-8000-000000000000";
  TimePoint now = clock_.now();
  EXPECT_EQ(repo_->update_name(id, "x", now).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo_->set_password_hash(id, "x", now).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo_->set_state(id, AccountState::kActive, now).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo_->set_roles(id, {"admin"}, now).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(repo_->remove(id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(testing::count_rows(t_.db(), "user_roles"), 0);
}

TEST_P(UserRepositoryContract, SetRolesReplacesSortedAndUnique) {
  User u = make_user("roles@example.com", {"user"});
  ASSERT_TRUE(repo_->create(u));
  TimePoint later = u.created_at + std::chrono::minutes(1);
  ASSERT_TRUE(repo_->set_roles(u.id, {"support", "admin", "support", "Admin"}, later));
  auto r = repo_->find_by_id(u.id);
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->roles, (std::vector<std::string>{"Admin", "admin", "support"}));
  EXPECT_EQ((*r)->updated_at, later);
  ASSERT_TRUE(repo_->set_roles(u.id, {}, later));
  r = repo_->find_by_id(u.id);
  ASSERT_TRUE(r && r->has_value());
  EXPECT_TRUE((*r)->roles.empty());
}

TEST_P(UserRepositoryContract, ListPagesByIdWithRoles) {
  std::vector<User> users;
  for (int i = 0; i < 7; ++i) {
    User u =
        make_user("list" + std::to_string(i) + "@example.com",
                  i % 2 ? std::vector<std::string>{"admin", "user"} : std::vector<std::string>{});
    ASSERT_TRUE(repo_->create(u));
    users.push_back(u);
  }
  std::vector<User> seen;
  std::optional<std::string> after;
  for (int page = 0; page < 10; ++page) {
    auto r = repo_->list(3, after);
    ASSERT_TRUE(r) << r.error().log_detail;
    EXPECT_LE(r->size(), 3u);
    if (r->empty()) break;
    for (auto& u : *r) seen.push_back(u);
    after = r->back().id;
  }
  ASSERT_EQ(seen.size(), users.size());
  for (std::size_t i = 0; i < users.size(); ++i) expect_same(seen[i], users[i]);
  auto none = repo_->list(0, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(UserRepositoryContract, RemoveDeletesRolesSessionsAndRefreshTokens) {
  User keep = make_user("keep@example.com");
  User gone = make_user("gone@example.com", {"admin", "user"});
  ASSERT_TRUE(repo_->create(keep));
  ASSERT_TRUE(repo_->create(gone));
  auto sessions = make_session_repository(t_.db());
  TimePoint now = clock_.now();
  for (const User* u : {&keep, &gone}) {
    for (int i = 0; i < 2; ++i) {
      sessions::Session s;
      s.id = new_uuid_v7(clock_, random_);
      s.user_id = u->id;
      s.created_at = s.last_used_at = s.auth_time = now;
      s.expires_at = now + std::chrono::hours(24);
      s.amr = {"pwd"};
      sessions::RefreshToken rt;
      rt.hash = sha256_hex(s.id);
      rt.session_id = s.id;
      rt.user_id = u->id;
      rt.created_at = now;
      rt.expires_at = s.expires_at;
      ASSERT_TRUE(sessions->create(s, rt));
    }
  }
  ASSERT_TRUE(repo_->remove(gone.id));
  auto r = repo_->find_by_id(gone.id);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(testing::count_rows(t_.db(), "users"), 1);
  EXPECT_EQ(testing::count_rows(t_.db(), "user_roles"), 1);
  EXPECT_EQ(testing::count_rows(t_.db(), "sessions"), 2);
  EXPECT_EQ(testing::count_rows(t_.db(), "refresh_tokens"), 2);
  auto k = repo_->find_by_id(keep.id);
  ASSERT_TRUE(k && k->has_value());
  // The e-mail is free again.
  EXPECT_TRUE(repo_->create(make_user("gone@example.com")));
}

// --- search and role counts ---

std::vector<std::string> emails_of(const std::vector<User>& users) {
  std::vector<std::string> out;
  for (const auto& u : users) out.push_back(u.email);
  return out;
}

TEST_P(UserRepositoryContract, SearchFiltersByPrefixStateRoleAndVerified) {
  User a = make_user("alice@example.com", {"admin", "user"});
  a.name = "Alice Kim";
  a.state = AccountState::kActive;
  a.email_verified = true;
  a.phone = "+821012345678";
  User b = make_user("bob@example.com");
  b.name = "bob_lee";
  User c = make_user("carol@example.org");
  c.name = "Carol";
  c.state = AccountState::kDisabled;
  c.email_verified = true;
  for (const auto& u : {a, b, c}) ASSERT_TRUE(repo_->create(u));

  identity::UserSearch q;
  auto all = repo_->search(q);
  ASSERT_TRUE(all) << all.error().log_detail;
  EXPECT_EQ(emails_of(*all), (std::vector<std::string>{"alice@example.com", "bob@example.com",
                                                       "carol@example.org"}));
  ASSERT_EQ(all->front().roles, (std::vector<std::string>{"admin", "user"}));

  q.prefix = "ALI";  // case-insensitive, e-mail or name
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"alice@example.com"}));
  q.prefix = "carol";
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"carol@example.org"}));
  q.prefix = "+8210";  // phone
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"alice@example.com"}));
  q.prefix = "bob_";  // '_' is literal, not a wildcard
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"bob@example.com"}));
  q.prefix = "b%";
  EXPECT_TRUE(repo_->search(q)->empty());
  q.prefix = "";

  q.state = AccountState::kDisabled;
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"carol@example.org"}));
  q.state.reset();
  q.role = "admin";
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"alice@example.com"}));
  q.role = "";
  q.email_verified = false;
  EXPECT_EQ(emails_of(*repo_->search(q)), (std::vector<std::string>{"bob@example.com"}));
}

TEST_P(UserRepositoryContract, SearchPagesAreStableInEveryOrder) {
  // Equal names and equal creation times: the id breaks ties.
  std::vector<User> made;
  for (int i = 0; i < 7; ++i) {
    User u = make_user("u" + std::to_string(i) + "@example.com");
    u.name = i % 2 ? "Same" : "Other";
    u.created_at = from_unix_ms(1'700'000'000'000 + (i / 3) * 1000);
    ASSERT_TRUE(repo_->create(u));
    made.push_back(u);
  }
  for (auto sort :
       {identity::UserSort::kCreatedAt, identity::UserSort::kEmail, identity::UserSort::kName}) {
    for (bool desc : {false, true}) {
      identity::UserSearch q;
      q.sort = sort;
      q.descending = desc;
      q.limit = 100;
      auto full = repo_->search(q);
      ASSERT_TRUE(full) << full.error().log_detail;
      ASSERT_EQ(full->size(), 7u);
      std::vector<std::string> paged;
      q.limit = 2;
      for (int page = 0; page < 10; ++page) {
        auto r = repo_->search(q);
        ASSERT_TRUE(r) << r.error().log_detail;
        for (const auto& u : *r) paged.push_back(u.id);
        if (static_cast<int>(r->size()) < q.limit) break;
        const User& last = r->back();
        std::string key = sort == identity::UserSort::kEmail ? last.email
                          : sort == identity::UserSort::kName
                              ? last.name
                              : std::to_string(to_unix_ms(last.created_at));
        q.after = std::make_pair(key, last.id);
      }
      std::vector<std::string> expected;
      for (const auto& u : *full) expected.push_back(u.id);
      EXPECT_EQ(paged, expected) << "sort " << static_cast<int>(sort) << " desc " << desc;
    }
  }
}

TEST_P(UserRepositoryContract, CountWithRole) {
  User a = make_user("a@example.com", {"admin", "user"});
  a.state = AccountState::kActive;
  User b = make_user("b@example.com", {"admin"});
  b.state = AccountState::kDisabled;
  User c = make_user("c@example.com");
  for (const auto& u : {a, b, c}) ASSERT_TRUE(repo_->create(u));
  EXPECT_EQ(*repo_->count_with_role("admin"), 2);
  EXPECT_EQ(*repo_->lock_active_with_role("admin"), std::vector<std::string>{a.id});
  EXPECT_EQ(*repo_->count_with_role("user"), 2);
  EXPECT_EQ(*repo_->count_with_role("auditor"), 0);
}

// Two units each take one of the last two administrators away. Each checks first that another
// admin stays: the second unit's check must wait for the first unit and see its change (without
// the lock, on MariaDB and PostgreSQL it would still see two admins, and both would commit).
TEST_P(UserRepositoryContract, LockActiveWithRoleMakesTheCheckAndTheChangeOneStep) {
  User a = make_user("a@example.com", {"admin", "user"});
  User b = make_user("b@example.com", {"admin", "user"});
  User pending = make_user("p@example.com", {"admin", "user"});
  User disabled = make_user("d@example.com", {"admin", "user"});
  a.state = b.state = AccountState::kActive;
  disabled.state = AccountState::kDisabled;
  for (const auto& u : {a, b, pending, disabled}) ASSERT_TRUE(repo_->create(u));
  auto uow = make_unit_of_work(t_.db());

  auto both = repo_->lock_active_with_role("admin");  // outside a unit: a plain read
  ASSERT_TRUE(both) << both.error().log_detail;
  EXPECT_EQ(*both, (std::vector<std::string>{a.id, b.id}));  // ascending ids, active only

  std::atomic<bool> first_locked{false};
  std::optional<Result<std::vector<std::string>>> second_saw;
  std::thread first([&] {
    auto st = uow->run([&]() -> Status {
      auto admins = repo_->lock_active_with_role("admin");
      if (!admins) return admins.error();
      first_locked = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the second one waits
      return repo_->set_roles(a.id, {"user"}, clock_.now());
    });
    EXPECT_TRUE(st) << st.error().log_detail;
  });
  while (!first_locked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto st = uow->run([&]() -> Status {
    second_saw = repo_->lock_active_with_role("admin");
    return {};
  });
  first.join();
  ASSERT_TRUE(st) << st.error().log_detail;
  ASSERT_TRUE(second_saw.has_value());
  ASSERT_TRUE(*second_saw) << second_saw->error().log_detail;
  EXPECT_EQ(**second_saw, (std::vector<std::string>{b.id}));
}

INSTANTIATE_TEST_SUITE_P(Backends, UserRepositoryContract, ::testing::ValuesIn(testing::backends()),
                         testing::backend_name);

}  // namespace
}  // namespace latchkey::store
