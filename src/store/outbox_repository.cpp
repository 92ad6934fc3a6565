// courier::OutboxRepository over SOCI.
//
// claim() leases rows in one transaction: it selects the due rows, then moves them to `sending`.
// On SQLite the transaction runs on the single writer connection, so claims never overlap. On
// MariaDB and PostgreSQL the selects lock the rows they return with FOR UPDATE SKIP LOCKED, so
// concurrent claimers (other threads, other replicas) skip each other's rows instead of waiting.
// Two selects, each in the order of the (status, next_attempt_at) index, keep the locks to the
// rows read: queued rows that are due, and sending rows whose lease ran out. A claimed row has
// next_attempt_at <= the claim time < lease_until, so `next_attempt_at <= now` holds for every
// expired lease too and bounds the index range. On MariaDB the claim runs at READ COMMITTED,
// which takes no gap locks (they would make concurrent claimers wait on, and deadlock with, each
// other's updates).

#include <soci/soci.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "store/outbox_repository.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using courier::Email;
using courier::OutboxCounts;
using courier::OutboxMessage;
using courier::OutboxStatus;

constexpr std::string_view kColumns =
    "id, channel, payload, status, attempts, next_attempt_at, lease_until, lease_owner, "
    "last_error, created_at, sent_at";

constexpr std::size_t kMaxLastError = 1000;  // bytes; the column is VARCHAR(1000)
constexpr std::size_t kMaxOwner = 64;

// Valid UTF-8 (invalid bytes and NULs become '?') of at most kMaxLastError bytes, cut at a
// character boundary. MariaDB and PostgreSQL refuse invalid UTF-8, and an SMTP reply may hold any
// byte.
std::string clean_last_error(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 1;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    std::string_view piece = s.substr(i, len);
    const bool valid =
        c != 0 && (c < 0x80 || (c >= 0xC2 && piece.size() == len && is_valid_utf8(piece)));
    if (!valid) {
      piece = "?";
      len = 1;
    }
    if (out.size() + piece.size() > kMaxLastError) break;
    out.append(piece);
    i += len;
  }
  return out;
}

nlohmann::json email_to_json(const Email& e) {
  return {{"to", e.to},     {"to_name", e.to_name}, {"subject", e.subject},
          {"text", e.text}, {"html", e.html},       {"template_id", e.template_id}};
}

Result<Email> email_from_json(const std::string& payload, const std::string& id) {
  auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::internal("outbox: payload of " + id + " is not a JSON object");
  }
  Email e;
  for (auto [field, name] : {std::pair{&e.to, "to"},
                             {&e.to_name, "to_name"},
                             {&e.subject, "subject"},
                             {&e.text, "text"},
                             {&e.html, "html"},
                             {&e.template_id, "template_id"}}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    if (!it->is_string()) {
      return Error::internal("outbox: payload of " + id + ": " + name + " is not a string");
    }
    *field = it->get<std::string>();
  }
  return e;
}

nlohmann::json sms_to_json(const courier::Sms& m) {
  return {{"to", m.to}, {"text", m.text}, {"template_id", m.template_id}};
}

Result<courier::Sms> sms_from_json(const std::string& payload, const std::string& id) {
  auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::internal("outbox: payload of " + id + " is not a JSON object");
  }
  courier::Sms m;
  for (auto [field, name] :
       {std::pair{&m.to, "to"}, {&m.text, "text"}, {&m.template_id, "template_id"}}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    if (!it->is_string()) {
      return Error::internal("outbox: payload of " + id + ": " + name + " is not a string");
    }
    *field = it->get<std::string>();
  }
  return m;
}

std::string payload_of(const OutboxMessage& m) {
  return m.channel == courier::kChannelSms ? sms_to_json(m.sms).dump()
                                           : email_to_json(m.email).dump();
}

Error invalid(std::string field, std::string message) {
  return Error::on_field(ErrorCode::kInvalidField, std::move(field), std::move(message));
}

