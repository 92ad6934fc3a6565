#include "courier/dispatcher.hpp"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "common/encoding.hpp"
#include "common/log.hpp"
#include "common/thread_name.hpp"

namespace latchkey::courier {

namespace {

constexpr std::size_t kMaxOwner = 64;

// For last_error and logs: "<code id>: <message> (<log_detail>)".
std::string describe(const Error& e) {
  std::string out(code_id(e.code));
  if (!e.message.empty()) out += ": " + e.message;
  if (!e.log_detail.empty()) out += " (" + e.log_detail + ")";
  return out;
}

nlohmann::json fields_of(const OutboxMessage& m, int attempts) {
  return {{"id", m.id},
          {"channel", m.channel},
          {"template_id", template_of(m)},
          {"to", recipient_of(m)},
          {"attempts", attempts}};
}

}  // namespace

std::string default_dispatcher_owner(Random& random) {
  char host[256] = {};
  std::string name;
  if (::gethostname(host, sizeof host - 1) == 0) name = host;
  for (char& c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_';
    if (!plain) c = '_';
  }
  if (name.empty()) name = "host";
  const std::string suffix = "-" + std::to_string(::getpid()) + "-" + hex_encode(random.bytes(4));
  if (name.size() + suffix.size() > kMaxOwner) name.resize(kMaxOwner - suffix.size());
  return name + suffix;
}

Dispatcher::Dispatcher(OutboxRepository& outbox, EmailChannel& channel, const Clock& clock,
                       Random& random, DispatcherOptions options, SmsChannel* sms)
    : outbox_(outbox),
      channel_(channel),
      sms_(sms),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = default_dispatcher_owner(random_);
  if (options_.owner.size() > kMaxOwner) {
    throw std::invalid_argument("dispatcher owner is longer than 64 bytes");
  }
  if (options_.poll_interval.count() <= 0) {
    throw std::invalid_argument("dispatcher poll_interval must be positive");
  }
  if (options_.batch < 1) throw std::invalid_argument("dispatcher batch must be at least 1");
  if (options_.lease.count() < 1) throw std::invalid_argument("dispatcher lease must be >= 1 s");
  if (options_.max_attempts < 1) {
    throw std::invalid_argument("dispatcher max_attempts must be at least 1");
  }
  if (options_.retry_base.count() < 1 || options_.retry_max < options_.retry_base) {
    throw std::invalid_argument("dispatcher needs 1 s <= retry_base <= retry_max");
  }
}

Dispatcher::~Dispatcher() {
  stop();
}

std::chrono::milliseconds Dispatcher::retry_delay(int attempts) {
  using std::chrono::milliseconds;
  const long long cap = std::chrono::duration_cast<milliseconds>(options_.retry_max).count();
  long long delay = std::chrono::duration_cast<milliseconds>(options_.retry_base).count();
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  // +/-20 %: delay + spread * (2u - 1) for u uniform in [0, 1], in millionths.
  const long long spread = delay / 5;
  const long long u = random_.uniform(1'000'001);
  delay += spread * (2 * u - 1'000'000) / 1'000'000;
  return milliseconds(delay);
}

int Dispatcher::run_once() {
  return round().processed;
}

Dispatcher::Round Dispatcher::round() {
  Round r;
  auto claimed = outbox_.claim(clock_.now(), options_.lease, options_.batch, options_.owner);
  if (!claimed) {
    log::error("outbox claim failed",
               {{"owner", options_.owner}, {"error", describe(claimed.error())}});
    r.storage_error = true;
    return r;
  }
  for (const OutboxMessage& m : *claimed) {
    if (stopping_) {
      hand_back(m);  // a graceful stop sends nothing more
      continue;
    }
    // Too little of the lease left (slow sends before it): another dispatcher could take the
    // message over while it is being sent and send it too.
    if (m.lease_until && clock_.now() + options_.lease / 2 > *m.lease_until) {
      log::warn("outbox lease too short to send; handed back", fields_of(m, m.attempts));
      hand_back(m);
      continue;
    }
    if (!deliver(m)) r.storage_error = true;
    ++r.processed;
  }
  return r;
}

