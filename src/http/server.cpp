#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <memory>
#include <optional>

#include "common/log.hpp"
#include "common/thread_name.hpp"
#include "http/problem.hpp"

namespace latchkey::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

class Session;

struct Server::Impl {
  ServerOptions options;
  RequestHandler& handler;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer accept_pause;  // on the acceptor's strand
  bool accept_failing = false;
  asio::signal_set signals;
  std::mutex mutex;
  std::vector<std::weak_ptr<Session>> sessions;
  bool stopping = false;
  std::optional<asio::steady_timer> poll;
  std::vector<std::weak_ptr<Session>> draining;
  std::chrono::steady_clock::time_point stop_deadline;

  Impl(ServerOptions o, RequestHandler& h)
      : options(std::move(o)),
        handler(h),
        ioc(options.io_threads),
        acceptor(asio::make_strand(ioc)),
        accept_pause(acceptor.get_executor()),
        signals(ioc) {}

  void do_accept();
  void begin_stop();
  void poll_drained();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      auto addr = ep.address();
      if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
      }
      peer_ = addr.to_string();
    }
    // Synchronous writes (Session::send) return would_block instead of waiting; asynchronous
    // operations are not affected.
    stream_.socket().non_blocking(true, ec);
  }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::wait_for_request, shared_from_this()));
  }

  // Called on shutdown: idle connections close now; the others close after their response,
  // including a request still being received (its header or body, within header_timeout) and one
  // whose first bytes have arrived but not been read yet.
  void shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      std::lock_guard lock(self->lent_);
      self->closing_ = true;
      if (self->busy_) return;  // whoever answers closes after the response
      beast::error_code aec;
      const bool arrived = self->stream_.socket().available(aec) > 0 && !aec;
      if (self->idle_ && !arrived) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

  // After the grace deadline, once the I/O threads have stopped and nothing else touches the
  // connection: closes it from the calling thread. Its request may still be running on a worker;
  // the answer then goes nowhere.
  void cut() {
    std::lock_guard lock(lent_);
    cut_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  // Between requests the connection may idle up to idle_timeout; once the first byte of a
  // request arrives, the whole header must come within header_timeout (slowloris guard).
  void wait_for_request() {
    if (closing_) return close();
    if (buffer_.size() > 0) return read_header();
    stream_.expires_after(server_.options.idle_timeout);
    idle_ = true;
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->idle_ = false;
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    header_bytes_ = 0;
    stream_.expires_after(server_.options.header_timeout);
    read_header_some();
  }

  // The header is parsed here rather than by http::async_read_header, for two rules Beast does
  // not keep:
  //  - the header limit holds for the whole header: Beast's header_limit bounds one parse call,
  //    and fields parsed from earlier reads are consumed, so an endless stream of small fields
  //    would grow the request until the header timeout;
  //  - obs-fold (a field line continued on the next line) is refused, as nginx does, instead of
  //    unfolded: a proxy that reads it differently could be made to disagree on the framing.
  //    Beast consumes a field only after seeing the byte that follows its CRLF, so every fold is
  //    still in the unparsed buffer when this looks.
  void read_header_some() {
    while (buffer_.size() > 0) {
      const auto data = buffer_.data();
      if (has_obs_fold({static_cast<const char*>(data.data()), data.size()})) {
        return reply_error(ErrorCode::kInvalidRequest, "obsolete line folding is not accepted");
      }
      beast::error_code ec;
      const auto used = parser_->put(data, ec);
      buffer_.consume(used);
      header_bytes_ += used;
      if (header_bytes_ > server_.options.max_header_bytes) {
        return reply_error(ErrorCode::kHeadersTooLarge, "request header fields are too large");
      }
      if (parser_->is_header_done()) return on_header();
      if (ec == bhttp::error::need_more || (!ec && used == 0)) break;
      if (ec) return on_read_error(ec);
    }
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec == asio::error::eof && self->parser_->got_some()) {
                                self->parser_->put_eof(ec);  // a request cut short: 400
                                if (!ec) ec = bhttp::error::partial_message;
                              }
                              if (ec) return self->on_read_error(ec);
                              self->buffer_.commit(n);
                              self->read_header_some();
                            });
  }

  void on_header() {
    auto& req = parser_->get();
    if (auto st = check_request_header(*parser_); !st) {
      return reply_error(st.error().code, st.error().message);
    }
    // Refuse an oversized declared body before reading it.
    if (auto len = parser_->content_length(); len && *len > server_.options.max_body_bytes) {
      return reply_error(ErrorCode::kPayloadTooLarge, "request body is too large");
    }
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       req.version());
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
                           if (wec) return self->close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_.options.header_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return reply_error(ErrorCode::kPayloadTooLarge, "request body is too large");
    }
    if (ec == bhttp::error::header_limit) {
      return reply_error(ErrorCode::kHeadersTooLarge, "request header fields are too large");
    }
    return reply_error(ErrorCode::kInvalidRequest, "malformed HTTP request");
  }

  void reply_error(ErrorCode code, std::string message) {
    refused_ = true;
    send(server_.handler.reject(Error::make(code, std::move(message)), peer_), true);
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    busy_ = true;
    stream_.expires_never();
    auto request = parser_->release();
    const bool keep_alive = request.keep_alive();
    server_.handler.handle(std::move(request), peer_,
                           [self = shared_from_this(), keep_alive](Response&& res) {
                             self->answer(std::move(res), keep_alive);
                           });
  }

  // The handler's answer, on whichever thread produced it. While a request is being handled the
  // connection is lent to the handler: the I/O threads start nothing on it, and shutdown() only
  // marks it closing (both under lent_). So the answering thread writes the response itself and
  // starts the wait for the next request, rather than waking an I/O thread to do so; what
  // follows (the next request, a write that could not finish at once) runs on the strand.
  void answer(Response&& res, bool keep_alive) {
    if (on_strand()) {
      return send(std::move(res), !keep_alive || closing_);
    }
    std::lock_guard lock(lent_);
    if (cut_) return;  // the server closed the connection at its shutdown deadline
    send(std::move(res), !keep_alive || closing_);
  }

  bool on_strand() {
    const auto executor = stream_.get_executor();
    const auto* strand = executor.target<Strand>();
    return strand != nullptr && strand->running_in_this_thread();
  }

  // Writes what the socket takes now without waiting; the rest, if any, asynchronously.
  void send(Response&& res, bool close_after) {
    busy_ = true;
    res.keep_alive(!close_after);
    auto out = std::make_shared<Outgoing>(std::move(res));
    beast::error_code ec;
    while (!ec && !out->serializer.is_done()) {
      bhttp::write_some(stream_.socket(), out->serializer, ec);
    }
    if (ec != asio::error::would_block) return sent(ec, close_after);
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_write(stream_, out->serializer,
                       [self = shared_from_this(), out, close_after](
                           beast::error_code wec, std::size_t) { self->sent(wec, close_after); });
  }

  void sent(beast::error_code ec, bool close_after) {
    busy_ = false;
    if (!ec && refused_) return linger();
    if (ec || close_after || closing_) return close();
    wait_for_request();
  }

  // After refusing a request the client may still be sending it (a 1 MiB body or header).
  // Closing now would reset the connection and the client would never read our answer, so stop
  // sending, then read and discard what still arrives for a short while before closing.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    drain_buffer_ = std::make_unique<std::array<char, kDrainChunk>>();
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(*drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrain) return self->stream_.close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string peer_;
  bool busy_ = false;
  bool idle_ = false;  // waiting for the first byte of a request
  bool closing_ = false;
  bool refused_ = false;
  bool cut_ = false;
  std::mutex lent_;  // see answer()
  struct Outgoing {
    explicit Outgoing(Response&& r) : response(std::move(r)) {}
    Response response;
    bhttp::response_serializer<bhttp::string_body> serializer{response};
  };
  static constexpr std::size_t kMaxDrain = 4 * 1024 * 1024;
  // Only refused requests are drained: idle connections do not carry the buffer (thousands of
  // keep-alive connections are held at a few KiB each).
  static constexpr std::size_t kDrainChunk = 16 * 1024;
  std::unique_ptr<std::array<char, kDrainChunk>> drain_buffer_;
  std::size_t drained_ = 0;
  std::size_t header_bytes_ = 0;
};