Status check_message(const OutboxMessage& m) {
  if (m.channel != courier::kChannelEmail && m.channel != courier::kChannelSms) {
    return invalid("channel", "channel must be email or sms");
  }
  const bool sms = m.channel == courier::kChannelSms;
  const struct {
    const std::string& value;
    const char* name;
    std::size_t max;
    bool required;
  } fields[] = {{m.id, "id", 36, true},
                {m.channel, "channel", 16, true},
                {courier::recipient_of(m), "to", sms ? 32u : 320u, true},
                {courier::template_of(m), "template_id", 64, false},
                {m.email.to_name, "to_name", 0, false},
                {m.email.subject, "subject", 0, false},
                {sms ? m.sms.text : m.email.text, "text", 0, false},
                {m.email.html, "html", 0, false}};
  for (const auto& f : fields) {
    if (f.required && f.value.empty()) return invalid(f.name, std::string(f.name) + " is empty");
    if (f.max != 0 && f.value.size() > f.max) {
      return invalid(f.name, std::string(f.name) + " is too long");
    }
    if (!is_valid_utf8(f.value)) return invalid(f.name, std::string(f.name) + " is not UTF-8");
  }
  return {};
}

Status check_owner(const std::string& owner) {
  if (owner.empty() || owner.size() > kMaxOwner) {
    return invalid("owner", "a lease owner is 1 to 64 bytes");
  }
  return {};
}

// into() targets for kColumns.
struct OutboxRow {
  std::string id, channel, payload, status;
  int attempts = 0;
  long long next_attempt = 0, created = 0;
  NullableTime lease_until, sent;
  NullableText lease_owner, last_error;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(channel));
    st.exchange(soci::into(payload));
    st.exchange(soci::into(status));
    st.exchange(soci::into(attempts));
    st.exchange(soci::into(next_attempt));
    st.exchange(soci::into(lease_until.value, lease_until.ind));
    st.exchange(soci::into(lease_owner.value, lease_owner.ind));
    st.exchange(soci::into(last_error.value, last_error.ind));
    st.exchange(soci::into(created));
    st.exchange(soci::into(sent.value, sent.ind));
  }

  Result<OutboxMessage> get() const {
    OutboxMessage m;
    m.id = id;
    m.channel = channel;
    if (channel == courier::kChannelSms) {
      auto sms = sms_from_json(payload, id);
      if (!sms) return std::move(sms).error();
      m.sms = std::move(*sms);
    } else {
      auto email = email_from_json(payload, id);
      if (!email) return std::move(email).error();
      m.email = std::move(*email);
    }
    auto s = courier::parse_outbox_status(status);
    if (!s) return Error::internal("outbox: unknown status '" + status + "' of " + id);
    m.status = *s;
    m.attempts = attempts;
    m.next_attempt_at = from_db(next_attempt);
    m.lease_until = lease_until.get();
    m.lease_owner = lease_owner.get();
    m.last_error = last_error.get();
    m.created_at = from_db(created);
    m.sent_at = sent.get();
    return m;
  }
};

class SqlOutboxRepository final : public courier::OutboxRepository {
 public:
  explicit SqlOutboxRepository(Database& db) : db_(db) {}

  Status enqueue(const OutboxMessage& message) override {
    if (auto s = check_message(message); !s) return s;
    return with_write_session<Status>(
        db_, "outbox.enqueue",
        [&](soci::session& sql) -> Status {
          const std::string payload = payload_of(message);
          const std::string status(to_string(OutboxStatus::kQueued));
          const long long next = to_db(message.next_attempt_at);
          const long long created = to_db(message.created_at);
          NullableText error = NullableText::of(clean_last_error(message.last_error));
          sql << "INSERT INTO outbox (id, channel, recipient, template_id, payload, status, "
                 "attempts, next_attempt_at, lease_until, lease_owner, last_error, created_at, "
                 "sent_at) VALUES (:id, :channel, :recipient, :template_id, :payload, :status, "
                 ":attempts, :next, NULL, NULL, :error, :created, NULL)",
              soci::use(message.id), soci::use(message.channel),
              soci::use(courier::recipient_of(message)), soci::use(courier::template_of(message)),
              soci::use(payload), soci::use(status), soci::use(message.attempts), soci::use(next),
              soci::use(error.value, error.ind), soci::use(created);
          return {};
        },
        /*unique_is_conflict=*/true);
  }