bool Dispatcher::deliver(const OutboxMessage& m) {
  const int attempts = m.attempts + 1;
  Status sent;
  try {
    if (m.channel == kChannelSms) {
      sent = sms_ != nullptr ? sms_->send(m.sms, m.id)
                             : Error::internal("no SMS channel is configured (sms.channel)");
    } else {
      sent = channel_.send(m.email, m.id);
    }
  } catch (const std::exception& e) {
    sent = Error::internal(std::string("delivery channel threw: ") + e.what());
  }

  if (sent) {
    ++sent_;
    log::info("message sent", fields_of(m, attempts));
    auto marked = outbox_.mark_sent(m.id, options_.owner, attempts, clock_.now());
    if (!marked) {
      auto f = fields_of(m, attempts);
      f["error"] = describe(marked.error());
      log::error("outbox: a sent message could not be marked; it is sent again after its lease", f);
      return false;
    }
    if (!*marked) {
      log::warn("outbox: the lease of a sent message was taken over; it may be sent twice",
                fields_of(m, attempts));
    }
    return true;
  }

  ++failed_;
  const Error& error = sent.error();
  const std::string why = describe(error);
  const bool permanent = error.code != ErrorCode::kUnavailable;
  auto f = fields_of(m, attempts);
  f["error"] = why;
  Result<bool> marked = false;
  if (permanent || attempts >= options_.max_attempts) {
    f["outcome"] = "dead";
    f["reason"] = permanent ? "permanent" : "attempts_exhausted";
    log::warn("email delivery failed", f);
    marked = outbox_.mark_dead(m.id, options_.owner, attempts, why);
    if (marked && *marked) ++dead_;
  } else {
    const auto delay = retry_delay(attempts);
    f["outcome"] = "retry";
    f["retry_in_ms"] = delay.count();
    log::warn("email delivery failed", f);
    marked = outbox_.mark_retry(m.id, options_.owner, attempts, clock_.now() + delay, why);
  }
  if (!marked) {
    f["error"] = describe(marked.error());
    log::error("outbox: a failed attempt could not be recorded; retried after its lease", f);
    return false;
  }
  if (!*marked) log::warn("outbox: the lease of a failed message was taken over", f);
  return true;
}

void Dispatcher::hand_back(const OutboxMessage& m) {
  auto r = outbox_.mark_retry(m.id, options_.owner, m.attempts, m.next_attempt_at, m.last_error);
  if (!r) {
    auto f = fields_of(m, m.attempts);
    f["error"] = describe(r.error());
    log::warn("outbox: a claimed message could not be handed back; it waits for its lease", f);
  }
}

void Dispatcher::loop() {
  while (!stopping_) {
    Round r;
    try {
      r = round();
    } catch (const std::exception& e) {
      log::error("outbox dispatcher round failed", {{"error", e.what()}});
      r.storage_error = true;
    } catch (...) {
      log::error("outbox dispatcher round failed", {{"error", "unknown exception"}});
      r.storage_error = true;
    }
    if (stopping_) break;
    if (r.processed > 0 && !r.storage_error) continue;  // more may be due
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, options_.poll_interval, [&] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

void Dispatcher::start() {
  std::lock_guard life(lifecycle_);
  if (thread_.joinable()) throw std::logic_error("the outbox dispatcher is already running");
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    woken_ = false;
  }
  thread_ = std::thread([this] { loop(); });
  name_thread(thread_, "latchkey-mail");
  log::info("outbox dispatcher started", {{"owner", options_.owner},
                                          {"poll_interval_ms", options_.poll_interval.count()},
                                          {"batch", options_.batch}});
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::stop() {
  std::lock_guard life(lifecycle_);
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  stopping_ = false;  // run_once() works again
  log::info("outbox dispatcher stopped", {{"owner", options_.owner}});
}

}  // namespace latchkey::courier
