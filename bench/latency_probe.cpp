// A light latency probe: GET PATH on one keep-alive connection to 127.0.0.1:PORT, RATE times a
// second for SECONDS, printing each request's latency in seconds, one per line. It stands beside
// a flood whose throughput is being measured, so it must take next to no CPU itself (curl spends
// about a millisecond per request, a few per cent of a 2-core machine at 50 requests a second).
// A request that fails prints "error" instead. Usage: latency_probe PORT PATH RATE SECONDS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends the request and reads one whole response (headers, then Content-Length bytes of body).
// False when the connection failed or the response was not a 200.
bool exchange(int fd, const std::string& request) {
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  std::string data;
  char buf[4096];
  std::size_t header_end = std::string::npos;
  std::size_t need = 0;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::size_t length = 0;
      const auto at = data.find("\r\nContent-Length:");
      if (at != std::string::npos && at < header_end) {
        length = std::strtoull(data.c_str() + at + 17, nullptr, 10);
      }
      need = header_end + 4 + length;
    }
    if (data.size() >= need) return data.compare(0, 12, "HTTP/1.1 200") == 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: latency_probe PORT PATH RATE SECONDS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string request =
      std::string("GET ") + argv[2] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const int rate = std::atoi(argv[3]);
  const int seconds = std::atoi(argv[4]);
  if (port <= 0 || rate <= 0 || seconds <= 0) {
    std::fprintf(stderr, "usage: latency_probe PORT PATH RATE SECONDS\n");
    return 2;
  }
  const auto interval = std::chrono::microseconds(1'000'000 / rate);
  const auto start = Clock::now();
  int fd = -1;
  for (int i = 0; i < rate * seconds; ++i) {
    std::this_thread::sleep_until(start + i * interval);
    const auto began = Clock::now();
    if (fd < 0) fd = connect_to(port);  // a new connection's set-up counts in its latency
    const bool ok = fd >= 0 && exchange(fd, request);
    const auto took = std::chrono::duration<double>(Clock::now() - began).count();
    if (ok) {
      std::printf("%.6f\n", took);
    } else {
      std::printf("error\n");
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) ::close(fd);
  return 0;
}
