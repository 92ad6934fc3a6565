#pragma once
// The Beast transport: a listener accepting TCP connections and one session per connection
// (read -> hand to the RequestHandler -> write, keep-alive), with header/body limits, header and
// idle timeouts, and graceful stop (stop accepting, finish in-flight requests, close idle ones).

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/result.hpp"
#include "http/types.hpp"

namespace latchkey::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Rules the server keeps beyond Beast's parser, exposed for the fuzz target that drives the
// pipeline with raw bytes:
// - obs-fold (CRLF then a space or tab before the end of the header section) is refused, as nginx
//   does, rather than unfolded;
bool has_obs_fold(std::string_view bytes);
// - once the header is parsed: a Transfer-Encoding must end in chunked (RFC 9112 6.3) and an
//   HTTP/1.1 request has exactly one Host (RFC 9112 3.2); else kInvalidRequest.
Status check_request_header(const RequestParser& parser);

// What the transport calls for each request. `done` may be called from any thread, once; that
// thread writes the answer (what the socket takes at once, never waiting for the client) and
// starts reading the connection's next request, without waking an I/O thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void handle(Request&& request, std::string peer_ip,
                      std::function<void(Response&&)> done) = 0;
  // The answer to a request the transport refused before it was complete (too large,
  // malformed): a problem response with the same headers, request id and metrics as any other.
  virtual Response reject(const Error& error, const std::string& peer_ip) = 0;
  // Returns once every `done` of an earlier handle() has been called and destroyed. The server
  // calls it when its I/O threads have stopped, before its I/O context goes: a request cut at
  // the grace deadline may still be running on another thread, holding its connection.
  virtual void wait_idle() = 0;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;
  int io_threads = 2;
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 8 * 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds shutdown_grace{10};
};

class Server {
 public:
  Server(ServerOptions options, RequestHandler& handler);
  ~Server();

  // Binds and listens; throws std::runtime_error when the address cannot be used.
  void bind();
  unsigned short port() const { return bound_port_; }
  // Runs the I/O threads until stop() or SIGTERM/SIGINT; returns when every connection is done
  // (or was cut at the grace deadline) and the handler holds none of them any more.
  void run(std::function<void()> on_ready = {});
  // Thread-safe: stop accepting, finish in-flight requests, close idle connections.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  unsigned short bound_port_ = 0;
};

}  // namespace latchkey::http
