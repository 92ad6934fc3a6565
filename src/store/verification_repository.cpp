// flows::VerificationRepository over SOCI. Every write is one statement, or (add_failed_attempt)
// one short transaction; consume() is a compare-and-set, so of concurrent uses of one secret
// exactly one wins.

#include "store/verification_repository.hpp"

#include <soci/soci.h>

#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using flows::Purpose;
using flows::Verification;

constexpr std::string_view kColumns =
    "id, user_id, purpose, email, secret_hash, code_hash, attempts, created_at, expires_at, "
    "used_at";

// into() targets for kColumns.
struct VerificationRow {
  std::string id, user_id, purpose, email, secret_hash;
  NullableText code_hash;
  int attempts = 0;
  long long created = 0, expires = 0;
  NullableTime used;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(purpose));
    st.exchange(soci::into(email));
    st.exchange(soci::into(secret_hash));
    st.exchange(soci::into(code_hash.value, code_hash.ind));
    st.exchange(soci::into(attempts));
    st.exchange(soci::into(created));
    st.exchange(soci::into(expires));
    st.exchange(soci::into(used.value, used.ind));
  }

  // A purpose this binary does not know (a newer version wrote it, or the row was edited by
  // hand) is not guessed at: the row is unusable.
  Result<Verification> get() const {
    auto p = flows::parse_purpose(purpose);
    if (!p) return Error::internal("verifications: unknown purpose '" + purpose + "' in a row");
    Verification v;
    v.id = id;
    v.user_id = user_id;
    v.purpose = *p;
    v.email = email;
    v.secret_hash = secret_hash;
    v.code_hash = code_hash.get();
    v.attempts = attempts;
    v.created_at = from_db(created);
    v.expires_at = from_db(expires);
    v.used_at = used.get();
    return v;
  }
};

using FoundRow = Result<std::optional<Verification>>;

// Runs a prepared SELECT of kColumns (`where_and_rest` follows "WHERE") and returns its first
// row, if any. `bind_params` adds the use() elements.
template <typename BindParams>
FoundRow select_one(soci::session& sql, const std::string& where_and_rest,
                    BindParams&& bind_params) {
  VerificationRow row;
  soci::statement st(sql);
  st.alloc();
  row.bind(st);
  bind_params(st);
  st.prepare("SELECT " + std::string(kColumns) + " FROM verifications WHERE " + where_and_rest);
  st.define_and_bind();
  if (!st.execute(true)) return std::optional<Verification>{};
  auto v = row.get();
  if (!v) return std::move(v).error();
  return std::optional<Verification>(std::move(*v));
}

class SqlVerificationRepository final : public flows::VerificationRepository {
 public:
  explicit SqlVerificationRepository(Database& db) : db_(db) {}

  Status create(const Verification& v) override {
    return with_write_session<Status>(
        db_, "verifications.create",
        [&](soci::session& sql) -> Status {
          std::string purpose(flows::to_string(v.purpose));
          NullableText code = NullableText::of(v.code_hash);
          int attempts = v.attempts;
          long long created = to_db(v.created_at);
          long long expires = to_db(v.expires_at);
          NullableTime used = NullableTime::of(v.used_at);
          sql << "INSERT INTO verifications (" + std::string(kColumns) +
                     ") VALUES (:id, :uid, :purpose, :email, :secret, :code, :attempts, "
                     ":created, :expires, :used)",
              soci::use(v.id), soci::use(v.user_id), soci::use(purpose), soci::use(v.email),
              soci::use(v.secret_hash), soci::use(code.value, code.ind), soci::use(attempts),
              soci::use(created), soci::use(expires), soci::use(used.value, used.ind);
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  FoundRow find(const std::string& id) override {
    return with_session<FoundRow>(db_, "verifications.find", [&](soci::session& sql) -> FoundRow {
      std::string key = id;
      return select_one(sql, "id = :id", [&](soci::statement& st) { st.exchange(soci::use(key)); });
    });
  }

  FoundRow find_code_target(const std::string& email, Purpose purpose, TimePoint now) override {
    return with_session<FoundRow>(
        db_, "verifications.find_code_target", [&](soci::session& sql) -> FoundRow {
          std::string address = email;
          std::string p(flows::to_string(purpose));
          long long at = to_db(now);
          return select_one(sql,
                            "email = :email AND purpose = :purpose AND used_at IS NULL AND "
                            "expires_at > :now AND code_hash IS NOT NULL "
                            "ORDER BY created_at DESC, id DESC LIMIT 1",
                            [&](soci::statement& st) {
                              st.exchange(soci::use(address));
                              st.exchange(soci::use(p));
                              st.exchange(soci::use(at));
                            });
        });
  }

  Result<int> add_failed_attempt(const std::string& id) override {
    return with_write_session<Result<int>>(
        db_, "verifications.add_failed_attempt", [&](soci::session& sql) -> Result<int> {
          Transaction tx(db_, sql);
          std::string key = id;
          // The UPDATE locks the row until commit, so concurrent wrong codes each count once and
          // each reads back the count its own increment made.
          soci::statement up =
              (sql.prepare << "UPDATE verifications SET attempts = attempts + 1 WHERE id = :id",
               soci::use(key));
          if (execute_count(up) == 0) return not_found("verification");
          int attempts = 0;
          sql << "SELECT attempts FROM verifications WHERE id = :id", soci::use(key),
              soci::into(attempts);
          tx.commit();
          return attempts;
        });
  }

  Result<bool> consume(const std::string& id, TimePoint at) override {
    return with_write_session<Result<bool>>(
        db_, "verifications.consume", [&](soci::session& sql) -> Result<bool> {
          std::string key = id;
          long long used = to_db(at);
          // Compare and set: of concurrent uses, only the first matches a row.
          soci::statement st = (sql.prepare << "UPDATE verifications SET used_at = :at "
                                               "WHERE id = :id AND used_at IS NULL",
                                soci::use(used), soci::use(key));
          return execute_count(st) == 1;
        });
  }

  Status supersede(const std::string& user_id, Purpose purpose, TimePoint at) override {
    return with_write_session<Status>(
        db_, "verifications.supersede", [&](soci::session& sql) -> Status {
          std::string key = user_id;
          std::string p(flows::to_string(purpose));
          long long used = to_db(at);
          sql << "UPDATE verifications SET used_at = :at "
                 "WHERE user_id = :uid AND purpose = :purpose AND used_at IS NULL",
              soci::use(used), soci::use(key), soci::use(p);
          return {};
        });
  }

  Result<int> purge_expired(TimePoint before) override {
    auto n = purge_in_batches(db_, "verifications.purge_expired", "verifications", "id",
                              "expires_at < :at", to_db(before));
    if (!n) return std::move(n).error();
    return static_cast<int>(*n);
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<flows::VerificationRepository> make_verification_repository(Database& db) {
  return std::make_unique<SqlVerificationRepository>(db);
}

}  // namespace latchkey::store
