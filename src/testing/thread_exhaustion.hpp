#pragma once
// For tests of classes that start threads in their constructor: runs `make` in a child process
// whose address space is capped just above what it uses, so that starting threads (each maps a
// stack) fails part-way, and reports how the child ended. A constructor that lets the failure
// out as an exception, after stopping the threads it did start, ends it with kThrew; one that
// leaves a started std::thread joinable is ended by std::terminate (kCrashed).
//
//   if (!kCanCapAddressSpace) GTEST_SKIP() << "sanitizers reserve more address space";
//   EXPECT_EQ(run_with_thread_exhaustion([] { Pool pool(64); }), ThreadExhaustion::kThrew);

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <functional>

#include "common/sanitizers.hpp"

namespace latchkey::testing {

// Sanitizer runtimes reserve far more address space than a cap leaves room for.
inline constexpr bool kCanCapAddressSpace = LATCHKEY_SANITIZED == 0;

enum class ThreadExhaustion { kThrew, kReturned, kCrashed };

inline ThreadExhaustion run_with_thread_exhaustion(const std::function<void()>& make) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    long pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    if (pages <= 0) _exit(3);
    // Room for a few 8 MiB thread stacks, not for dozens.
    const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                       rlim_t{40} * 1024 * 1024;
    const rlimit limit{cap, cap};
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(3);
    try {
      make();
    } catch (const std::exception&) {
      _exit(0);
    }
    _exit(1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return ThreadExhaustion::kCrashed;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ThreadExhaustion::kThrew;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) return ThreadExhaustion::kReturned;
  return ThreadExhaustion::kCrashed;
}

}  // namespace latchkey::testing
