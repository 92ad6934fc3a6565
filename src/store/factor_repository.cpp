// methods::FactorRepository over SOCI. Every compare-and-set (confirm_totp, use_totp_step,
// use_recovery_code) is one UPDATE whose WHERE clause holds the condition, so of concurrent
// requests exactly one matches the row; put_totp and replace_recovery_codes are one short
// transaction each.

#include "store/factor_repository.hpp"

#include <soci/soci.h>

#include <set>

#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using methods::TotpFactor;

using FoundFactor = Result<std::optional<TotpFactor>>;

// The columns of kFindTotp, bound as into() targets.
struct TotpRow {
  std::string user_id, secret_sealed;
  long long created = 0;
  NullableTime confirmed;
  long long step = 0;
  soci::indicator step_ind = soci::i_null;

  void bind(soci::statement& st) {
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(secret_sealed));
    st.exchange(soci::into(created));
    st.exchange(soci::into(confirmed.value, confirmed.ind));
    st.exchange(soci::into(step, step_ind));
  }

  TotpFactor get() const {
    TotpFactor f;
    f.user_id = user_id;
    f.secret_sealed = secret_sealed;
    f.created_at = from_db(created);
    f.confirmed_at = confirmed.get();
    if (step_ind == soci::i_ok) f.last_step = static_cast<std::int64_t>(step);
    return f;
  }
};

// Looked up at every login (is a second factor due?), so kept prepared (with_prepared).
constexpr std::string_view kFindTotp =
    "SELECT user_id, secret_sealed, created_at, confirmed_at, last_step FROM totp_factors "
    "WHERE user_id = :uid";

class SqlFactorRepository final : public methods::FactorRepository {
 public:
  explicit SqlFactorRepository(Database& db) : db_(db) {}

