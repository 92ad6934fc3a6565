// sessions::SessionRepository over SOCI. rotate() is on the refresh hot path: one transaction of
// three indexed single-row statements.

#include <soci/soci.h>

#include <tuple>

#include "store/repositories.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using sessions::RefreshToken;
using sessions::Session;

constexpr std::string_view kSessionColumns =
    "id, user_id, created_at, last_used_at, expires_at, auth_time, amr, ip, user_agent, "
    "revoked_at, revoke_reason";

std::string join_amr(const std::vector<std::string>& amr) {
  std::string out;
  for (const auto& m : amr) {
    if (m.empty()) continue;
    if (!out.empty()) out += ' ';
    out += m;
  }
  return out;
}

std::vector<std::string> split_amr(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto sp = text.find(' ', pos);
    if (sp == std::string::npos) sp = text.size();
    if (sp > pos) out.push_back(text.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

// into() targets for kSessionColumns.
struct SessionRow {
  std::string id, user_id, amr, ip, user_agent;
  long long created = 0, last_used = 0, expires = 0, auth_time = 0;
  NullableTime revoked;
  NullableText reason;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(created));
    st.exchange(soci::into(last_used));
    st.exchange(soci::into(expires));
    st.exchange(soci::into(auth_time));
    st.exchange(soci::into(amr));
    st.exchange(soci::into(ip));
    st.exchange(soci::into(user_agent));
    st.exchange(soci::into(revoked.value, revoked.ind));
    st.exchange(soci::into(reason.value, reason.ind));
  }

  void set(const Session& s) {
    id = s.id;
    user_id = s.user_id;
    created = to_db(s.created_at);
    last_used = to_db(s.last_used_at);
    expires = to_db(s.expires_at);
    auth_time = to_db(s.auth_time);
    amr = join_amr(s.amr);
    ip = s.ip;
    user_agent = s.user_agent;
    revoked = NullableTime::of(s.revoked_at);
    reason = NullableText::of(s.revoke_reason);
  }

  Session get() const {
    Session s;
    s.id = id;
    s.user_id = user_id;
    s.created_at = from_db(created);
    s.last_used_at = from_db(last_used);
    s.expires_at = from_db(expires);
    s.auth_time = from_db(auth_time);
    s.amr = split_amr(amr);
    s.ip = ip;
    s.user_agent = user_agent;
    s.revoked_at = revoked.get();
    s.revoke_reason = reason.get();
    return s;
  }
};

// INSERT of one session (at every login).
struct InsertSession {
  SessionRow row;
  soci::statement st;

  InsertSession(soci::session& sql, const std::string& query)
      : st((sql.prepare << query, soci::use(row.id), soci::use(row.user_id), soci::use(row.created),
            soci::use(row.last_used), soci::use(row.expires), soci::use(row.auth_time),
            soci::use(row.amr), soci::use(row.ip), soci::use(row.user_agent),
            soci::use(row.revoked.value, row.revoked.ind),
            soci::use(row.reason.value, row.reason.ind))) {}
};

const std::string kInsertSession =
    "INSERT INTO sessions (" + std::string(kSessionColumns) +
    ") VALUES (:id, :uid, :created, :last_used, :expires, :auth_time, :amr, :ip, :ua, :revoked, "
    ":reason)";

// The columns of a refresh_tokens row, bound by the statements that write and read one.
struct RefreshRow {
  std::string hash, session_id, user_id;
  long long created = 0, expires = 0;
  NullableTime rotated;
  NullableText successor;

  void set(const RefreshToken& t) {
    hash = t.hash;
    session_id = t.session_id;
    user_id = t.user_id;
    created = to_db(t.created_at);
    expires = to_db(t.expires_at);
    rotated = NullableTime::of(t.rotated_at);
    successor = NullableText::of(t.successor_sealed);
  }

  // into() targets, in the column order of kFindRefresh.
  void bind(soci::statement& st) {
    st.exchange(soci::into(hash));
    st.exchange(soci::into(session_id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(created));
    st.exchange(soci::into(expires));
    st.exchange(soci::into(rotated.value, rotated.ind));
    st.exchange(soci::into(successor.value, successor.ind));
  }

  RefreshToken get() const {
    RefreshToken t;
    t.hash = hash;
    t.session_id = session_id;
    t.user_id = user_id;
    t.created_at = from_db(created);
    t.expires_at = from_db(expires);
    t.rotated_at = rotated.get();
    t.successor_sealed = successor.get();
    return t;
  }
};

// INSERT of one refresh token.
struct InsertRefresh {
  RefreshRow row;
  soci::statement st;

  static constexpr std::string_view kQuery =
      "INSERT INTO refresh_tokens (hash, session_id, user_id, created_at, expires_at, rotated_at, "
      "successor_sealed) VALUES (:hash, :sid, :uid, :created, :expires, :rotated, :successor)";

