// The hash-bound limit for login throughput: argon2id verifies per second in a tight loop on
// THREADS threads with the server's parameters, each thread keeping its argon2 memory as the
// server's hashing threads do. Usage: hash_bound THREADS SECONDS [MEMORY_KIB ITER]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/random.hpp"
#include "methods/password/hash_memory.hpp"
#include "methods/password/hasher.hpp"

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  latchkey::methods::password::Argon2Params params;
  if (argc > 4) {
    params.memory_kib = std::strtoull(argv[3], nullptr, 10);
    params.iterations = std::strtoull(argv[4], nullptr, 10);
  }
  latchkey::OsRandom random;
  latchkey::methods::password::PasswordHasher hasher(random, params);
  const std::string stored = hasher.hash("correct horse battery staple");
  std::atomic<long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      const latchkey::methods::password::HashMemoryScope keep_memory;
      while (!stop) {
        (void)hasher.verify("correct horse battery staple", stored);
        ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.1f\n", static_cast<double>(done.load()) / elapsed);
  return 0;
}