  Result<std::vector<OutboxMessage>> claim(TimePoint now, std::chrono::seconds lease, int limit,
                                           const std::string& owner) override {
    using R = Result<std::vector<OutboxMessage>>;
    if (auto s = check_owner(owner); !s) return s.error();
    if (limit <= 0) return std::vector<OutboxMessage>{};
    return with_write_session<R>(db_, "outbox.claim", [&](soci::session& sql) -> R {
      if (db_.dialect() == Dialect::kMysql && ambient_session(db_) == nullptr) {
        sql << "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";  // the next transaction only
      }
      Transaction tx(db_, sql);
      const long long at = to_db(now);
      auto queued = select_due(sql, "status = 'queued' AND next_attempt_at <= :now1", at, limit);
      if (!queued) return queued;
      auto expired = select_due(sql,
                                "status = 'sending' AND next_attempt_at <= :now1 AND "
                                "lease_until <= :now2",
                                at, limit);
      if (!expired) return expired;
      std::vector<OutboxMessage> due = std::move(*queued);
      due.insert(due.end(), std::make_move_iterator(expired->begin()),
                 std::make_move_iterator(expired->end()));
      std::sort(due.begin(), due.end(), [](const OutboxMessage& a, const OutboxMessage& b) {
        return a.next_attempt_at != b.next_attempt_at ? a.next_attempt_at < b.next_attempt_at
                                                      : a.id < b.id;
      });
      if (due.size() > static_cast<std::size_t>(limit)) due.resize(limit);

      const TimePoint until = from_db(to_db(now + lease));
      const long long until_db = to_db(until);
      std::string key;
      std::string who = owner;
      long long now1 = at, now2 = at;
      // The row is locked (or the writer is ours): the guard only restates what was selected.
      soci::statement take =
          (sql.prepare << "UPDATE outbox SET status = 'sending', lease_until = :until, "
                          "lease_owner = :owner WHERE id = :id AND ((status = 'queued' AND "
                          "next_attempt_at <= :now1) OR (status = 'sending' AND "
                          "lease_until <= :now2))",
           soci::use(until_db), soci::use(who), soci::use(key), soci::use(now1), soci::use(now2));
      std::vector<OutboxMessage> out;
      for (auto& m : due) {
        key = m.id;
        if (execute_count(take) != 1) continue;
        m.status = OutboxStatus::kSending;
        m.lease_until = until;
        m.lease_owner = owner;
        out.push_back(std::move(m));
      }
      tx.commit();
      return out;
    });
  }

  Result<bool> mark_sent(const std::string& id, const std::string& owner, int attempts,
                         TimePoint at) override {
    return with_write_session<Result<bool>>(
        db_, "outbox.mark_sent", [&](soci::session& sql) -> Result<bool> {
          long long sent = to_db(at);
          int n = attempts;
          std::string key = id, who = owner;
          soci::statement st =
              (sql.prepare << "UPDATE outbox SET status = 'sent', attempts = :attempts, "
                              "sent_at = :sent, lease_until = NULL WHERE id = :id AND "
                              "status = 'sending' AND lease_owner = :owner",
               soci::use(n), soci::use(sent), soci::use(key), soci::use(who));
          return execute_count(st) == 1;
        });
  }

  Result<bool> mark_retry(const std::string& id, const std::string& owner, int attempts,
                          TimePoint next_attempt_at, const std::string& error) override {
    return with_write_session<Result<bool>>(
        db_, "outbox.mark_retry", [&](soci::session& sql) -> Result<bool> {
          long long next = to_db(next_attempt_at);
          int n = attempts;
          std::string key = id, who = owner;
          NullableText why = NullableText::of(clean_last_error(error));
          soci::statement st =
              (sql.prepare << "UPDATE outbox SET status = 'queued', attempts = :attempts, "
                              "next_attempt_at = :next, last_error = :error, lease_until = NULL, "
                              "lease_owner = NULL WHERE id = :id AND status = 'sending' AND "
                              "lease_owner = :owner",
               soci::use(n), soci::use(next), soci::use(why.value, why.ind), soci::use(key),
               soci::use(who));
          return execute_count(st) == 1;
        });
  }