  InsertRefresh(soci::session& sql, const std::string& query)
      : st((sql.prepare << query, soci::use(row.hash), soci::use(row.session_id),
            soci::use(row.user_id), soci::use(row.created), soci::use(row.expires),
            soci::use(row.rotated.value, row.rotated.ind),
            soci::use(row.successor.value, row.successor.ind))) {}
};

void insert_refresh(Database& db, soci::session& sql, const RefreshToken& t) {
  with_prepared<InsertRefresh>(db, sql, InsertRefresh::kQuery, [&](InsertRefresh& q) {
    q.row.set(t);
    q.st.execute(true);
  });
}

constexpr std::string_view kFindRefresh =
    "SELECT hash, session_id, user_id, created_at, expires_at, rotated_at, successor_sealed "
    "FROM refresh_tokens WHERE hash = :hash";

// The compare-and-set of a rotation: marks the presented token used, if nobody did before.
struct MarkRotated {
  long long at = 0;
  std::string sealed, hash;
  soci::statement st;

  static constexpr std::string_view kQuery =
      "UPDATE refresh_tokens SET rotated_at = :at, successor_sealed = :sealed WHERE hash = :hash "
      "AND rotated_at IS NULL";

  MarkRotated(soci::session& sql, const std::string& query)
      : st((sql.prepare << query, soci::use(at), soci::use(sealed), soci::use(hash))) {}
};

struct TouchSession {
  long long at = 0;
  std::string ip, user_agent, id;
  soci::statement st;

  static constexpr std::string_view kQuery =
      "UPDATE sessions SET last_used_at = :at, ip = :ip, user_agent = :ua WHERE id = :id";

  TouchSession(soci::session& sql, const std::string& query)
      : st((sql.prepare << query, soci::use(at), soci::use(ip), soci::use(user_agent),
            soci::use(id))) {}
};

class SqlSessionRepository final : public sessions::SessionRepository {
 public:
  explicit SqlSessionRepository(Database& db) : db_(db) {}

