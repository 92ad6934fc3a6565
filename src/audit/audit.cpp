#include "audit/audit.hpp"

#include "common/log.hpp"

namespace latchkey::audit {

void LogAuditSink::record(const Event& e) {
  log::info("audit", {{"event", e.type},
                      {"outcome", e.outcome},
                      {"actor", e.actor_id},
                      {"subject", e.subject_id},
                      {"ip", e.ip},
                      {"user_agent", e.user_agent},
                      {"details", e.details}});
}

}  // namespace latchkey::audit
