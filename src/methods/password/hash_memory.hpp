#pragma once
// Keeps argon2's memory on the threads that hash, instead of a fresh mapping per hash.
//
// libsodium's argon2 maps a new region for every hash (19 MiB by default) and unmaps it
// afterwards, and offers no way to pass memory in. Each time, the kernel takes the process's
// mmap lock twice (stalling every other thread's page faults behind it), zeroes and maps 4,864
// pages, and shoots down TLB entries on every core running the process; under a hypervisor
// that shadows the guest's page tables, the first touch of each fresh page costs far more
// again. On the 2-core VM of docs/benchmarks.md the same verify ran about 5 times as fast
// with the region kept (bench/hash_bound).
//
// While a HashMemoryScope is alive on a thread, the first anonymous private read-write mapping
// of at least kMinKeptBytes that the thread asks for (libsodium's argon2 region: it makes no
// other) is served from memory kept for that thread, and unmapping it zeroes the memory and
// keeps it for the next hash. Every other mapping, and every mapping outside a scope, goes to
// the kernel unchanged. This works by defining mmap and munmap in the executable, which the
// dynamic linker prefers for libsodium's calls; sanitizer builds intercept those themselves, so
// there kKeepsHashMemory is false and every mapping goes to the kernel.
//
//   HashMemoryScope scope;            // on a thread that hashes repeatedly (HashPool's threads)
//   hasher.verify(password, stored);  // reuses the thread's region after the first hash
//   release_thread_hash_memory();     // give it back while idle; the scope's end does too

#include <cstddef>
#include <cstdint>

#include "common/sanitizers.hpp"

// Sanitizer runtimes intercept mmap and munmap themselves: leave them alone there.
#define LATCHKEY_KEEPS_HASH_MEMORY (!LATCHKEY_SANITIZED)

namespace latchkey::methods::password {

inline constexpr bool kKeepsHashMemory = LATCHKEY_KEEPS_HASH_MEMORY != 0;

inline constexpr std::size_t kMinKeptBytes = 1024 * 1024;

class HashMemoryScope {
 public:
  HashMemoryScope() noexcept;
  // The outermost scope on a thread returns the kept memory to the system.
  ~HashMemoryScope();
  HashMemoryScope(const HashMemoryScope&) = delete;
  HashMemoryScope& operator=(const HashMemoryScope&) = delete;
};

// Unmaps the calling thread's kept memory, if it has any and it is not in use.
void release_thread_hash_memory() noexcept;

// The calling thread's kept memory, for tests: where and how big (nullptr/0 when none), and how
// many mappings were served fresh and from the kept memory.
struct HashMemoryStats {
  const void* region = nullptr;
  std::size_t bytes = 0;
  std::uint64_t fresh = 0;
  std::uint64_t reused = 0;
};
HashMemoryStats thread_hash_memory_stats() noexcept;

}  // namespace latchkey::methods::password
