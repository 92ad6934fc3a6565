// identity::IdentityRepository over SOCI. The UNIQUE (provider, subject) index decides races:
// of two concurrent links of one provider account, exactly one insert succeeds and the other is
// kConflict.

#include "store/identity_repository.hpp"

#include <soci/soci.h>

#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using identity::LinkedIdentity;

constexpr std::string_view kColumns = "id, user_id, provider, subject, email, created_at";

struct IdentityRow {
  LinkedIdentity value;
  long long created = 0;

  void bind(soci::statement& st) {
    st.exchange(soci::into(value.id));
    st.exchange(soci::into(value.user_id));
    st.exchange(soci::into(value.provider));
    st.exchange(soci::into(value.subject));
    st.exchange(soci::into(value.email));
    st.exchange(soci::into(created));
  }
  LinkedIdentity get() const {
    LinkedIdentity out = value;
    out.created_at = from_db(created);
    return out;
  }
};

class SqlIdentityRepository final : public identity::IdentityRepository {
 public:
  explicit SqlIdentityRepository(Database& db) : db_(db) {}

  Status create(const LinkedIdentity& identity) override {
    return with_write_session<Status>(
        db_, "identities.create",
        [&](soci::session& sql) -> Status {
          LinkedIdentity row = identity;
          long long created = to_db(identity.created_at);
          sql << "INSERT INTO identities (id, user_id, provider, subject, email, created_at) "
                 "VALUES (:id, :uid, :provider, :subject, :email, :created)",
              soci::use(row.id), soci::use(row.user_id), soci::use(row.provider),
              soci::use(row.subject), soci::use(row.email), soci::use(created);
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Result<std::optional<LinkedIdentity>> find(const std::string& provider,
                                             const std::string& subject) override {
    using R = Result<std::optional<LinkedIdentity>>;
    return with_session<R>(db_, "identities.find", [&](soci::session& sql) -> R {
      std::string p = provider, s = subject;
      IdentityRow row;
      soci::statement st(sql);
      st.alloc();
      row.bind(st);
      st.exchange(soci::use(p));
      st.exchange(soci::use(s));
      st.prepare("SELECT " + std::string(kColumns) +
                 " FROM identities WHERE provider = :provider AND subject = :subject");
      st.define_and_bind();
      if (!st.execute(true)) return std::optional<LinkedIdentity>();
      return std::optional<LinkedIdentity>(row.get());
    });
  }

  Result<std::vector<LinkedIdentity>> list_for_user(const std::string& user_id) override {
    using R = Result<std::vector<LinkedIdentity>>;
    return with_session<R>(db_, "identities.list", [&](soci::session& sql) -> R {
      std::string key = user_id;
      IdentityRow row;
      soci::statement st(sql);
      st.alloc();
      row.bind(st);
      st.exchange(soci::use(key));
      st.prepare("SELECT " + std::string(kColumns) +
                 " FROM identities WHERE user_id = :uid ORDER BY created_at, id");
      st.define_and_bind();
      st.execute();
      std::vector<LinkedIdentity> out;
      while (st.fetch()) out.push_back(row.get());
      return out;
    });
  }

  Result<bool> remove(const std::string& user_id, const std::string& id) override {
    return with_write_session<Result<bool>>(
        db_, "identities.remove", [&](soci::session& sql) -> Result<bool> {
          std::string uid = user_id, key = id;
          // The owner is part of the condition: another user's identity id matches nothing.
          soci::statement st =
              (sql.prepare << "DELETE FROM identities WHERE id = :id AND user_id = :uid",
               soci::use(key), soci::use(uid));
          return execute_count(st) == 1;
        });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<identity::IdentityRepository> make_identity_repository(Database& db) {
  return std::make_unique<SqlIdentityRepository>(db);
}

}  // namespace latchkey::store
