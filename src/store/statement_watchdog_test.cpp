#include "store/statement_watchdog.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace latchkey::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A connected pair of sockets standing in for a connection to a server that never answers.
struct SocketPair {
  int client = -1;
  int server = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    client = fds[0];
    server = fds[1];
  }
  ~SocketPair() {
    ::close(client);
    ::close(server);
  }
};

TEST(StatementWatchdog, CutsAReadThatWaitsPastTheLimitAndCountsIt) {
  StatementWatchdog watchdog(2, milliseconds(200), milliseconds(20));
  SocketPair conn;
  watchdog.arm(1, conn.client, "hung query");
  const auto start = steady_clock::now();
  char byte = 0;
  // Blocks until the watchdog shuts the socket down: recv then reports end of stream.
  const ssize_t n = ::recv(conn.client, &byte, 1, 0);
  const auto waited = steady_clock::now() - start;
  EXPECT_EQ(n, 0);
  EXPECT_GE(waited, milliseconds(200));
  EXPECT_LT(waited, milliseconds(5000));
  EXPECT_EQ(watchdog.cut(), 1u);
  watchdog.disarm(1);
}

TEST(StatementWatchdog, LeavesAnOperationDisarmedInTimeAlone) {
  StatementWatchdog watchdog(1, milliseconds(150), milliseconds(10));
  SocketPair conn;
  watchdog.arm(0, conn.client, "quick query");
  std::this_thread::sleep_for(milliseconds(20));
  watchdog.disarm(0);
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(watchdog.cut(), 0u);
  // The connection still works both ways.
  ASSERT_EQ(::send(conn.server, "x", 1, 0), 1);
  char byte = 0;
  EXPECT_EQ(::recv(conn.client, &byte, 1, 0), 1);
  ASSERT_EQ(::send(conn.client, "y", 1, 0), 1);
  EXPECT_EQ(::recv(conn.server, &byte, 1, 0), 1);
}

TEST(StatementWatchdog, ReArmingRestartsTheClockOnTheNewSocket) {
  StatementWatchdog watchdog(1, milliseconds(300), milliseconds(10));
  SocketPair old_conn;
  SocketPair new_conn;
  watchdog.arm(0, old_conn.client, "ping");
  std::this_thread::sleep_for(milliseconds(200));
  watchdog.arm(0, new_conn.client, "after reconnect");  // the old socket is no longer watched
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(watchdog.cut(), 0u);  // 400 ms since the first arm, 200 ms since the second
  char byte = 0;
  EXPECT_EQ(::recv(new_conn.client, &byte, 1, 0), 0);  // cut 300 ms after the second arm
  EXPECT_EQ(watchdog.cut(), 1u);
  ASSERT_EQ(::send(old_conn.server, "x", 1, 0), 1);  // the old one was never touched
  EXPECT_EQ(::recv(old_conn.client, &byte, 1, 0), 1);
}

TEST(StatementWatchdog, NothingIsArmedOnAnInvalidSocketAndBadLimitsAreRefused) {
  StatementWatchdog watchdog(1, milliseconds(50), milliseconds(10));
  watchdog.arm(0, -1, "closed session");
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(watchdog.cut(), 0u);
  EXPECT_THROW(StatementWatchdog(1, milliseconds(0)), std::invalid_argument);
  EXPECT_THROW((void)watchdog.arm(1, -1, "no such slot"), std::out_of_range);
  // A valid socket on a slot that does not exist: refused, and no descriptor left behind.
  SocketPair conn;
  const int probe = ::dup(conn.client);  // the lowest free descriptor number, freed again
  ASSERT_GE(probe, 0);
  ::close(probe);
  EXPECT_THROW((void)watchdog.arm(5, conn.client, "no such slot"), std::out_of_range);
  const int next = ::dup(conn.client);
  EXPECT_EQ(next, probe);  // still free: arm() made no duplicate
  ::close(next);
}

}  // namespace
}  // namespace latchkey::store
