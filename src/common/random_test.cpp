#include "common/random.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace latchkey {
namespace {

TEST(OsRandom, EverySizeIsFilledAndNoValueRepeats) {
  OsRandom random;
  std::set<std::vector<std::uint8_t>> seen;
  for (std::size_t n : {16u, 1u, 24u, 32u, 64u, 65u, 300u, 4096u}) {
    for (int i = 0; i < 200; ++i) {
      auto b = random.bytes(n);
      ASSERT_EQ(b.size(), n);
      if (n >= 16) {
        EXPECT_TRUE(seen.insert(b).second) << "a " << n << "-byte value repeated";
      }
    }
  }
}

TEST(OsRandom, ThreadsDrawDifferentBytes) {
  OsRandom random;
  std::vector<std::string> tokens(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    threads.emplace_back([&, i] { tokens[i] = random.token(16); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), tokens.size());
}

TEST(OsRandom, AForkedChildDoesNotRepeatItsParentsBytes) {
  OsRandom random;
  (void)random.bytes(16);  // the block is fetched and partly used
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto b = random.bytes(16);
    const bool written = write(fds[1], b.data(), b.size()) == static_cast<ssize_t>(b.size());
    _exit(written ? 0 : 1);
  }
  auto mine = random.bytes(16);
  std::array<std::uint8_t, 16> theirs{};
  ASSERT_EQ(read(fds[0], theirs.data(), theirs.size()), 16);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(std::vector<std::uint8_t>(theirs.begin(), theirs.end()), mine);
}

}  // namespace
}  // namespace latchkey