bool has_obs_fold(std::string_view bytes) {
  const auto end = bytes.find("\r\n\r\n");
  if (end != std::string_view::npos) bytes = bytes.substr(0, end + 2);
  for (auto at = bytes.find("\r\n"); at != std::string_view::npos && at + 2 < bytes.size();
       at = bytes.find("\r\n", at + 2)) {
    if (bytes[at + 2] == ' ' || bytes[at + 2] == '\t') return true;
  }
  return false;
}

Status check_request_header(const RequestParser& parser) {
  const auto& req = parser.get();
  // RFC 9112 6.3: a Transfer-Encoding whose final coding is not chunked leaves the body length
  // unknown (Beast would read no body and take the rest as the next request: a smuggling
  // shape). Refuse it and close.
  if (req.find(bhttp::field::transfer_encoding) != req.end() && !parser.chunked()) {
    return Error::make(ErrorCode::kInvalidRequest, "unsupported Transfer-Encoding");
  }
  // RFC 9112 3.2: an HTTP/1.1 request carries exactly one Host. Latchkey never builds URLs
  // from it, but a proxy in front might pick another of two, so the message is refused.
  if (req.version() == 11 && req.count(bhttp::field::host) != 1) {
    return Error::make(ErrorCode::kInvalidRequest, "an HTTP/1.1 request needs exactly one Host");
  }
  return {};
}

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Out of descriptors or memory: accepting again at once would fail again at once and spin
      // an I/O thread. Pause; the connection waits in the listen backlog meanwhile.
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE ||
          ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
        if (!accept_failing) log::warn("cannot accept connections", {{"error", ec.message()}});
        accept_failing = true;
        accept_pause.expires_after(std::chrono::milliseconds(100));
        accept_pause.async_wait([this](beast::error_code wec) {
          if (!wec) do_accept();
        });
        return;
      }
    } else {
      if (accept_failing) log::info("accepting connections again", {});
      accept_failing = false;
      auto session = std::make_shared<Session>(std::move(socket), *this);
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        // Forget finished sessions now and then so the list stays small.
        if (sessions.size() > 1024) {
          std::erase_if(sessions, [](const auto& w) { return w.expired(); });
        }
        sessions.push_back(session);
      }
      session->start();
    }
    do_accept();
  });
}

