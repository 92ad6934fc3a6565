// audit::AuditRepository over SOCI: the audit_events table (migration 0005).

#include <soci/soci.h>

#include <deque>

#include "store/admin_repositories.hpp"
#include "store/sql_support.hpp"

namespace latchkey::store {

namespace {

using audit::StoredEvent;

// INSERT of one event (at every login and most other requests that change something).
struct InsertEvent {
  std::string id, type, outcome, ip, user_agent, details;
  long long at = 0;
  NullableText actor, subject;
  soci::statement st;

  static constexpr std::string_view kQuery =
      "INSERT INTO audit_events (id, occurred_at, event_type, outcome, actor_id, subject_id, ip, "
      "user_agent, details) VALUES (:id, :at, :type, :outcome, :actor, :subject, :ip, :ua, "
      ":details)";

  InsertEvent(soci::session& sql, const std::string& query)
      : st((sql.prepare << query, soci::use(id), soci::use(at), soci::use(type), soci::use(outcome),
            soci::use(actor.value, actor.ind), soci::use(subject.value, subject.ind), soci::use(ip),
            soci::use(user_agent), soci::use(details))) {}

  void set(const StoredEvent& e) {
    id = e.id;
    at = to_db(e.at);
    type = e.event.type;
    outcome = e.event.outcome;
    actor = NullableText::of(e.event.actor_id);
    subject = NullableText::of(e.event.subject_id);
    ip = e.event.ip;
    user_agent = e.event.user_agent;
    details = e.event.details.dump();
  }
};

class SqlAuditRepository final : public audit::AuditRepository {
 public:
  explicit SqlAuditRepository(Database& db) : db_(db) {}

  Status append(const StoredEvent& e) override {
    return with_write_session<Status>(db_, "audit.append", [&](soci::session& sql) -> Status {
      with_prepared<InsertEvent>(db_, sql, InsertEvent::kQuery, [&](InsertEvent& q) {
        q.set(e);
        q.st.execute(true);
      });
      return {};
    });
  }

  Result<std::vector<StoredEvent>> query(const audit::AuditQuery& q) override {
    using R = Result<std::vector<StoredEvent>>;
    if (q.limit <= 0) return std::vector<StoredEvent>{};
    return with_session<R>(db_, "audit.query", [&](soci::session& sql) -> R {
      std::deque<std::string> texts;
      std::deque<long long> numbers;
      std::vector<std::pair<bool, std::size_t>> order;
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
      if (!q.subject_id.empty()) where += " AND subject_id = " + text(q.subject_id);
      if (!q.actor_id.empty()) where += " AND actor_id = " + text(q.actor_id);
      if (!q.type.empty()) where += " AND event_type = " + text(q.type);
      if (q.since) where += " AND occurred_at >= " + number(to_db(*q.since));
      if (q.until) where += " AND occurred_at < " + number(to_db(*q.until));
      if (q.after) {
        const std::string a1 = number(to_db(q.after->at));
        const std::string a2 = number(to_db(q.after->at));
        const std::string id = text(q.after->id);
        where +=
            " AND (occurred_at < " + a1 + " OR (occurred_at = " + a2 + " AND id < " + id + "))";
      }
      const std::string lim = number(q.limit);
      std::string id, type, outcome, ip, ua, details;
      NullableText actor, subject;
      long long at = 0;
      soci::statement st(sql);
      st.alloc();
      st.exchange(soci::into(id));
      st.exchange(soci::into(at));
      st.exchange(soci::into(type));
      st.exchange(soci::into(outcome));
      st.exchange(soci::into(actor.value, actor.ind));
      st.exchange(soci::into(subject.value, subject.ind));
      st.exchange(soci::into(ip));
      st.exchange(soci::into(ua));
      st.exchange(soci::into(details));
      for (const auto& [is_text, i] : order) {
        if (is_text) {
          st.exchange(soci::use(texts[i]));
        } else {
          st.exchange(soci::use(numbers[i]));
        }
      }
      st.prepare(
          "SELECT id, occurred_at, event_type, outcome, actor_id, subject_id, ip, user_agent, "
          "details FROM "
          "audit_events WHERE " +
          where + " ORDER BY occurred_at DESC, id DESC LIMIT " + lim);
      st.define_and_bind();
      st.execute();
      std::vector<StoredEvent> out;
      while (st.fetch()) {
        StoredEvent e;
        e.id = id;
        e.at = from_db(at);
        e.event.type = type;
        e.event.outcome = outcome;
        e.event.actor_id = actor.get();
        e.event.subject_id = subject.get();
        e.event.ip = ip;
        e.event.user_agent = ua;
        e.event.details = nlohmann::json::parse(details, nullptr, /*allow_exceptions=*/false);
        if (e.event.details.is_discarded()) e.event.details = nlohmann::json::object();
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  Result<std::int64_t> purge_before(TimePoint before) override {
    auto n = purge_in_batches(db_, "audit.purge", "audit_events", "id", "occurred_at < :at",
                              to_db(before));
    if (!n) return std::move(n).error();
    return static_cast<std::int64_t>(*n);
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<audit::AuditRepository> make_audit_repository(Database& db) {
  return std::make_unique<SqlAuditRepository>(db);
}

}  // namespace latchkey::store
