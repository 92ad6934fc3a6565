// identity::UserRepository over SOCI.

#include <soci/soci.h>

#include <algorithm>
#include <deque>

#include "store/repositories.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using identity::AccountState;
using identity::User;

// The user columns, then the role (NULL when the user has none) of a LEFT JOIN on user_roles.
// `u` is the users table or a derived table of users.
constexpr std::string_view kUserColumns =
    "u.id, u.email, u.name, u.state, u.email_verified, u.password_hash, u.created_at, "
    "u.updated_at, u.locale, u.phone, u.phone_verified, r.role";

// Reads the rows of a "users LEFT JOIN user_roles ORDER BY u.id" query into users.
class UserRows {
 public:
  // Binds the into() targets on `st` in kUserColumns order.
  void bind(soci::statement& st) {
    st.exchange(soci::into(id_));
    st.exchange(soci::into(email_));
    st.exchange(soci::into(name_));
    st.exchange(soci::into(state_));
    st.exchange(soci::into(verified_));
    st.exchange(soci::into(hash_.value, hash_.ind));
    st.exchange(soci::into(created_));
    st.exchange(soci::into(updated_));
    st.exchange(soci::into(locale_.value, locale_.ind));
    st.exchange(soci::into(phone_.value, phone_.ind));
    st.exchange(soci::into(phone_verified_));
    st.exchange(soci::into(role_, role_ind_));
  }

  // Appends the current row; a row of the same user as the previous one only adds its role.
  // Returns false on a state the code does not know (a corrupt row).
  bool add_row(std::vector<User>& users) {
    if (users.empty() || users.back().id != id_) {
      User u;
      u.id = id_;
      u.email = email_;
      u.name = name_;
      auto state = identity::parse_account_state(state_);
      if (!state) return false;
      u.state = *state;
      u.email_verified = verified_ != 0;
      u.password_hash = hash_.get();
      u.created_at = from_db(created_);
      u.updated_at = from_db(updated_);
      u.locale = locale_.get();
      u.phone = phone_.get();
      u.phone_verified = phone_verified_ != 0;
      users.push_back(std::move(u));
    }
    if (role_ind_ == soci::i_ok) users.back().roles.push_back(role_);
    return true;
  }

  static void finish(std::vector<User>& users) {
    for (auto& u : users) {
      std::sort(u.roles.begin(), u.roles.end());  // byte order, whatever the collation
      u.roles.erase(std::unique(u.roles.begin(), u.roles.end()), u.roles.end());
    }
  }

 private:
  std::string id_, email_, name_, state_, role_;
  int verified_ = 0;
  NullableText hash_;
  NullableText locale_;
  NullableText phone_;
  int phone_verified_ = 0;
  long long created_ = 0, updated_ = 0;
  soci::indicator role_ind_ = soci::i_null;
};

std::vector<std::string> normalised_roles(std::vector<std::string> roles) {
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  return roles;
}

void insert_roles(soci::session& sql, const std::string& user_id,
                  const std::vector<std::string>& roles) {
  if (roles.empty()) return;
  std::string uid = user_id;
  std::string role;
  soci::statement st = (sql.prepare << "INSERT INTO user_roles (user_id, role) VALUES (:u, :r)",
                        soci::use(uid), soci::use(role));
  for (const auto& r : roles) {
    role = r;
    st.execute(true);
  }
}

class SqlUserRepository final : public identity::UserRepository {
 public:
  explicit SqlUserRepository(Database& db) : db_(db) {}

