#pragma once
// Security-relevant events. For now they are emitted as JSON log lines; the admin issue adds a
// queryable table behind the same interface.

#include <nlohmann/json.hpp>
#include <string>

namespace latchkey::audit {

struct Event {
  std::string type{};        // e.g. "login.succeeded", "refresh.reuse_detected"
  std::string outcome{};     // "success" | "failure"
  std::string actor_id{};    // who did it (user id), empty for anonymous
  std::string subject_id{};  // whom it concerns (user id), empty when unknown
  std::string ip{};
  std::string user_agent{};
  nlohmann::json details = nlohmann::json::object();  // never secrets
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void record(const Event& event) = 0;
};

// Writes each event as a structured log line (msg "audit").
class LogAuditSink final : public AuditSink {
 public:
  void record(const Event& event) override;
};

}  // namespace latchkey::audit
