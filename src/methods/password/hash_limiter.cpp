#include "methods/password/hash_limiter.hpp"

#include <stdexcept>

namespace latchkey::methods::password {

HashLimiter::Permit& HashLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    limiter_ = std::exchange(other.limiter_, nullptr);
  }
  return *this;
}

void HashLimiter::Permit::release() noexcept {
  if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->release_slot();
}

HashLimiter::HashLimiter(std::size_t concurrency, std::size_t max_waiting)
    : concurrency_(concurrency), max_waiting_(max_waiting) {
  if (concurrency_ == 0) throw std::invalid_argument("hash concurrency must be at least 1");
}

Result<HashLimiter::Permit> HashLimiter::acquire() {
  std::unique_lock lock(mutex_);
  if (in_use_ >= concurrency_) {
    if (waiting_ >= max_waiting_) {
      Error e = Error::make(ErrorCode::kOverloaded, "the server is busy; try again shortly");
      e.retry_after = 1;
      return e;
    }
    ++waiting_;
    slot_freed_.wait(lock, [this] { return in_use_ < concurrency_; });
    --waiting_;
  }
  ++in_use_;
  return Permit(this);
}

void HashLimiter::release_slot() noexcept {
  {
    std::lock_guard lock(mutex_);
    --in_use_;
  }
  slot_freed_.notify_one();
}

std::size_t HashLimiter::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

std::size_t HashLimiter::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

}  // namespace latchkey::methods::password