  Result<bool> mark_dead(const std::string& id, const std::string& owner, int attempts,
                         const std::string& error) override {
    return with_write_session<Result<bool>>(
        db_, "outbox.mark_dead", [&](soci::session& sql) -> Result<bool> {
          int n = attempts;
          std::string key = id, who = owner;
          NullableText why = NullableText::of(clean_last_error(error));
          soci::statement st =
              (sql.prepare << "UPDATE outbox SET status = 'dead', attempts = :attempts, "
                              "last_error = :error, lease_until = NULL WHERE id = :id AND "
                              "status = 'sending' AND lease_owner = :owner",
               soci::use(n), soci::use(why.value, why.ind), soci::use(key), soci::use(who));
          return execute_count(st) == 1;
        });
  }

  Result<std::optional<OutboxMessage>> find(const std::string& id) override {
    using R = Result<std::optional<OutboxMessage>>;
    return with_session<R>(db_, "outbox.find", [&](soci::session& sql) -> R {
      std::string key = id;
      OutboxRow row;
      soci::statement st(sql);
      st.alloc();
      row.bind(st);
      st.exchange(soci::use(key));
      st.prepare("SELECT " + std::string(kColumns) + " FROM outbox WHERE id = :id");
      st.define_and_bind();
      if (!st.execute(true)) return std::optional<OutboxMessage>{};
      auto m = row.get();
      if (!m) return std::move(m).error();
      return std::optional<OutboxMessage>(std::move(*m));
    });
  }

  Result<OutboxCounts> counts() override {
    return with_session<Result<OutboxCounts>>(
        db_, "outbox.counts", [&](soci::session& sql) -> Result<OutboxCounts> {
          std::string status;
          long long n = 0;
          soci::statement st =
              (sql.prepare << "SELECT status, COUNT(*) FROM outbox GROUP BY status",
               soci::into(status), soci::into(n));
          st.execute();
          OutboxCounts out;
          while (st.fetch()) {
            switch (courier::parse_outbox_status(status).value_or(OutboxStatus::kQueued)) {
              case OutboxStatus::kQueued:
              case OutboxStatus::kSending:
                out.queued += n;
                break;
              case OutboxStatus::kSent:
                out.sent += n;
                break;
              case OutboxStatus::kDead:
                out.dead += n;
                break;
            }
          }
          return out;
        });
  }

  Result<int> purge_sent(TimePoint before) override {
    auto n = purge_in_batches(db_, "outbox.purge_sent", "outbox", "id",
                              "status = 'sent' AND sent_at < :at", to_db(before));
    if (!n) return std::move(n).error();
    return static_cast<int>(*n);
  }

 private:
  // Up to `limit` rows matching `where` (with :now1 and, when present, :now2 bound to `now`),
  // oldest due first; locked for this transaction on MariaDB and PostgreSQL.
  Result<std::vector<OutboxMessage>> select_due(soci::session& sql, std::string_view where,
                                                long long now, int limit) {
    long long now1 = now, now2 = now;
    int n = limit;
    OutboxRow row;
    soci::statement st(sql);
    st.alloc();
    row.bind(st);
    st.exchange(soci::use(now1));
    if (where.find(":now2") != std::string_view::npos) st.exchange(soci::use(now2));
    st.exchange(soci::use(n));
    std::string query = "SELECT " + std::string(kColumns) + " FROM outbox WHERE " +
                        std::string(where) + " ORDER BY next_attempt_at, id LIMIT :limit";
    if (db_.dialect() != Dialect::kSqlite) query += " FOR UPDATE SKIP LOCKED";
    st.prepare(query);
    st.define_and_bind();
    st.execute();
    std::vector<OutboxMessage> out;
    while (st.fetch()) {
      auto m = row.get();
      if (!m) return std::move(m).error();
      out.push_back(std::move(*m));
    }
    return out;
  }

  Database& db_;
};

}  // namespace

std::unique_ptr<courier::OutboxRepository> make_outbox_repository(Database& db) {
  return std::make_unique<SqlOutboxRepository>(db);
}

}  // namespace latchkey::store