  Status create(const User& user) override {
    return with_session<Status>(
        db_, "users.create",
        [&](soci::session& sql) -> Status {
          Transaction tx(db_, sql);
          std::string state(identity::to_string(user.state));
          int verified = user.email_verified ? 1 : 0;
          NullableText hash = NullableText::of(user.password_hash);
          NullableText locale = NullableText::of(user.locale);
          NullableText phone = NullableText::of(user.phone);
          int phone_verified = user.phone_verified ? 1 : 0;
          long long created = to_db(user.created_at);
          long long updated = to_db(user.updated_at);
          sql << "INSERT INTO users (id, email, name, state, email_verified, password_hash, "
                 "created_at, updated_at, locale, phone, phone_verified) VALUES (:id, :email, "
                 ":name, :state, :verified, :hash, :created, :updated, :locale, :phone, "
                 ":phone_verified)",
              soci::use(user.id), soci::use(user.email), soci::use(user.name), soci::use(state),
              soci::use(verified), soci::use(hash.value, hash.ind), soci::use(created),
              soci::use(updated), soci::use(locale.value, locale.ind),
              soci::use(phone.value, phone.ind), soci::use(phone_verified);
          insert_roles(sql, user.id, normalised_roles(user.roles));
          tx.commit();
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Result<std::optional<User>> find_by_id(const std::string& id) override {
    return find_one("users.find_by_id", "u.id = :key", id);
  }

  Result<std::optional<User>> find_by_email(const std::string& email) override {
    return find_one("users.find_by_email", "u.email = :key", email);
  }

  Result<std::optional<User>> find_by_phone(const std::string& phone) override {
    return find_one("users.find_by_phone", "u.phone = :key", phone);
  }

  Status set_phone(const std::string& id, const std::string& phone, bool verified,
                   TimePoint at) override {
    return with_write_session<Status>(
        db_, "users.set_phone",
        [&](soci::session& sql) -> Status {
          NullableText number = NullableText::of(phone);
          int flag = verified && !phone.empty() ? 1 : 0;
          long long updated = to_db(at);
          std::string key = id;
          soci::statement st =
              (sql.prepare << "UPDATE users SET phone = :phone, phone_verified = :verified, "
                              "updated_at = :at WHERE id = :id",
               soci::use(number.value, number.ind), soci::use(flag), soci::use(updated),
               soci::use(key));
          if (execute_count(st) == 0) return not_found("user");
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Status update_name(const std::string& id, const std::string& name, TimePoint at) override {
    return update_column("users.update_name", "name", id, name, at);
  }

  Status set_password_hash(const std::string& id, const std::string& hash, TimePoint at) override {
    return with_write_session<Status>(
        db_, "users.set_password_hash", [&](soci::session& sql) -> Status {
          NullableText h = NullableText::of(hash);
          long long updated = to_db(at);
          std::string key = id;
          soci::statement st =
              (sql.prepare
                   << "UPDATE users SET password_hash = :h, updated_at = :at WHERE id = :id",
               soci::use(h.value, h.ind), soci::use(updated), soci::use(key));
          if (execute_count(st) == 0) return not_found("user");
          return {};
        });
  }

  Status set_state(const std::string& id, AccountState state, TimePoint at) override {
    return update_column("users.set_state", "state", id, std::string(identity::to_string(state)),
                         at);
  }

  Status mark_email_verified(const std::string& id, TimePoint at) override {
    return with_write_session<Status>(
        db_, "users.mark_email_verified", [&](soci::session& sql) -> Status {
          long long updated = to_db(at);
          std::string key = id;
          soci::statement st =
              (sql.prepare << "UPDATE users SET email_verified = 1, state = CASE WHEN state = "
                              "'pending' THEN 'active' ELSE state END, updated_at = :at "
                              "WHERE id = :id",
               soci::use(updated), soci::use(key));
          if (execute_count(st) == 0) return not_found("user");
          return {};
        });
  }

  Status change_email(const std::string& id, const std::string& email, TimePoint at) override {
    return with_write_session<Status>(
        db_, "users.change_email",
        [&](soci::session& sql) -> Status {
          long long updated = to_db(at);
          std::string key = id;
          std::string address = email;
          soci::statement st =
              (sql.prepare << "UPDATE users SET email = :email, email_verified = 1, "
                              "updated_at = :at WHERE id = :id",
               soci::use(address), soci::use(updated), soci::use(key));
          if (execute_count(st) == 0) return not_found("user");
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Status set_roles(const std::string& id, const std::vector<std::string>& roles,
                   TimePoint at) override {
    return with_session<Status>(db_, "users.set_roles", [&](soci::session& sql) -> Status {
      Transaction tx(db_, sql);
      long long updated = to_db(at);
      std::string key = id;
      soci::statement st = (sql.prepare << "UPDATE users SET updated_at = :at WHERE id = :id",
                            soci::use(updated), soci::use(key));
      if (execute_count(st) == 0) return not_found("user");
      sql << "DELETE FROM user_roles WHERE user_id = :id", soci::use(key);
      insert_roles(sql, id, normalised_roles(roles));
      tx.commit();
      return {};
    });
  }

  Status remove(const std::string& id) override {
    return with_session<Status>(db_, "users.remove", [&](soci::session& sql) -> Status {
      Transaction tx(db_, sql);
      std::string key = id;
      // Children first: correct whether or not the foreign keys cascade.
      sql << "DELETE FROM refresh_tokens WHERE session_id IN "
             "(SELECT id FROM sessions WHERE user_id = :id)",
          soci::use(key);
      sql << "DELETE FROM sessions WHERE user_id = :id", soci::use(key);
      sql << "DELETE FROM verifications WHERE user_id = :id", soci::use(key);
      sql << "DELETE FROM totp_factors WHERE user_id = :id", soci::use(key);
      sql << "DELETE FROM recovery_codes WHERE user_id = :id", soci::use(key);
      sql << "DELETE FROM user_roles WHERE user_id = :id", soci::use(key);
      sql << "DELETE FROM identities WHERE user_id = :id", soci::use(key);
      soci::statement st = (sql.prepare << "DELETE FROM users WHERE id = :id", soci::use(key));
      if (execute_count(st) == 0) return not_found("user");
      tx.commit();
      return {};
    });
  }

  Result<std::vector<User>> list(int limit, const std::optional<std::string>& after_id) override {
    using R = Result<std::vector<User>>;
    if (limit <= 0) return std::vector<User>{};
    return with_session<R>(db_, "users.list", [&](soci::session& sql) -> R {
      std::string after = after_id.value_or(std::string());
      int lim = limit;
      std::vector<User> users;
      UserRows rows;
      // A derived table holds the page of users, so LIMIT counts users, not roles.
      soci::statement st(sql);
      st.alloc();
      rows.bind(st);
      st.exchange(soci::use(after));
      st.exchange(soci::use(lim));
      st.prepare("SELECT " + std::string(kUserColumns) +
                 " FROM (SELECT * FROM users WHERE id > :after ORDER BY id LIMIT :lim) u"
                 " LEFT JOIN user_roles r ON r.user_id = u.id ORDER BY u.id");
      st.define_and_bind();
      st.execute();
      while (st.fetch()) {
        if (!rows.add_row(users)) return Error::internal("users.list: unknown account state");
      }
      UserRows::finish(users);
      return users;
    });
  }

  Result<std::vector<User>> search(const identity::UserSearch& q) override {
    using R = Result<std::vector<User>>;
    if (q.limit <= 0) return std::vector<User>{};
    return with_session<R>(db_, "users.search", [&](soci::session& sql) -> R {
      // Every bound value lives in `texts`/`numbers` (stable addresses) in placeholder order.
      std::deque<std::string> texts;
      std::deque<long long> numbers;
      std::vector<std::pair<bool, std::size_t>> order;  // (is_text, index)
      auto text = [&](std::string v) {
        texts.push_back(std::move(v));
        order.emplace_back(true, texts.size() - 1);
        return ":p" + std::to_string(order.size());
      };
      auto number = [&](long long v) {
        numbers.push_back(v);
        order.emplace_back(false, numbers.size() - 1);
        return ":p" + std::to_string(order.size());
      };
      std::string where = "1 = 1";
      if (!q.prefix.empty()) {
        std::string lowered;
        for (char c : q.prefix) {
          const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
          if (l == '!' || l == '%' || l == '_') lowered += '!';
          lowered += l;
        }
        lowered += '%';
        const std::string p1 = text(lowered), p2 = text(lowered), p3 = text(lowered);
        where += " AND (LOWER(u.email) LIKE " + p1 + " ESCAPE '!' OR LOWER(u.name) LIKE " + p2 +
                 " ESCAPE '!' OR u.phone LIKE " + p3 + " ESCAPE '!')";
      }
      if (q.state) where += " AND u.state = " + text(std::string(identity::to_string(*q.state)));
      if (q.email_verified) where += " AND u.email_verified = " + number(*q.email_verified ? 1 : 0);
      if (!q.role.empty()) {
        where += " AND EXISTS (SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = " +
                 text(q.role) + ")";
      }
      const std::string column = q.sort == identity::UserSort::kEmail  ? "email"
                                 : q.sort == identity::UserSort::kName ? "name"
                                                                       : "created_at";
      const std::string cmp = q.descending ? "<" : ">";
      const std::string dir = q.descending ? " DESC" : "";
      if (q.after) {
        std::string key_param;
        if (q.sort == identity::UserSort::kCreatedAt) {
          long long key = 0;
          try {
            key = std::stoll(q.after->first);
          } catch (const std::exception&) {
            return Error::on_field(ErrorCode::kInvalidField, "cursor", "malformed cursor");
          }
          key_param = number(key);
          const std::string again = number(key);
          const std::string id = text(q.after->second);
          where += " AND (u.created_at " + cmp + " " + key_param + " OR (u.created_at = " + again +
                   " AND u.id " + cmp + " " + id + "))";
        } else {
          key_param = text(q.after->first);
          const std::string again = text(q.after->first);
          const std::string id = text(q.after->second);
          where += " AND (u." + column + " " + cmp + " " + key_param + " OR (u." + column + " = " +
                   again + " AND u.id " + cmp + " " + id + "))";
        }
      }
      const std::string lim = number(q.limit);
      const std::string order_by = " ORDER BY u." + column + dir + ", u.id" + dir;
      std::vector<User> users;
      UserRows rows;
      soci::statement st(sql);
      st.alloc();
      rows.bind(st);
      for (const auto& [is_text, i] : order) {
        if (is_text) {
          st.exchange(soci::use(texts[i]));
        } else {
          st.exchange(soci::use(numbers[i]));
        }
      }
      st.prepare("SELECT " + std::string(kUserColumns) + " FROM (SELECT * FROM users u WHERE " +
                 where + order_by + " LIMIT " + lim +
                 ") u LEFT JOIN user_roles r ON r.user_id = u.id" + order_by);
      st.define_and_bind();
      st.execute();
      while (st.fetch()) {
        if (!rows.add_row(users)) return Error::internal("users.search: unknown account state");
      }
      UserRows::finish(users);
      return users;
    });
  }

  Result<std::int64_t> count_with_role(const std::string& role) override {
    using R = Result<std::int64_t>;
    return with_session<R>(db_, "users.count_with_role", [&](soci::session& sql) -> R {
      std::string r = role;
      long long n = 0;
      sql << "SELECT COUNT(*) FROM user_roles WHERE role = :r", soci::use(r), soci::into(n);
      return static_cast<std::int64_t>(n);
    });
  }

  Result<std::vector<std::string>> lock_active_with_role(const std::string& role) override {
    using R = Result<std::vector<std::string>>;
    return with_write_session<R>(db_, "users.lock_active_with_role", [&](soci::session& sql) -> R {
      std::string r = role;
      std::string id;
      soci::statement st =
          (sql.prepare << std::string("SELECT u.id FROM user_roles x JOIN users u ON u.id = "
                                      "x.user_id WHERE x.role = :r AND u.state = 'active' "
                                      "ORDER BY u.id") +
                              (db_.dialect() == Dialect::kSqlite ? "" : " FOR UPDATE"),
           soci::use(r), soci::into(id));
      st.execute();
      std::vector<std::string> ids;
      while (st.fetch()) ids.push_back(id);
      return ids;
    });
  }

  Status set_email_verified(const std::string& id, bool verified, TimePoint at) override {
    return with_write_session<Status>(
        db_, "users.set_email_verified", [&](soci::session& sql) -> Status {
          int flag = verified ? 1 : 0;
          long long updated = to_db(at);
          std::string key = id;
          soci::statement st =
              (sql.prepare
                   << "UPDATE users SET email_verified = :v, updated_at = :at WHERE id = :id",
               soci::use(flag), soci::use(updated), soci::use(key));
          if (execute_count(st) == 0) return not_found("user");
          return {};
        });
  }

 private:
  Result<std::optional<User>> find_one(std::string_view op, std::string_view where,
                                       const std::string& key_value) {
    using R = Result<std::optional<User>>;
    return with_session<R>(db_, op, [&](soci::session& sql) -> R {
      const std::string query = "SELECT " + std::string(kUserColumns) +
                                " FROM users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE " +
                                std::string(where);
      using Q = SelectByKey<UserRows>;  // the rows of one user, one per role
      return with_prepared<Q>(db_, sql, query, [&](Q& q) -> R {
        q.key = key_value;
        std::vector<User> users;
        q.st.execute();
        while (q.st.fetch()) {
          if (!q.row.add_row(users)) {
            return Error::internal(std::string(op) + ": unknown account state");
          }
        }
        if (users.empty()) return std::optional<User>{};
        UserRows::finish(users);
        return std::optional<User>(std::move(users.front()));
      });
    });
  }

  // Sets one text column (by a fixed name, never user input) and updated_at.
  Status update_column(std::string_view op, std::string_view column, const std::string& id,
                       const std::string& value, TimePoint at) {
    return with_write_session<Status>(db_, op, [&](soci::session& sql) -> Status {
      std::string v = value;
      long long updated = to_db(at);
      std::string key = id;
      soci::statement st = (sql.prepare << "UPDATE users SET " + std::string(column) +
                                               " = :v, updated_at = :at WHERE id = :id",
                            soci::use(v), soci::use(updated), soci::use(key));
      if (execute_count(st) == 0) return not_found("user");
      return {};
    });
  }

  Database& db_;
};

}  // namespace

std::unique_ptr<identity::UserRepository> make_user_repository(Database& db) {
  return std::make_unique<SqlUserRepository>(db);
}

}  // namespace latchkey::store
