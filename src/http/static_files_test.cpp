#include "http/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace latchkey::http {
namespace {

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("latchkey-web-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "assets");
    std::ofstream(root_ / "index.html") << "<!doctype html><title>app</title>";
    std::ofstream(root_ / "assets" / "app-1234.js") << "console.log(1)";
    std::ofstream(root_ / "favicon.svg") << "<svg/>";
    std::ofstream(root_.parent_path() / "secret.txt") << "secret";
    files_ = StaticFiles::load(root_.string());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  Response get(std::string_view path) {
    Request req{Verb::get, path, 11};
    return files_.serve(req, path);
  }

  std::filesystem::path root_;
  StaticFiles files_;
};

TEST_F(StaticFilesTest, ServesFilesWithTypesAndCaching) {
  auto js = get("/assets/app-1234.js");
  EXPECT_EQ(js.result(), HttpStatus::ok);
  EXPECT_EQ(js[Field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(js[Field::cache_control], "public, max-age=31536000, immutable");
  auto index = get("/");
  EXPECT_EQ(index.body(), "<!doctype html><title>app</title>");
  EXPECT_EQ(index[Field::cache_control], "no-cache");
  EXPECT_EQ(get("/favicon.svg")[Field::content_type], "image/svg+xml");
}

TEST_F(StaticFilesTest, AppRoutesFallBackToIndex) {
  auto r = get("/profile/security");
  EXPECT_EQ(r.result(), HttpStatus::ok);
  EXPECT_EQ(r[Field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(r[Field::cache_control], "no-cache");
}

TEST_F(StaticFilesTest, MissingFilesAndTraversalAre404) {
  EXPECT_EQ(get("/assets/missing.js").result(), HttpStatus::not_found);
  for (const char* bad : {"/../secret.txt", "/assets/../../secret.txt", "/./index.html", "/..",
                          "/assets/..\\..\\secret.txt"}) {
    auto r = get(bad);
    EXPECT_EQ(r.result(), HttpStatus::not_found) << bad;
    EXPECT_EQ(r.body().find("secret"), std::string::npos) << bad;
  }
  EXPECT_EQ(get(std::string_view("/index.html\0.js", 15)).result(), HttpStatus::not_found);
}

TEST(StaticFiles, AbsentRootIsEmpty) {
  auto files = StaticFiles::load("/nonexistent/latchkey/web");
  EXPECT_TRUE(files.empty());
}

}  // namespace
}  // namespace latchkey::http
