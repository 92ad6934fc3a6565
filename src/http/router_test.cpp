#include "http/router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "http/cookies.hpp"
#include "http/json_body.hpp"
#include "http/pipeline.hpp"
#include "http/problem.hpp"

namespace latchkey::http {
namespace {

Handler ok() {
  return [](Context& ctx) { return Response{HttpStatus::ok, ctx.request.version()}; };
}

TEST(Router, MatchesLiteralsBeforePatternsAndExtractsParams) {
  Router r;
  r.add({Verb::get, "/api/me/sessions/{id}", Work::kBlocking, Auth::kBearer, ok()});
  r.add({Verb::get, "/api/me/sessions/current", Work::kInline, Auth::kNone, ok()});
  r.add({Verb::delete_, "/api/me/sessions/{id}", Work::kBlocking, Auth::kBearer, ok()});
  auto m = r.match(Verb::get, "/api/me/sessions/abc");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("id"), "abc");
  m = r.match(Verb::get, "/api/me/sessions/current");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/api/me/sessions/current");
  EXPECT_FALSE(r.match(Verb::get, "/api/me/sessions/").route);
  EXPECT_FALSE(r.match(Verb::get, "/api/me/sessions/a/b").route);
}

TEST(Router, MethodNotAllowedListsAllowedMethods) {
  Router r;
  r.add({Verb::get, "/api/me", Work::kBlocking, Auth::kBearer, ok()});
  r.add({Verb::patch, "/api/me", Work::kBlocking, Auth::kBearer, ok()});
  auto m = r.match(Verb::put, "/api/me");
  EXPECT_FALSE(m.route);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allow, "GET, PATCH");
  auto none = r.match(Verb::get, "/api/nothing");
  EXPECT_FALSE(none.method_not_allowed);
}

TEST(Router, LiteralRoutesMatchTheWholePathOnlyAndHeadFindsGet) {
  Router r;
  r.add({Verb::get, "/api/me", Work::kBlocking, Auth::kBearer, ok()});
  r.add({Verb::get, "/healthz", Work::kInline, Auth::kNone, ok()});
  r.add({Verb::post, "/api/me/{action}", Work::kBlocking, Auth::kBearer, ok()});
  EXPECT_TRUE(r.match(Verb::get, "/api/me").route);
  EXPECT_TRUE(r.match(Verb::head, "/healthz").route);
  for (const char* other : {"/api/me/", "/api/mex", "/api", "//api/me", "/API/ME", ""}) {
    EXPECT_FALSE(r.match(Verb::get, other).route) << other;
  }
  // A pattern route of another method makes the path exist: 405 with its method.
  auto m = r.match(Verb::get, "/api/me/password");
  EXPECT_FALSE(m.route);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
  m = r.match(Verb::post, "/api/me/password");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("action"), "password");
}

TEST(Problem, MapsCodesToStatusAndBody) {
  Request req{Verb::get, "/", 11};
  Error e = Error::make(ErrorCode::kRateLimited, "slow down");
  e.retry_after = 7;
  auto res = problem(req, e, "rid");
  EXPECT_EQ(res.result(), HttpStatus::too_many_requests);
  EXPECT_EQ(res[Field::content_type], "application/problem+json");
  EXPECT_EQ(res[Field::retry_after], "7");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["code"], "rate_limited");
  EXPECT_EQ(body["status"], 429);
  EXPECT_EQ(body["request_id"], "rid");
  EXPECT_EQ(status_of(ErrorCode::kInvalidToken), HttpStatus::unauthorized);
  auto expired = problem(req, Error::make(ErrorCode::kTokenExpired, "x"), "");
  EXPECT_EQ(expired[Field::www_authenticate], "Bearer error=\"invalid_token\"");
  auto bad_password = problem(req, Error::make(ErrorCode::kInvalidCredentials, "x"), "");
  EXPECT_EQ(bad_password.find(Field::www_authenticate), bad_password.end());
  EXPECT_EQ(status_of(ErrorCode::kCsrfFailed), HttpStatus::forbidden);
  EXPECT_EQ(status_of(ErrorCode::kPayloadTooLarge), HttpStatus::payload_too_large);
  // Internal details never reach the client.
  auto internal = problem(req, Error::internal("db password=hunter2"), "");
  EXPECT_EQ(internal.body().find("hunter2"), std::string::npos);
}

