#pragma once
// A small Boost.Beast HTTP/1.1 server: a listener, one session per connection (read -> handler on
// a worker pool -> write, keep-alive), body and header limits, header and idle timeouts, and a
// graceful stop on SIGTERM/SIGINT. Handlers run on worker threads because they may block on a
// call to Latchkey (JWKS fetch, revocation check); the I/O threads never block.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "routes.hpp"

namespace notes {

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8081;  // 0: any free port (see Server::port())
  int io_threads = 1;
  int workers = 8;
  std::size_t max_body_bytes = 16 * 1024;
  std::size_t max_header_bytes = 8 * 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds shutdown_grace{5};
};

using Handler = std::function<Response(const Request&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  // Throws std::runtime_error when the address cannot be used.
  void bind();
  unsigned short port() const;
  // Serves until stop() or SIGTERM/SIGINT; then stops accepting, lets requests in flight finish
  // (up to shutdown_grace) and returns.
  void run(const std::function<void()>& on_ready = {});
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace notes
