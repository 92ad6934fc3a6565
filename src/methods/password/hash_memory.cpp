// This file defines the process's mmap and mmap64 as two functions, so glibc must not rename
// mmap to mmap64 here (it does with 64-bit file offsets, which are the default on 64-bit anyway).
#undef _FILE_OFFSET_BITS

#include "methods/password/hash_memory.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace latchkey::methods::password {
namespace {

// Trivially destructible on purpose: mmap and munmap below may run on any thread at any time
// (also while a thread is exiting), so this state must need no construction or destruction.
struct ThreadMemory {
  int scopes = 0;  // HashMemoryScope nesting depth
  void* region = nullptr;
  std::size_t bytes = 0;
  bool lent = false;  // handed out by mmap, not yet given back by munmap
  std::uint64_t fresh = 0;
  std::uint64_t reused = 0;
};
constinit thread_local ThreadMemory t_memory;

int kernel_munmap(void* addr, std::size_t len) noexcept {
  return static_cast<int>(syscall(SYS_munmap, addr, len));
}

}  // namespace

HashMemoryScope::HashMemoryScope() noexcept {
  ++t_memory.scopes;
}

HashMemoryScope::~HashMemoryScope() {
  if (--t_memory.scopes == 0) release_thread_hash_memory();
}

void release_thread_hash_memory() noexcept {
  ThreadMemory& m = t_memory;
  if (m.region == nullptr || m.lent) return;
  kernel_munmap(m.region, m.bytes);
  m.region = nullptr;
  m.bytes = 0;
}

HashMemoryStats thread_hash_memory_stats() noexcept {
  const ThreadMemory& m = t_memory;
  return HashMemoryStats{m.region, m.bytes, m.fresh, m.reused};
}

}  // namespace latchkey::methods::password

#if LATCHKEY_KEEPS_HASH_MEMORY
namespace latchkey::methods::password {
namespace {

void* kernel_mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t off) noexcept {
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

bool is_argon2_region_request(void* addr, std::size_t len, int prot, int flags, int fd,
                              off_t off) noexcept {
  constexpr int kKind = MAP_ANONYMOUS | MAP_PRIVATE | MAP_SHARED | MAP_FIXED;
  return addr == nullptr && fd == -1 && off == 0 && prot == (PROT_READ | PROT_WRITE) &&
         (flags & kKind) == (MAP_ANONYMOUS | MAP_PRIVATE) && len >= kMinKeptBytes;
}

void* serve_mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t off) noexcept {
  ThreadMemory& m = t_memory;
  if (m.scopes == 0 || m.lent || !is_argon2_region_request(addr, len, prot, flags, fd, off)) {
    return kernel_mmap(addr, len, prot, flags, fd, off);
  }
  if (m.region != nullptr && m.bytes != len) {  // other parameters: start over at this size
    kernel_munmap(m.region, m.bytes);
    m.region = nullptr;
    m.bytes = 0;
  }
  if (m.region == nullptr) {
    void* fresh = kernel_mmap(nullptr, len, prot, flags, -1, 0);
    if (fresh == MAP_FAILED) return fresh;
    m.region = fresh;
    m.bytes = len;
    ++m.fresh;
  } else {
    ++m.reused;
  }
  m.lent = true;
  return m.region;
}

int serve_munmap(void* addr, std::size_t len) noexcept {
  ThreadMemory& m = t_memory;
  if (!m.lent || addr != m.region) return kernel_munmap(addr, len);
  m.lent = false;
  if (len != m.bytes) {  // not the whole region: let it go as asked, and forget it
    m.region = nullptr;
    m.bytes = 0;
    return kernel_munmap(addr, len);
  }
  // argon2's blocks are derived from the password: nothing of them outlives the hash.
  explicit_bzero(m.region, m.bytes);
  return 0;
}

}  // namespace
}  // namespace latchkey::methods::password

// The process's mmap (and mmap64, its other name) and munmap: libsodium (and every other shared
// library) binds to these instead of libc's, because the executable defines them. They behave as
// libc's do (one system call each) except for the argon2 region inside a HashMemoryScope. glibc's
// own allocations (malloc, thread stacks) call the kernel directly and never come here.
extern "C" void* mmap(void* addr, std::size_t len, int prot, int flags, int fd,
                      off_t off) noexcept {
  return latchkey::methods::password::serve_mmap(addr, len, prot, flags, fd, off);
}

extern "C" void* mmap64(void* addr, std::size_t len, int prot, int flags, int fd,
                        off64_t off) noexcept {
  return latchkey::methods::password::serve_mmap(addr, len, prot, flags, fd, off);
}

extern "C" int munmap(void* addr, std::size_t len) noexcept {
  return latchkey::methods::password::serve_munmap(addr, len);
}
#endif