  Status create(const Session& session, const RefreshToken& first) override {
    return with_write_session<Status>(
        db_, "sessions.create",
        [&](soci::session& sql) -> Status {
          Transaction tx(db_, sql);
          with_prepared<InsertSession>(db_, sql, kInsertSession, [&](InsertSession& q) {
            q.row.set(session);
            q.st.execute(true);
          });
          insert_refresh(db_, sql, first);
          tx.commit();
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Result<std::optional<Session>> find(const std::string& session_id) override {
    using R = Result<std::optional<Session>>;
    return with_session<R>(db_, "sessions.find", [&](soci::session& sql) -> R {
      static const std::string kQuery =
          "SELECT " + std::string(kSessionColumns) + " FROM sessions WHERE id = :id";
      using Q = SelectByKey<SessionRow>;
      return with_prepared<Q>(db_, sql, kQuery, [&](Q& q) -> R {
        q.key = session_id;
        if (!q.st.execute(true)) return std::optional<Session>{};
        return std::optional<Session>(q.row.get());
      });
    });
  }

  Result<std::vector<Session>> list_active(const std::string& user_id, TimePoint now) override {
    using R = Result<std::vector<Session>>;
    return with_session<R>(db_, "sessions.list_active", [&](soci::session& sql) -> R {
      std::string key = user_id;
      long long at = to_db(now);
      SessionRow row;
      soci::statement st(sql);
      st.alloc();
      row.bind(st);
      st.exchange(soci::use(key));
      st.exchange(soci::use(at));
      st.prepare("SELECT " + std::string(kSessionColumns) +
                 " FROM sessions WHERE user_id = :uid AND revoked_at IS NULL AND "
                 "expires_at > :now ORDER BY created_at DESC, id DESC");
      st.define_and_bind();
      st.execute();
      std::vector<Session> out;
      while (st.fetch()) out.push_back(row.get());
      return out;
    });
  }

  Result<std::optional<RefreshToken>> find_refresh(const std::string& hash) override {
    using R = Result<std::optional<RefreshToken>>;
    return with_session<R>(db_, "sessions.find_refresh", [&](soci::session& sql) -> R {
      using Q = SelectByKey<RefreshRow>;
      return with_prepared<Q>(db_, sql, kFindRefresh, [&](Q& q) -> R {
        q.key = hash;
        if (!q.st.execute(true)) return std::optional<RefreshToken>{};
        return std::optional<RefreshToken>(q.row.get());
      });
    });
  }

  Result<bool> rotate(const std::string& old_hash, const std::string& successor_sealed,
                      const RefreshToken& next, TimePoint now, const std::string& ip,
                      const std::string& user_agent, bool touch) override {
    return with_write_session<Result<bool>>(
        db_, "sessions.rotate",
        [&](soci::session& sql) -> Result<bool> {
          Transaction tx(db_, sql);
          // Compare and set: only the first of concurrent rotations matches a row.
          const bool marked =
              with_prepared<MarkRotated>(db_, sql, MarkRotated::kQuery, [&](MarkRotated& q) {
                q.at = to_db(now);
                q.sealed = successor_sealed;
                q.hash = old_hash;
                return execute_count(q.st) == 1;
              });
          if (!marked) {
            tx.rollback();
            return false;
          }
          insert_refresh(db_, sql, next);
          if (touch) {
            with_prepared<TouchSession>(db_, sql, TouchSession::kQuery, [&](TouchSession& q) {
              q.at = to_db(now);
              q.ip = ip;
              q.user_agent = user_agent;
              q.id = next.session_id;
              q.st.execute(true);
            });
          }
          tx.commit();
          return true;
        },
        /*unique_is_conflict=*/true);
  }

  Result<bool> revoke(const std::string& session_id, TimePoint now,
                      const std::string& reason) override {
    return with_write_session<Result<bool>>(
        db_, "sessions.revoke", [&](soci::session& sql) -> Result<bool> {
          Transaction tx(db_, sql);
          std::string key = session_id;
          long long at = to_db(now);
          std::string why = reason;
          long long expires = 0;
          soci::indicator found = soci::i_null;
          sql << "SELECT expires_at FROM sessions WHERE id = :id AND revoked_at IS NULL" +
                     std::string(db_.dialect() == Dialect::kSqlite ? "" : " FOR UPDATE"),
              soci::use(key), soci::into(expires, found);
          if (!sql.got_data()) return false;  // unknown or already revoked
          sql << "UPDATE sessions SET revoked_at = :at, revoke_reason = :reason "
                 "WHERE id = :id AND revoked_at IS NULL",
              soci::use(at), soci::use(why), soci::use(key);
          tx.commit();
          return at < expires;  // it was active before: not revoked and not expired
        });
  }

  Result<std::vector<std::string>> revoke_all(
      const std::string& user_id, TimePoint now, const std::string& reason,
      const std::optional<std::string>& except_session_id) override {
    using R = Result<std::vector<std::string>>;
    return with_session<R>(db_, "sessions.revoke_all", [&](soci::session& sql) -> R {
      Transaction tx(db_, sql);
      std::string key = user_id;
      long long at = to_db(now);
      std::string why = reason;
      // An id no session has ("" is never a UUID) when nothing is excepted.
      std::string except = except_session_id.value_or(std::string());
      std::vector<std::string> ids;
      std::string id;
      soci::statement sel =
          (sql.prepare << "SELECT id FROM sessions WHERE user_id = :uid AND revoked_at IS NULL "
                          "AND id <> :except ORDER BY id" +
                              std::string(db_.dialect() == Dialect::kSqlite ? "" : " FOR UPDATE"),
           soci::use(key), soci::use(except), soci::into(id));
      sel.execute();
      while (sel.fetch()) ids.push_back(id);
      if (!ids.empty()) {
        sql << "UPDATE sessions SET revoked_at = :at, revoke_reason = :reason "
               "WHERE user_id = :uid AND revoked_at IS NULL AND id <> :except",
            soci::use(at), soci::use(why), soci::use(key), soci::use(except);
      }
      tx.commit();
      return ids;
    });
  }

  Result<std::vector<sessions::RevokedSession>> revoked_since(TimePoint since, int limit) override {
    using R = Result<std::vector<sessions::RevokedSession>>;
    return with_session<R>(db_, "sessions.revoked_since", [&](soci::session& sql) -> R {
      long long from = to_db(since);
      int n = limit;
      std::string id;
      long long at = 0;
      std::vector<sessions::RevokedSession> out;
      soci::statement st =
          (sql.prepare << "SELECT id, revoked_at FROM sessions WHERE revoked_at >= :since "
                          "ORDER BY revoked_at DESC LIMIT :n",
           soci::use(from), soci::use(n), soci::into(id), soci::into(at));
      st.execute();
      while (st.fetch()) out.push_back({id, from_db(at)});
      return out;
    });
  }

  Result<int> purge_expired(TimePoint before) override {
    const long long at = to_db(before);
    // Tokens of expiring sessions first (whatever the FKs), then expired tokens of live
    // sessions, then the sessions: a session goes only once none of its tokens is left. An
    // expired session gets no new token, so a purge cut short leaves nothing inconsistent.
    long long n = 0;
    for (const auto& [table, key, where] : {
             std::tuple{"refresh_tokens", "hash",
                        "session_id IN (SELECT id FROM sessions WHERE expires_at < :at)"},
             std::tuple{"refresh_tokens", "hash", "expires_at < :at"},
             std::tuple{"sessions", "id", "expires_at < :at"},
         }) {
      auto deleted = purge_in_batches(db_, "sessions.purge_expired", table, key, where, at);
      if (!deleted) return std::move(deleted).error();
      n += *deleted;
    }
    return static_cast<int>(n);
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<sessions::SessionRepository> make_session_repository(Database& db) {
  return std::make_unique<SqlSessionRepository>(db);
}

}  // namespace latchkey::store
