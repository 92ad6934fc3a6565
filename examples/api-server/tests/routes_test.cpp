#include "routes.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace notes {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using Json = nlohmann::json;

class RoutesTest : public ::testing::Test {
 protected:
  latchkey::FakeClock clock_{1'700'000'000};
  latchkey::SeededRandom random_{1};
  testing::FakeLatchkey latchkey_{clock_};
  latchkey::tokens::JwksCache keys_{latchkey_.jwks(), clock_, {}};
  RevocationChecker revocations_{latchkey_.check(), clock_, {}};
  Authenticator auth_{keys_,
                      &revocations_,
                      {.issuer = testing::kIssuer, .audience = testing::kAudience, .leeway = 30s}};
  NoteBook book_{clock_, random_, {}};
  RouteDeps deps_{auth_, book_, [this] { return keys_.state().has_keys; }};
  std::string alice_ = latchkey_.mint("alice");
  std::string bob_ = latchkey_.mint("bob");
  std::string admin_ = latchkey_.mint("root", {"user", "admin"});

  Response call(http::verb method, const std::string& target, const std::string& token = "",
                const std::string& body = "", const std::string& type = "application/json") {
    Request req{method, target, 11};
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(http::field::content_type, type);
      req.body() = body;
      req.prepare_payload();
    }
    return handle(req, deps_);
  }
  static Json json(const Response& res) { return Json::parse(res.body()); }
  // Asserts a problem+json answer with this status and code.
  static void expect_problem(const Response& res, http::status status, std::string_view code) {
    EXPECT_EQ(res.result(), status);
    EXPECT_EQ(res[http::field::content_type], "application/problem+json");
    const Json body = Json::parse(res.body(), nullptr, false);
    ASSERT_TRUE(body.is_object()) << res.body();
    EXPECT_EQ(body.value("code", ""), code);
    EXPECT_EQ(body.value("status", 0), static_cast<int>(status));
    EXPECT_TRUE(body.contains("type") && body.contains("title") && body.contains("detail"));
  }
  std::string create(const std::string& token, const std::string& title) {
    auto res = call(http::verb::post, "/api/notes", token, Json{{"title", title}}.dump());
    EXPECT_EQ(res.result(), http::status::created);
    return json(res).value("id", "");
  }
};

TEST_F(RoutesTest, HealthAndReadiness) {
  auto res = call(http::verb::get, "/healthz");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(json(res)["status"], "ok");
  expect_problem(call(http::verb::get, "/readyz"), http::status::service_unavailable,
                 "unavailable");
  ASSERT_TRUE(keys_.refresh());
  EXPECT_EQ(call(http::verb::get, "/readyz").result(), http::status::ok);
  expect_problem(call(http::verb::post, "/healthz"), http::status::method_not_allowed,
                 "method_not_allowed");
}

TEST_F(RoutesTest, CreateReadListDelete) {
  auto created =
      call(http::verb::post, "/api/notes", alice_, R"({"title":"Groceries","body":"milk, eggs"})",
           "application/json; charset=utf-8");
  ASSERT_EQ(created.result(), http::status::created);
  const Json note = json(created);
  EXPECT_EQ(note["owner"], "alice");
  EXPECT_EQ(note["title"], "Groceries");
  EXPECT_EQ(note["body"], "milk, eggs");
  EXPECT_EQ(note["created_at"], "2023-11-14T22:13:20Z");
  const std::string id = note["id"];
  EXPECT_EQ(created[http::field::location], "/api/notes/" + id);
  EXPECT_EQ(created[http::field::cache_control], "no-store");

  auto got = call(http::verb::get, "/api/notes/" + id, alice_);
  EXPECT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(json(got), note);
  auto list = call(http::verb::get, "/api/notes", alice_);
  EXPECT_EQ(json(list)["notes"], Json::array({note}));

  auto gone = call(http::verb::delete_, "/api/notes/" + id, alice_);
  EXPECT_EQ(gone.result(), http::status::no_content);
  EXPECT_TRUE(gone.body().empty());
  expect_problem(call(http::verb::get, "/api/notes/" + id, alice_), http::status::not_found,
                 "not_found");
  EXPECT_EQ(json(call(http::verb::get, "/api/notes", alice_))["notes"], Json::array());
}

TEST_F(RoutesTest, OtherUsersNotesAreNotFound) {
  const std::string id = create(alice_, "mine");
  expect_problem(call(http::verb::get, "/api/notes/" + id, bob_), http::status::not_found,
                 "not_found");
  expect_problem(call(http::verb::delete_, "/api/notes/" + id, bob_), http::status::not_found,
                 "not_found");
  EXPECT_EQ(json(call(http::verb::get, "/api/notes", bob_))["notes"], Json::array());
  EXPECT_EQ(book_.size(), 1u);
}