  // confirmed_at and last_step of `factor` are not written: a new secret is always stored
  // unconfirmed (only confirm_totp turns a factor on).
  Status put_totp(const TotpFactor& factor) override {
    return with_write_session<Status>(
        db_, "totp_factors.put",
        [&](soci::session& sql) -> Status {
          Transaction tx(db_, sql);
          std::string key = factor.user_id;
          // Locks the user's row (MariaDB, PostgreSQL) so that a concurrent confirm_totp waits
          // for this transaction; SQLite holds the write lock already.
          std::string lock = db_.dialect() == Dialect::kSqlite ? "" : " FOR UPDATE";
          long long confirmed = 0;
          soci::indicator confirmed_ind = soci::i_null;
          soci::statement find = (sql.prepare << "SELECT confirmed_at FROM totp_factors "
                                                 "WHERE user_id = :uid" +
                                                     lock,
                                  soci::into(confirmed, confirmed_ind), soci::use(key));
          if (find.execute(true) && confirmed_ind == soci::i_ok) {
            return Error::make(ErrorCode::kConflict,
                               "an authenticator app is already set up; remove it first");
          }
          sql << "DELETE FROM totp_factors WHERE user_id = :uid AND confirmed_at IS NULL",
              soci::use(key);
          std::string secret = factor.secret_sealed;
          long long created = to_db(factor.created_at);
          // A row inserted by a concurrent put_totp since the SELECT makes this a primary-key
          // violation, reported as kConflict (unique_is_conflict).
          sql << "INSERT INTO totp_factors (user_id, secret_sealed, created_at, confirmed_at, "
                 "last_step) VALUES (:uid, :secret, :created, NULL, NULL)",
              soci::use(key), soci::use(secret), soci::use(created);
          tx.commit();
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  FoundFactor find_totp(const std::string& user_id) override {
    return with_session<FoundFactor>(
        db_, "totp_factors.find", [&](soci::session& sql) -> FoundFactor {
          using Q = SelectByKey<TotpRow>;
          return with_prepared<Q>(db_, sql, kFindTotp, [&](Q& q) -> FoundFactor {
            q.key = user_id;
            if (!q.st.execute(true)) return std::optional<TotpFactor>();
            return std::optional<TotpFactor>(q.row.get());
          });
        });
  }

  Result<bool> confirm_totp(const std::string& user_id, TimePoint at, std::int64_t step) override {
    return with_write_session<Result<bool>>(
        db_, "totp_factors.confirm", [&](soci::session& sql) -> Result<bool> {
          std::string key = user_id;
          long long confirmed = to_db(at);
          long long used_step = static_cast<long long>(step);
          // Compare and set: only an unconfirmed factor is turned on.
          soci::statement st =
              (sql.prepare << "UPDATE totp_factors SET confirmed_at = :at, last_step = :step "
                              "WHERE user_id = :uid AND confirmed_at IS NULL",
               soci::use(confirmed), soci::use(used_step), soci::use(key));
          return execute_count(st) == 1;
        });
  }

  Result<bool> use_totp_step(const std::string& user_id, std::int64_t step) override {
    return with_write_session<Result<bool>>(
        db_, "totp_factors.use_step", [&](soci::session& sql) -> Result<bool> {
          std::string key = user_id;
          long long used_step = static_cast<long long>(step);
          // Compare and set (no replay): the row matches only while `step` is later than the
          // last accepted one, and the UPDATE re-reads the row after any concurrent writer
          // commits, so of requests with the same step exactly one wins.
          soci::statement st = (sql.prepare << "UPDATE totp_factors SET last_step = :step "
                                               "WHERE user_id = :uid AND confirmed_at IS NOT NULL "
                                               "AND (last_step IS NULL OR last_step < :step2)",
                                soci::use(used_step), soci::use(key), soci::use(used_step));
          return execute_count(st) == 1;
        });
  }

  Result<bool> remove_totp(const std::string& user_id) override {
    return with_write_session<Result<bool>>(
        db_, "totp_factors.remove", [&](soci::session& sql) -> Result<bool> {
          std::string key = user_id;
          soci::statement st =
              (sql.prepare << "DELETE FROM totp_factors WHERE user_id = :uid", soci::use(key));
          return execute_count(st) > 0;
        });
  }

  // A hash given twice is stored once.
  Status replace_recovery_codes(const std::string& user_id,
                                const std::vector<std::string>& code_hashes,
                                TimePoint at) override {
    return with_write_session<Status>(
        db_, "recovery_codes.replace", [&](soci::session& sql) -> Status {
          Transaction tx(db_, sql);
          std::string key = user_id;
          sql << "DELETE FROM recovery_codes WHERE user_id = :uid", soci::use(key);
          long long created = to_db(at);
          std::string hash;
          soci::statement insert =
              (sql.prepare << "INSERT INTO recovery_codes (user_id, code_hash, created_at, "
                              "used_at) VALUES (:uid, :hash, :created, NULL)",
               soci::use(key), soci::use(hash), soci::use(created));
          std::set<std::string> seen;
          for (const std::string& h : code_hashes) {
            if (!seen.insert(h).second) continue;
            hash = h;
            insert.execute(true);
          }
          tx.commit();
          return {};
        });
  }

  Result<bool> use_recovery_code(const std::string& user_id, const std::string& code_hash,
                                 TimePoint at) override {
    return with_write_session<Result<bool>>(
        db_, "recovery_codes.use", [&](soci::session& sql) -> Result<bool> {
          std::string key = user_id;
          std::string hash = code_hash;
          long long used = to_db(at);
          // Compare and set: a code is spent once, and only by its own user.
          soci::statement st = (sql.prepare << "UPDATE recovery_codes SET used_at = :at "
                                               "WHERE user_id = :uid AND code_hash = :hash "
                                               "AND used_at IS NULL",
                                soci::use(used), soci::use(key), soci::use(hash));
          return execute_count(st) == 1;
        });
  }

  Result<int> unused_recovery_codes(const std::string& user_id) override {
    return with_session<Result<int>>(
        db_, "recovery_codes.count_unused", [&](soci::session& sql) -> Result<int> {
          std::string key = user_id;
          long long n = 0;
          sql << "SELECT COUNT(*) FROM recovery_codes WHERE user_id = :uid AND used_at IS NULL",
              soci::use(key), soci::into(n);
          return static_cast<int>(n);
        });
  }

  Status remove_recovery_codes(const std::string& user_id) override {
    return with_write_session<Status>(
        db_, "recovery_codes.remove", [&](soci::session& sql) -> Status {
          std::string key = user_id;
          sql << "DELETE FROM recovery_codes WHERE user_id = :uid", soci::use(key);
          return {};
        });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<methods::FactorRepository> make_factor_repository(Database& db) {
  return std::make_unique<SqlFactorRepository>(db);
}

}  // namespace latchkey::store