Request json_request(std::string body, std::string type = "application/json") {
  Request req{Verb::post, "/x", 11};
  req.set(Field::content_type, type);
  req.body() = std::move(body);
  return req;
}

TEST(JsonBody, RejectsWrongTypeMalformedAndUnknownMembers) {
  EXPECT_EQ(JsonBody::parse(json_request("{}", "text/plain")).error().code,
            ErrorCode::kUnsupportedMediaType);
  EXPECT_TRUE(JsonBody::parse(json_request("{}", "application/json; charset=utf-8")));
  EXPECT_EQ(JsonBody::parse(json_request("{")).error().code, ErrorCode::kMalformedJson);
  EXPECT_EQ(JsonBody::parse(json_request("[1]")).error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(JsonBody::parse(json_request("{\"a\":\"\xff\"}")).error().code,
            ErrorCode::kMalformedJson);
  auto body = JsonBody::parse(json_request(R"({"name":"x","roles":["admin"]})"));
  ASSERT_TRUE(body);
  EXPECT_EQ(body->string("name"), "x");
  auto st = body->finish();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "roles");
}

TEST(JsonBody, FieldRules) {
  auto body = JsonBody::parse(json_request(R"({"a":"abcdef","b":5,"c":"x\u0000y"})"));
  ASSERT_TRUE(body);
  body->string("a", {.max = 5});
  EXPECT_EQ(body->finish().error().field, "a");
  auto b2 = JsonBody::parse(json_request(R"({"b":5})"));
  b2->string("b");
  EXPECT_EQ(b2->finish().error().code, ErrorCode::kInvalidField);
  auto b3 = JsonBody::parse(json_request(R"({"c":"x\u0000y"})"));
  b3->string("c");
  EXPECT_EQ(b3->finish().error().field, "c");
  auto b5 = JsonBody::parse(json_request("{\"c\":\"x\u009by\"}"));
  b5->string("c");
  EXPECT_EQ(b5->finish().error().field, "c");  // C1 control
  auto b4 = JsonBody::parse(json_request(R"({"k":"한국어"})"));
  EXPECT_EQ(b4->string("k", {.max = 3}), "한국어");  // code points, not bytes
  EXPECT_TRUE(b4->finish());
}

TEST(Cookies, ParsesAndBuilds) {
  Request req{Verb::get, "/", 11};
  req.set(Field::cookie, "a=1; latchkey_csrf=abc ; b=\"q\"");
  EXPECT_EQ(cookie_value(req, "latchkey_csrf"), "abc");
  EXPECT_EQ(cookie_value(req, "b"), "q");
  EXPECT_FALSE(cookie_value(req, "latchkey"));
  EXPECT_EQ(set_cookie_header({"__Host-x", "v", true, true, "Strict", "/", 60}),
            "__Host-x=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Strict");
}

TEST(Cookies, DuplicateNamesWithDifferentValuesAreAmbiguous) {
  Request req{Verb::get, "/", 11};
  req.set(Field::cookie, "latchkey_refresh=tossed; a=1; latchkey_refresh=mine");
  EXPECT_FALSE(cookie_value(req, "latchkey_refresh"));  // cookie tossing: trust neither
  EXPECT_EQ(cookie_value(req, "a"), "1");
  req.set(Field::cookie, "a=1; a=1");
  EXPECT_EQ(cookie_value(req, "a"), "1");  // the same value twice is harmless
  Request two{Verb::get, "/", 11};
  two.insert(Field::cookie, "x=1");
  two.insert(Field::cookie, "x=2");  // across two Cookie headers too
  EXPECT_FALSE(cookie_value(two, "x"));
}

