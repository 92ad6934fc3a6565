#pragma once
// Bounds how many password hashes run at once (each argon2id takes memory_kib of memory, 19 MiB
// by default) and how many callers may queue for a slot. Past the queue bound callers are turned
// away at once with kOverloaded (retry_after = 1) instead of piling up.
//
//   auto permit = limiter.acquire();          // blocks while every slot is busy
//   if (!permit) return permit.error();       // kOverloaded: the queue is full
//   std::string phc = hasher.hash(password);  // the slot is released when `permit` goes away
//
//   Result<std::string> phc = limiter.run([&] { return hasher.hash(password); });

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <type_traits>
#include <utility>

#include "common/result.hpp"

namespace latchkey::methods::password {

class HashLimiter {
 public:
  // Holds one slot until destroyed, moved from, or release()d. Move-only.
  class Permit {
   public:
    Permit(Permit&& other) noexcept : limiter_(std::exchange(other.limiter_, nullptr)) {}
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }

    void release() noexcept;
    bool held() const noexcept { return limiter_ != nullptr; }

   private:
    friend class HashLimiter;
    explicit Permit(HashLimiter* limiter) : limiter_(limiter) {}
    HashLimiter* limiter_;
  };

  // `concurrency` slots (at least 1; throws std::invalid_argument otherwise) and at most
  // `max_waiting` callers blocked in acquire() (0 = never wait). The limiter must outlive its
  // permits.
  HashLimiter(std::size_t concurrency, std::size_t max_waiting);
  HashLimiter(const HashLimiter&) = delete;
  HashLimiter& operator=(const HashLimiter&) = delete;

  // A slot, waiting as long as it takes when all are busy; kOverloaded (retry_after 1) at once
  // when `max_waiting` callers are already waiting.
  Result<Permit> acquire();

  // Runs `f` holding a slot: Result<R> with f's value (Status when f returns void), or the
  // kOverloaded error without running f.
  template <class F>
  auto run(F&& f) {
    using R = std::invoke_result_t<F&&>;
    auto permit = acquire();
    if constexpr (std::is_void_v<R>) {
      if (!permit) return Status(std::move(permit).error());
      std::forward<F>(f)();
      return Status();
    } else {
      if (!permit) return Result<R>(std::move(permit).error());
      return Result<R>(std::forward<F>(f)());
    }
  }

  // For metrics.
  std::size_t waiting() const;
  std::size_t in_use() const;
  std::size_t concurrency() const { return concurrency_; }
  std::size_t max_waiting() const { return max_waiting_; }

 private:
  void release_slot() noexcept;

  const std::size_t concurrency_;
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable slot_freed_;
  std::size_t in_use_ = 0;
  std::size_t waiting_ = 0;
};

}  // namespace latchkey::methods::password
