#pragma once
// The transactional outbox: a message is queued in the same database transaction as the change
// that causes it (inside a UnitOfWork) and delivered later by the Dispatcher, never inside the
// request. Implemented in store/ (outbox table) and by a fake in tests.
//
// Life of a message: queued --claim()--> sending (leased to one dispatcher until lease_until)
//   --mark_sent()--> sent
//   --mark_retry()--> queued again with a later next_attempt_at
//   --mark_dead()--> dead (attempts exhausted or a permanent failure; last_error kept)
// A lease that runs out (the dispatcher died mid-send) makes the message claimable again.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "courier/message.hpp"

namespace latchkey::courier {

enum class OutboxStatus { kQueued, kSending, kSent, kDead };

std::string_view to_string(OutboxStatus s) noexcept;
std::optional<OutboxStatus> parse_outbox_status(std::string_view s) noexcept;

struct OutboxMessage {
  std::string id;                 // UUIDv7
  std::string channel = "email";  // "email" (in `email`) or "sms" (in `sms`)
  Email email;                    // fully rendered
  Sms sms;
  OutboxStatus status = OutboxStatus::kQueued;
  int attempts = 0;             // delivery attempts made so far
  TimePoint next_attempt_at{};  // not before
  std::optional<TimePoint> lease_until;
  std::string lease_owner;
  std::string last_error;  // for operators; never a secret
  TimePoint created_at{};
  std::optional<TimePoint> sent_at;
};

inline constexpr std::string_view kChannelEmail = "email";
inline constexpr std::string_view kChannelSms = "sms";

// The recipient and template of a message, whichever its channel.
inline const std::string& recipient_of(const OutboxMessage& m) {
  return m.channel == kChannelSms ? m.sms.to : m.email.to;
}
inline const std::string& template_of(const OutboxMessage& m) {
  return m.channel == kChannelSms ? m.sms.template_id : m.email.template_id;
}

struct OutboxCounts {
  std::int64_t queued = 0;  // queued or sending
  std::int64_t sent = 0;
  std::int64_t dead = 0;
};

class OutboxRepository {
 public:
  virtual ~OutboxRepository() = default;

  // Inserts a queued message. Joins the caller's UnitOfWork when there is one.
  virtual Status enqueue(const OutboxMessage& message) = 0;
  // Leases up to `limit` due messages to `owner` until now + lease: queued ones with
  // next_attempt_at <= now, and sending ones whose lease ran out, oldest due first. Each message
  // is leased to one owner at a time, even with several dispatchers on several replicas
  // (FOR UPDATE SKIP LOCKED on MariaDB/PostgreSQL; one writer on SQLite). Returned messages are
  // in status sending with the new lease.
  virtual Result<std::vector<OutboxMessage>> claim(TimePoint now, std::chrono::seconds lease,
                                                   int limit, const std::string& owner) = 0;
  // The following apply only while `owner` still holds the lease (status sending, lease_owner
  // = owner); otherwise they change nothing and return false.
  virtual Result<bool> mark_sent(const std::string& id, const std::string& owner, int attempts,
                                 TimePoint at) = 0;
  virtual Result<bool> mark_retry(const std::string& id, const std::string& owner, int attempts,
                                  TimePoint next_attempt_at, const std::string& error) = 0;
  virtual Result<bool> mark_dead(const std::string& id, const std::string& owner, int attempts,
                                 const std::string& error) = 0;
  virtual Result<std::optional<OutboxMessage>> find(const std::string& id) = 0;
  virtual Result<OutboxCounts> counts() = 0;
  // Deletes sent messages older than `before`. Returns rows removed.
  virtual Result<int> purge_sent(TimePoint before) = 0;
};

}  // namespace latchkey::courier
