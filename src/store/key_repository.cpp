// tokens::KeyRepository over SOCI.

#include <soci/soci.h>

#include "store/repositories.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using tokens::StoredKey;

class SqlKeyRepository final : public tokens::KeyRepository {
 public:
  explicit SqlKeyRepository(Database& db) : db_(db) {}

  Result<std::vector<StoredKey>> list() override {
    using R = Result<std::vector<StoredKey>>;
    return with_session<R>(db_, "keys.list", [&](soci::session& sql) -> R {
      std::string kid, alg, sealed, jwk;
      long long created = 0, signs_from = 0;
      NullableTime retired;
      soci::statement st =
          (sql.prepare << "SELECT kid, alg, private_sealed, public_jwk, created_at, signs_from, "
                          "retired_at FROM signing_keys ORDER BY created_at, kid",
           soci::into(kid), soci::into(alg), soci::into(sealed), soci::into(jwk),
           soci::into(created), soci::into(signs_from), soci::into(retired.value, retired.ind));
      st.execute();
      std::vector<StoredKey> out;
      while (st.fetch()) {
        StoredKey k;
        k.kid = kid;
        k.alg = alg;
        k.private_sealed = sealed;
        k.public_jwk = jwk;
        k.created_at = from_db(created);
        k.signs_from = from_db(signs_from);
        k.retired_at = retired.get();
        out.push_back(std::move(k));
      }
      return out;
    });
  }

  Status insert(const StoredKey& key) override {
    return with_write_session<Status>(
        db_, "keys.insert",
        [&](soci::session& sql) -> Status {
          long long created = to_db(key.created_at);
          long long signs_from = to_db(key.signs_from);
          NullableTime retired = NullableTime::of(key.retired_at);
          sql << "INSERT INTO signing_keys (kid, alg, private_sealed, public_jwk, created_at, "
                 "signs_from, retired_at) VALUES (:kid, :alg, :sealed, :jwk, :created, "
                 ":signs_from, :retired)",
              soci::use(key.kid), soci::use(key.alg), soci::use(key.private_sealed),
              soci::use(key.public_jwk), soci::use(created), soci::use(signs_from),
              soci::use(retired.value, retired.ind);
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  // Keeps the first retirement time when called again.
  Status retire(const std::string& kid, TimePoint at) override {
    return with_write_session<Status>(db_, "keys.retire", [&](soci::session& sql) -> Status {
      std::string k = kid;
      long long when = to_db(at);
      soci::statement st =
          (sql.prepare << "UPDATE signing_keys SET retired_at = COALESCE(retired_at, :at) "
                          "WHERE kid = :kid",
           soci::use(when), soci::use(k));
      if (execute_count(st) == 0) return not_found("key");
      return {};
    });
  }

  Status remove(const std::string& kid) override {
    return with_write_session<Status>(db_, "keys.remove", [&](soci::session& sql) -> Status {
      std::string k = kid;
      soci::statement st =
          (sql.prepare << "DELETE FROM signing_keys WHERE kid = :kid", soci::use(k));
      if (execute_count(st) == 0) return not_found("key");
      return {};
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<tokens::KeyRepository> make_key_repository(Database& db) {
  return std::make_unique<SqlKeyRepository>(db);
}

}  // namespace latchkey::store
