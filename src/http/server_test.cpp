// The transport with a handler that answers from threads of its own, as the pipeline's pools do:
// the answering thread writes the response itself (Session::answer), so these check that the
// connection carries on, in order, whole, and that shutdown still finishes or cuts it.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace latchkey::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Answers every request on a thread of its own, with a body the request's target chooses:
// "/big" gets kBigBody bytes, "/hold" waits until release() (or stop), anything else echoes the
// target. Every answer is written from that thread, never from an I/O thread.
class ThreadedHandler final : public RequestHandler {
 public:
  static constexpr std::size_t kBigBody = 8 * 1024 * 1024;

  ThreadedHandler() : thread_([this] { loop(); }) {}
  ~ThreadedHandler() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      released_ = true;
      io_released_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void handle(Request&& request, std::string, std::function<void(Response&&)> done) override {
    std::unique_lock lock(mutex_);
    if (request.target() == "/block-io") {
      // Holds the I/O thread that called handle() until release_io().
      io_blocked_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return io_released_; });
    }
    ++in_flight_;
    jobs_.push_back({std::string(request.target()), std::move(done)});
    cv_.notify_all();
  }

  Response reject(const Error& error, const std::string&) override {
    Response res{bhttp::status::bad_request, 11};
    res.body() = error.message;
    res.prepare_payload();
    return res;
  }

  void wait_idle() override {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
  }

  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

  void release_io() {
    std::lock_guard lock(mutex_);
    io_released_ = true;
    cv_.notify_all();
  }

  void wait_io_blocked() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return io_blocked_; });
  }

  // Waits until a "/hold" request is being held.
  void wait_held() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return holding_; });
  }

 private:
  struct Job {
    std::string target;
    std::function<void(Response&&)> done;
  };

  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      if (job.target == "/hold") {
        holding_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
      }
      lock.unlock();
      Response res{bhttp::status::ok, 11};
      res.body() = job.target == "/big" ? std::string(kBigBody, 'x') : "answer to " + job.target;
      res.prepare_payload();
      job.done(std::move(res));
      job.done = nullptr;
      lock.lock();
      --in_flight_;
      cv_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  int in_flight_ = 0;
  bool holding_ = false;
  bool released_ = false;
  bool stopping_ = false;
  bool io_blocked_ = false;
  bool io_released_ = false;
  std::thread thread_;
};

// A server on an ephemeral loopback port, run on a thread of its own.
struct RunningServer {
  explicit RunningServer(RequestHandler& handler, ServerOptions options = {}) {
    options.port = 0;
    options.io_threads = 1;
    server.emplace(options, handler);
    server->bind();
    runner = std::thread([this] {
      server->run();
      finished = true;
    });
  }
  ~RunningServer() {
    server->stop();
    join();
  }
  void join() {
    if (runner.joinable()) runner.join();
  }
  std::optional<Server> server;
  std::thread runner;
  std::atomic<bool> finished{false};
};

std::string get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

bhttp::response<bhttp::string_body> read_response(tcp::socket& socket, beast::flat_buffer& buf) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(socket, buf, parser);
  return parser.release();
}

class ServerTest : public ::testing::Test {
 protected:
  // A new connection that has sent `requests`, to the server (started on first use, with
  // options_).
  tcp::socket send(const std::string& requests) {
    if (!running_) running_.emplace(handler_, options_);
    tcp::socket socket(ioc_);
    socket.connect({asio::ip::make_address("127.0.0.1"), running_->server->port()});
    asio::write(socket, asio::buffer(requests));
    return socket;
  }
  std::string body_from(tcp::socket& socket) { return read_response(socket, buf_).body(); }
  // Whether the server closed the connection (nothing more to read).
  static bool closed(tcp::socket& socket) {
    beast::error_code ec;
    char byte = 0;
    asio::read(socket, asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  ThreadedHandler handler_;
  ServerOptions options_;
  asio::io_context ioc_;
  beast::flat_buffer buf_;
  std::optional<RunningServer> running_;  // stopped first: it uses the handler
};

TEST_F(ServerTest, AnswersWrittenByAnotherThreadKeepTheConnectionForTheNextRequest) {
  auto socket = send("");
  for (const std::string target : {"/one", "/two", "/three"}) {
    asio::write(socket, asio::buffer(get(target)));
    auto res = read_response(socket, buf_);
    EXPECT_EQ(res.result(), bhttp::status::ok);
    EXPECT_EQ(res.body(), "answer to " + target);
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST_F(ServerTest, TheAnsweringThreadWritesTheAnswerWithoutWaitingForAnIOThread) {
  auto held = send(get("/hold"));  // the server has one I/O thread
  handler_.wait_held();
  auto blocker = send(get("/block-io"));
  handler_.wait_io_blocked();  // the only I/O thread is stuck in handle()
  handler_.release();          // the handler's thread answers "/hold"
  auto answer = std::async(std::launch::async, [&held] {
    beast::flat_buffer buf;
    return read_response(held, buf).body();
  });
  const bool arrived = answer.wait_for(5s) == std::future_status::ready;
  handler_.release_io();
  EXPECT_TRUE(arrived) << "the answer waited for the I/O thread";
  EXPECT_EQ(answer.get(), "answer to /hold");
  EXPECT_EQ(body_from(blocker), "answer to /block-io");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto socket = send(get("/a") + get("/b") + get("/c"));
  for (const std::string target : {"/a", "/b", "/c"}) {
    EXPECT_EQ(body_from(socket), "answer to " + target);
  }
}

TEST_F(ServerTest, AnAnswerLargerThanTheSocketTakesIsWrittenWholeToASlowReader) {
  auto socket = send(get("/big"));
  // Not reading for a while: the socket's buffers fill and the rest of the answer waits.
  std::this_thread::sleep_for(300ms);
  const auto body = body_from(socket);
  ASSERT_EQ(body.size(), ThreadedHandler::kBigBody);
  EXPECT_EQ(body.find_first_not_of('x'), std::string::npos);
  // And the connection carries on.
  asio::write(socket, asio::buffer(get("/after")));
  EXPECT_EQ(body_from(socket), "answer to /after");
}

TEST_F(ServerTest, StopLetsARequestBeingAnsweredFinishThenClosesItsConnection) {
  auto socket = send(get("/hold"));
  handler_.wait_held();
  running_->server->stop();
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(running_->finished);  // waiting for the answer
  handler_.release();
  auto res = read_response(socket, buf_);
  EXPECT_EQ(res.body(), "answer to /hold");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(closed(socket));
  running_->join();
  EXPECT_TRUE(running_->finished);
}

TEST_F(ServerTest, AnAnswerAfterTheShutdownGraceIsDroppedAndTheServerWaitsForIt) {
  options_.shutdown_grace = 1s;
  auto socket = send(get("/hold"));
  handler_.wait_held();
  const auto stopped = std::chrono::steady_clock::now();
  running_->server->stop();
  // The connection is cut at the deadline, without an answer.
  EXPECT_TRUE(closed(socket));
  EXPECT_GE(std::chrono::steady_clock::now() - stopped, 900ms);
  // run() has not returned: the handler still holds the request.
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(running_->finished);
  handler_.release();  // its answer now finds the connection cut
  running_->join();
  EXPECT_TRUE(running_->finished);
}

}  // namespace
}  // namespace latchkey::http
