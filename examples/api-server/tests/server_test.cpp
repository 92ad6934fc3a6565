#include "server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <thread>

namespace notes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// A real server on a free loopback port, with a handler that echoes the target.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(ServerOptions{.address = "127.0.0.1",
                                                     .port = 0,
                                                     .io_threads = 1,
                                                     .workers = 2,
                                                     .max_body_bytes = 64,
                                                     .max_header_bytes = 1024,
                                                     .header_timeout = std::chrono::seconds(5),
                                                     .idle_timeout = std::chrono::seconds(5),
                                                     .shutdown_grace = std::chrono::seconds(2)},
                                       [](const Request& req) {
                                         Response res{http::status::ok, req.version()};
                                         res.keep_alive(req.keep_alive());
                                         res.body() = std::string(req.target()) + "|" + req.body();
                                         res.prepare_payload();
                                         return res;
                                       });
    server_->bind();
    port_ = server_->port();
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] { server_->run([&ready] { ready.set_value(); }); });
    started.wait();
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }

  beast::tcp_stream connect() {
    beast::tcp_stream stream(ioc_);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    return stream;
  }
  static Response exchange(beast::tcp_stream& stream, http::request<http::string_body> req) {
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    Response res;
    http::read(stream, buffer, res);
    return res;
  }

  asio::io_context ioc_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

TEST_F(ServerTest, ServesSeveralRequestsOnOneConnection) {
  ASSERT_NE(port_, 0);
  auto stream = connect();
  for (const char* target : {"/one", "/two", "/three"}) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.body() = "hi";
    auto res = exchange(stream, req);
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res.body(), std::string(target) + "|hi");
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST_F(ServerTest, RefusesAnOversizedBodyWithProblemJson) {
  auto stream = connect();
  http::request<http::string_body> req{http::verb::post, "/api/notes", 11};
  req.body() = std::string(65, 'x');
  auto res = exchange(stream, req);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_EQ(res[http::field::content_type], "application/problem+json");
  EXPECT_EQ(nlohmann::json::parse(res.body())["code"], "payload_too_large");
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, RefusesGarbageWithBadRequest) {
  auto stream = connect();
  const std::string garbage = "HELLO THERE\r\n\r\n";
  asio::write(stream.socket(), asio::buffer(garbage));
  beast::flat_buffer buffer;
  Response res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(nlohmann::json::parse(res.body())["code"], "invalid_request");
}

}  // namespace
}  // namespace notes
