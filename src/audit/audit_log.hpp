#pragma once
// The queryable audit log: a persistence port for events (implemented in store/ and by a fake in
// tests), and the AuditSink that writes each event to it and as a JSON log line.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"

namespace latchkey::audit {

struct StoredEvent {
  std::string id;  // UUIDv7
  TimePoint at{};
  Event event;
};

// Position in the newest-first order: events strictly older than (at, id) come next.
struct AuditPosition {
  TimePoint at{};
  std::string id;
};

struct AuditQuery {
  std::string subject_id;          // "" = any
  std::string actor_id;            // "" = any
  std::string type;                // "" = any
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // exclusive
  int limit = 50;
  std::optional<AuditPosition> after;
};

class AuditRepository {
 public:
  virtual ~AuditRepository() = default;
  virtual Status append(const StoredEvent& event) = 0;
  // Newest first: ordered by (at, id) descending.
  virtual Result<std::vector<StoredEvent>> query(const AuditQuery& query) = 0;
  // Deletes events older than `before`; returns how many.
  virtual Result<std::int64_t> purge_before(TimePoint before) = 0;
};

// Writes each event as a log line (through `log`) and, once a repository is attached, into it.
// A failed insert is logged as an error (the log line still carries the event); recording never
// throws. attach() happens at start-up, before requests are served.
class StoreAuditSink final : public AuditSink {
 public:
  StoreAuditSink(AuditSink& log, const Clock& clock, Random& random)
      : log_(log), clock_(clock), random_(random) {}
  void attach(AuditRepository* repo) { repo_.store(repo); }
  void record(const Event& event) override;

 private:
  std::atomic<AuditRepository*> repo_{nullptr};
  AuditSink& log_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace latchkey::audit