void Server::Impl::begin_stop() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mutex);
    if (stopping) return;
    stopping = true;
    for (auto& w : sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    sessions.clear();
  }
  asio::post(acceptor.get_executor(), [this] {
    beast::error_code ec;
    acceptor.close(ec);
    accept_pause.cancel();
  });
  signals.cancel();
  for (auto& s : live) {
    s->shutdown();
    draining.push_back(s);
  }
  live.clear();
  stop_deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
  poll.emplace(ioc);
  poll_drained();
}

// Ends the run as soon as every connection has finished; cuts the rest at the grace deadline.
void Server::Impl::poll_drained() {
  std::erase_if(draining, [](const auto& w) { return w.expired(); });
  if (draining.empty()) return;  // nothing left: run() returns once the last handler is done
  if (std::chrono::steady_clock::now() >= stop_deadline) {
    log::warn("shutdown grace over: closing connections still in flight",
              {{"connections", draining.size()},
               {"grace_s", static_cast<long long>(options.shutdown_grace.count())}});
    ioc.stop();
    return;
  }
  poll->expires_after(std::chrono::milliseconds(20));
  poll->async_wait([this](beast::error_code ec) {
    if (!ec) poll_drained();
  });
}

Server::Server(ServerOptions options, RequestHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() = default;

void Server::bind() {
  auto& a = impl_->acceptor;
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec)
    throw std::runtime_error("server.listen: invalid address '" + impl_->options.address + "'");
  tcp::endpoint ep(address, impl_->options.port);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + impl_->options.address + ":" +
                             std::to_string(impl_->options.port) + ": " + ec.message());
  }
  bound_port_ = a.local_endpoint().port();
}

void Server::run(std::function<void()> on_ready) {
  auto& impl = *impl_;
  impl.signals.add(SIGINT);
  impl.signals.add(SIGTERM);
  impl.signals.async_wait([&impl](beast::error_code ec, int) {
    if (!ec) impl.begin_stop();
  });
  impl.do_accept();
  if (on_ready) on_ready();
  std::vector<std::thread> threads;
  const auto extra = static_cast<std::size_t>(std::max(impl.options.io_threads - 1, 0));
  start_named_threads(
      threads, extra, "latchkey-io", [&impl] { impl.ioc.run(); },
      [&] {
        impl.ioc.stop();
        for (auto& t : threads) t.join();
      });
  impl.ioc.run();
  for (auto& t : threads) t.join();
  // Connections still in flight at the grace deadline: their clients learn now that no answer
  // comes. Their requests may still be running on a worker, and an answer would reach for this
  // server's I/O context: wait until none can.
  for (auto& w : impl.draining) {
    if (auto s = w.lock()) s->cut();
  }
  impl.draining.clear();
  impl.handler.wait_idle();
}

void Server::stop() {
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->begin_stop(); });
}

}  // namespace latchkey::http
