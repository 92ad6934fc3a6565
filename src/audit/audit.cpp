#include "audit/audit.hpp"

#include "common/log.hpp"

namespace latchkey::audit {

void LogAuditSink::record(const Event& e) {
  if (!log::enabled(log::Level::kInfo)) return;  // not even the fields are built
  log::info("audit", {{"event", e.type},
                      {"outcome", e.outcome},
                      {"actor", e.actor_id},
                      {"subject", e.subject_id},
                      {"ip", e.ip},
                      {"user_agent", e.user_agent},
                      {"details", e.details}});
}

}  // namespace latchkey::audit

// --- the store-backed sink ---

#include "audit/audit_log.hpp"
#include "common/ids.hpp"

namespace latchkey::audit {

namespace {

// Column widths of audit_events (migration 0005).
std::string clip(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // keep UTF-8 whole
  return s.substr(0, n);
}

}  // namespace

void StoreAuditSink::record(const Event& e) {
  log_.record(e);
  AuditRepository* repo = repo_.load();
  if (repo == nullptr) return;
  StoredEvent stored{new_uuid_v7(clock_, random_), clock_.now(), e};
  stored.event.type = clip(e.type, 64);
  stored.event.outcome = clip(e.outcome, 16);
  stored.event.ip = clip(e.ip, 64);
  stored.event.user_agent = clip(e.user_agent, 512);
  Status st = Error::internal("audit: not written");
  try {
    st = repo->append(stored);
  } catch (const std::exception& ex) {
    st = Error::internal(ex.what());
  }
  if (!st) {
    log::error("audit event not stored",
               {{"event", e.type}, {"id", stored.id}, {"detail", st.error().log_detail}});
  }
}

}  // namespace latchkey::audit
