#pragma once
// In-memory fakes of the courier ports, for unit tests. Header-only; not linked into the server.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/encoding.hpp"
#include "courier/message.hpp"
#include "courier/outbox.hpp"

namespace latchkey::testing {

// courier::OutboxRepository in memory, with the semantics of the SQL one (store/
// outbox_repository.hpp): enqueue stores a queued message without a lease (kConflict on a
// duplicate id, kInvalidField on an empty or overlong id/channel/to/template_id or text that is
// not UTF-8); claim leases due messages oldest first (next_attempt_at, then id); mark_* only
// while the owner holds the lease; mark_sent/mark_dead keep lease_owner and clear lease_until,
// mark_retry clears both; last_error is cut to 1000 bytes at a character boundary. No
// transactions: inside a FakeUnitOfWork an enqueue is not rolled back.
//
// `fail_next` makes the next calls (any method) fail with kUnavailable, as a database outage.
class FakeOutboxRepository final : public courier::OutboxRepository {
 public:
  Status enqueue(const courier::OutboxMessage& message) override {
    std::lock_guard lock(mutex_);
    if (auto e = outage()) return *e;
    const struct {
      const std::string& value;
      const char* name;
      std::size_t max;
    } fields[] = {{message.id, "id", 36},
                  {message.channel, "channel", 16},
                  {courier::recipient_of(message), "to", 320},
                  {courier::template_of(message), "template_id", 64},
                  {message.email.to_name, "to_name", 0},
                  {message.email.subject, "subject", 0},
                  {message.email.text, "text", 0},
                  {message.sms.text, "sms_text", 0},
                  {message.email.html, "html", 0}};
    if (message.channel != courier::kChannelEmail && message.channel != courier::kChannelSms) {
      return Error::on_field(ErrorCode::kInvalidField, "channel", "channel invalid");
    }
    for (const auto& f : fields) {
      const bool required = f.max != 0 && std::string_view(f.name) != "template_id";
      if ((required && f.value.empty()) || (f.max != 0 && f.value.size() > f.max) ||
          !is_valid_utf8(f.value)) {
        return Error::on_field(ErrorCode::kInvalidField, f.name, std::string(f.name) + " invalid");
      }
    }
    if (messages_.count(message.id) != 0) return Error::make(ErrorCode::kConflict, "exists");
    courier::OutboxMessage m = message;
    m.status = courier::OutboxStatus::kQueued;
    m.lease_until.reset();
    m.lease_owner.clear();
    m.sent_at.reset();
    m.last_error = cut(m.last_error);
    messages_[m.id] = std::move(m);
    return {};
  }

  Result<std::vector<courier::OutboxMessage>> claim(TimePoint now, std::chrono::seconds lease,
                                                    int limit, const std::string& owner) override {
    std::lock_guard lock(mutex_);
    if (auto e = outage()) return *e;
    if (owner.empty() || owner.size() > 64) {
      return Error::on_field(ErrorCode::kInvalidField, "owner", "a lease owner is 1 to 64 bytes");
    }
    ++claims;
    std::vector<courier::OutboxMessage*> due;
    for (auto& [id, m] : messages_) {
      const bool queued_due =
          m.status == courier::OutboxStatus::kQueued && m.next_attempt_at <= now;
      const bool lease_over =
          m.status == courier::OutboxStatus::kSending && m.lease_until && *m.lease_until <= now;
      if (queued_due || lease_over) due.push_back(&m);
    }
    std::sort(due.begin(), due.end(), [](const auto* a, const auto* b) {
      return a->next_attempt_at != b->next_attempt_at ? a->next_attempt_at < b->next_attempt_at
                                                      : a->id < b->id;
    });
    std::vector<courier::OutboxMessage> out;
    for (auto* m : due) {
      if (static_cast<int>(out.size()) >= limit) break;
      m->status = courier::OutboxStatus::kSending;
      m->lease_until = now + lease;
      m->lease_owner = owner;
      out.push_back(*m);
    }
    return out;
  }

  Result<bool> mark_sent(const std::string& id, const std::string& owner, int attempts,
                         TimePoint at) override {
    return mark(id, owner, [&](courier::OutboxMessage& m) {
      m.status = courier::OutboxStatus::kSent;
      m.attempts = attempts;
      m.sent_at = at;
      m.lease_until.reset();
    });
  }

  Result<bool> mark_retry(const std::string& id, const std::string& owner, int attempts,
                          TimePoint next_attempt_at, const std::string& error) override {
    return mark(id, owner, [&](courier::OutboxMessage& m) {
      m.status = courier::OutboxStatus::kQueued;
      m.attempts = attempts;
      m.next_attempt_at = next_attempt_at;
      m.last_error = cut(error);
      m.lease_until.reset();
      m.lease_owner.clear();
    });
  }