TEST_F(RoutesTest, AllNeedsTheAdminRole) {
  create(alice_, "a");
  create(bob_, "b");
  expect_problem(call(http::verb::get, "/api/notes?all=1", alice_), http::status::forbidden,
                 "forbidden");
  auto all = call(http::verb::get, "/api/notes?all=1", admin_);
  ASSERT_EQ(all.result(), http::status::ok);
  EXPECT_EQ(json(all)["notes"].size(), 2u);
  EXPECT_EQ(json(call(http::verb::get, "/api/notes?all=true&x=y", admin_))["notes"].size(), 2u);
  EXPECT_EQ(json(call(http::verb::get, "/api/notes?all=0", admin_))["notes"].size(), 0u);
  expect_problem(call(http::verb::get, "/api/notes?all=yes", admin_), http::status::bad_request,
                 "invalid_request");
}

TEST_F(RoutesTest, BadBodiesAreRefusedAndNothingIsWritten) {
  expect_problem(call(http::verb::post, "/api/notes", alice_, "title=x", "text/plain"),
                 http::status::unsupported_media_type, "unsupported_media_type");
  expect_problem(call(http::verb::post, "/api/notes", alice_, "{"), http::status::bad_request,
                 "invalid_request");
  expect_problem(call(http::verb::post, "/api/notes", alice_, "[]"), http::status::bad_request,
                 "invalid_request");
  expect_problem(call(http::verb::post, "/api/notes", alice_, R"({"body":"x"})"),
                 http::status::bad_request, "invalid_request");
  expect_problem(call(http::verb::post, "/api/notes", alice_, R"({"title":1})"),
                 http::status::bad_request, "invalid_request");
  expect_problem(call(http::verb::post, "/api/notes", alice_, R"({"title":"t","owner":"bob"})"),
                 http::status::bad_request, "invalid_request");
  expect_problem(call(http::verb::post, "/api/notes", alice_, R"({"title":""})"),
                 http::status::bad_request, "invalid_request");
  expect_problem(call(http::verb::post, "/api/notes", alice_, "{\"title\":\"\xff\"}"),
                 http::status::bad_request, "invalid_request");
  EXPECT_EQ(book_.size(), 0u);
}

TEST_F(RoutesTest, TokensAreRequiredAndChecked) {
  auto res = call(http::verb::get, "/api/notes");
  expect_problem(res, http::status::unauthorized, "unauthenticated");
  EXPECT_EQ(res[http::field::www_authenticate], "Bearer");
  res = call(http::verb::get, "/api/notes", "garbage");
  expect_problem(res, http::status::unauthorized, "invalid_token");
  EXPECT_EQ(res[http::field::www_authenticate], "Bearer error=\"invalid_token\"");
  // A POST without a token writes nothing, whatever its body.
  expect_problem(call(http::verb::post, "/api/notes", "", R"({"title":"t"})"),
                 http::status::unauthorized, "unauthenticated");
  EXPECT_EQ(book_.size(), 0u);
}

TEST_F(RoutesTest, ARevokedTokenIsRefusedWithinTheCacheTtl) {
  create(alice_, "t");
  latchkey_.set_verdict(alice_, CheckVerdict::kRevoked);  // Latchkey: logged out
  EXPECT_EQ(call(http::verb::get, "/api/notes", alice_).result(), http::status::ok);  // cached
  clock_.advance(1s);
  expect_problem(call(http::verb::get, "/api/notes", alice_), http::status::unauthorized,
                 "token_revoked");
  expect_problem(call(http::verb::post, "/api/notes", alice_, R"({"title":"t"})"),
                 http::status::unauthorized, "token_revoked");
  EXPECT_EQ(book_.size(), 1u);
}

TEST_F(RoutesTest, LatchkeyDownIsUnavailable) {
  ASSERT_TRUE(keys_.refresh());
  latchkey_.down = true;
  expect_problem(call(http::verb::get, "/api/notes", alice_), http::status::service_unavailable,
                 "unavailable");
}

TEST_F(RoutesTest, UnknownRoutesAndMethods) {
  expect_problem(call(http::verb::get, "/api/other", alice_), http::status::not_found, "not_found");
  expect_problem(call(http::verb::get, "/api/notes/a/b", alice_), http::status::not_found,
                 "not_found");
  expect_problem(call(http::verb::get, "/api/notesx", alice_), http::status::not_found,
                 "not_found");
  auto res = call(http::verb::put, "/api/notes", alice_);
  expect_problem(res, http::status::method_not_allowed, "method_not_allowed");
  EXPECT_EQ(res[http::field::allow], "GET, POST");
  res = call(http::verb::post, "/api/notes/abc", alice_);
  expect_problem(res, http::status::method_not_allowed, "method_not_allowed");
  EXPECT_EQ(res[http::field::allow], "GET, DELETE");
  // Routing comes before authentication: no Latchkey call for a path that does not exist.
  EXPECT_EQ(latchkey_.check_calls, 0);
}

}  // namespace
}  // namespace notes
