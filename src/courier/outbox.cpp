#include "courier/outbox.hpp"

namespace latchkey::courier {

// Stored in outbox.status: never change an existing string.
std::string_view to_string(OutboxStatus s) noexcept {
  switch (s) {
    case OutboxStatus::kQueued:
      return "queued";
    case OutboxStatus::kSending:
      return "sending";
    case OutboxStatus::kSent:
      return "sent";
    case OutboxStatus::kDead:
      return "dead";
  }
  return "queued";
}

std::optional<OutboxStatus> parse_outbox_status(std::string_view s) noexcept {
  for (auto status :
       {OutboxStatus::kQueued, OutboxStatus::kSending, OutboxStatus::kSent, OutboxStatus::kDead}) {
    if (to_string(status) == s) return status;
  }
  return std::nullopt;
}

}  // namespace latchkey::courier