  Result<bool> mark_dead(const std::string& id, const std::string& owner, int attempts,
                         const std::string& error) override {
    return mark(id, owner, [&](courier::OutboxMessage& m) {
      m.status = courier::OutboxStatus::kDead;
      m.attempts = attempts;
      m.last_error = cut(error);
      m.lease_until.reset();
    });
  }

  Result<std::optional<courier::OutboxMessage>> find(const std::string& id) override {
    std::lock_guard lock(mutex_);
    if (auto e = outage()) return *e;
    auto it = messages_.find(id);
    if (it == messages_.end()) return std::optional<courier::OutboxMessage>();
    return std::optional<courier::OutboxMessage>(it->second);
  }

  Result<courier::OutboxCounts> counts() override {
    std::lock_guard lock(mutex_);
    if (auto e = outage()) return *e;
    courier::OutboxCounts c;
    for (const auto& [id, m] : messages_) {
      switch (m.status) {
        case courier::OutboxStatus::kQueued:
        case courier::OutboxStatus::kSending:
          ++c.queued;
          break;
        case courier::OutboxStatus::kSent:
          ++c.sent;
          break;
        case courier::OutboxStatus::kDead:
          ++c.dead;
          break;
      }
    }
    return c;
  }

  Result<int> purge_sent(TimePoint before) override {
    std::lock_guard lock(mutex_);
    if (auto e = outage()) return *e;
    int n = 0;
    for (auto it = messages_.begin(); it != messages_.end();) {
      if (it->second.status == courier::OutboxStatus::kSent && it->second.sent_at &&
          *it->second.sent_at < before) {
        it = messages_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  // The message as stored (a copy); a default OutboxMessage with an empty id when unknown.
  courier::OutboxMessage get(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = messages_.find(id);
    return it == messages_.end() ? courier::OutboxMessage{} : it->second;
  }

  mutable std::mutex mutex_;
  int fail_next = 0;  // guarded by mutex_
  int claims = 0;     // successful claim() calls; guarded by mutex_

 private:
  std::optional<Error> outage() {
    if (fail_next <= 0) return std::nullopt;
    --fail_next;
    return Error{ErrorCode::kUnavailable, "database unavailable", {}, 1, "fake outbox outage"};
  }

  template <typename F>
  Result<bool> mark(const std::string& id, const std::string& owner, F&& change) {
    std::lock_guard lock(mutex_);
    if (auto e = outage()) return *e;
    auto it = messages_.find(id);
    if (it == messages_.end() || it->second.status != courier::OutboxStatus::kSending ||
        it->second.lease_owner != owner) {
      return false;
    }
    change(it->second);
    return true;
  }

  // At most 1000 bytes, cut before a UTF-8 continuation byte.
  static std::string cut(const std::string& s) {
    if (s.size() <= 1000) return s;
    std::size_t n = 1000;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
  }

  std::map<std::string, courier::OutboxMessage> messages_;
};

// courier::EmailChannel that records deliveries. fail_transient(n) / fail_permanent(n) make the
// next n sends fail (kUnavailable, as an SMTP 4xx / the given code, as an SMTP 5xx); `on_send`,
// when set, runs at the start of every send (outside the lock), e.g. to block or to observe.
class FakeEmailChannel final : public courier::EmailChannel {
 public:
  struct Delivery {
    courier::Email email;
    std::string message_id;
  };

  Status send(const courier::Email& email, const std::string& message_id) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      ++attempts_;
      hook = on_send_;
    }
    if (hook) hook();
    std::lock_guard lock(mutex_);
    if (transient_ > 0) {
      --transient_;
      return Error{ErrorCode::kUnavailable,
                   "mail server unavailable",
                   {},
                   {},
                   "smtp: 421 4.3.2 try again later"};
    }
    if (permanent_ > 0) {
      --permanent_;
      return Error{permanent_code_, "mailbox unavailable", {}, {}, "smtp: 550 5.1.1 no such user"};
    }
    delivered_.push_back({email, message_id});
    return {};
  }

  void fail_transient(int n) {
    std::lock_guard lock(mutex_);
    transient_ = n;
  }
  void fail_permanent(int n, ErrorCode code = ErrorCode::kInvalidEmail) {
    std::lock_guard lock(mutex_);
    permanent_ = n;
    permanent_code_ = code;
  }
  void set_on_send(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    on_send_ = std::move(hook);
  }

  std::vector<Delivery> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }
  int attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Delivery> delivered_;
  int attempts_ = 0;
  int transient_ = 0;
  int permanent_ = 0;
  ErrorCode permanent_code_ = ErrorCode::kInvalidEmail;
  std::function<void()> on_send_;
};

}  // namespace latchkey::testing