TEST(Pipeline, ClientIpTrustsForwardedForOnlyFromTrustedProxies) {
  Router router;
  WorkerPool workers(1, 1);
  Metrics metrics;
  Pipeline p({{"127.0.0.1", "10.0.0.0/8"}, {}, false}, router, workers, nullptr, metrics, nullptr,
             nullptr);
  EXPECT_EQ(p.client_ip("203.0.113.9", "1.2.3.4"), "203.0.113.9");  // untrusted peer: ignored
  EXPECT_EQ(p.client_ip("127.0.0.1", "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(p.client_ip("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.2.3"), "1.2.3.4");
  EXPECT_EQ(p.client_ip("127.0.0.1", "garbage"), "127.0.0.1");
  EXPECT_EQ(p.client_ip("127.0.0.1", ""), "127.0.0.1");
  workers.stop();
}

TEST(Pipeline, HashingRoutesGoToTheHashingPoolAndAFullOneAnswers503) {
  Router router;
  std::thread::id ran_on;
  router.add({Verb::post, "/api/auth/login", Work::kHashing, Auth::kNone, [&](Context& ctx) {
                ran_on = std::this_thread::get_id();
                return Response{HttpStatus::ok, ctx.request.version()};
              }});
  WorkerPool workers(1, 1);
  Metrics metrics;
  std::vector<std::function<void()>> posted;
  bool full = false;
  Pipeline p(
      {}, router, workers,
      [&](std::function<void()> job) {
        if (full) return false;
        posted.push_back(std::move(job));
        return true;
      },
      metrics, nullptr, nullptr);
  std::optional<Response> answer;
  auto login = [&] {
    answer.reset();
    p.handle(Request{Verb::post, "/api/auth/login", 11}, "127.0.0.1",
             [&](Response&& res) { answer = std::move(res); });
  };

  login();
  ASSERT_EQ(posted.size(), 1u);  // handed to the hashing pool, not run yet
  EXPECT_FALSE(answer);
  posted.front()();  // the pool runs it (here: on this thread)
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result(), HttpStatus::ok);
  EXPECT_EQ(ran_on, std::this_thread::get_id());

  full = true;
  login();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result(), HttpStatus::service_unavailable);
  EXPECT_EQ((*answer)[Field::retry_after], "1");
  EXPECT_NE(answer->body().find("\"overloaded\""), std::string::npos) << answer->body();
  EXPECT_EQ(posted.size(), 1u);
  workers.stop();
}

TEST(Pipeline, WaitIdleReturnsOnceEveryRequestHandedToAPoolIsAnsweredAndLetGo) {
  Router router;
  router.add({Verb::get, "/api/me", Work::kBlocking, Auth::kNone, [](Context& ctx) {
                return Response{HttpStatus::ok, ctx.request.version()};
              }});
  WorkerPool workers(1, 4);
  Metrics metrics;
  Pipeline p({}, router, workers, nullptr, metrics, nullptr, nullptr);
  // The blocking route goes to the worker pool; its one thread is held until `release`.
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  bool holding = false;
  ASSERT_TRUE(workers.submit([&] {
    std::unique_lock lock(mutex);
    holding = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  }));
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return holding; });
  }
  auto connection = std::make_shared<int>(0);  // what the transport's callback holds
  std::weak_ptr<int> held_by_callback = connection;
  std::atomic<bool> answered{false};
  p.handle(Request{Verb::get, "/api/me", 11}, "127.0.0.1",
           [&answered, connection](Response&&) { answered = true; });
  connection.reset();

  std::atomic<bool> idle{false};
  std::thread waiter([&] {
    p.wait_idle();
    idle = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(idle);  // the request is still queued behind the held job
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  waiter.join();
  EXPECT_TRUE(answered);
  EXPECT_TRUE(held_by_callback.expired());  // the callback went before wait_idle() returned
  p.wait_idle();                            // nothing in flight: returns at once
  workers.stop();
}

TEST(Pipeline, ApiPaths) {
  EXPECT_TRUE(is_api_path("/api/me"));
  EXPECT_TRUE(is_api_path("/.well-known/jwks.json"));
  EXPECT_TRUE(is_api_path("/healthz"));
  EXPECT_FALSE(is_api_path("/apix"));
  EXPECT_FALSE(is_api_path("/login"));
}

}  // namespace
}  // namespace latchkey::http
