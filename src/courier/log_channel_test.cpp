#include "courier/log_channel.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/encoding.hpp"
#include "testing/log_capture.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;

using latchkey::testing::LogCapture;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string decoded_part(const std::string& msg, std::string_view content_type) {
  const std::string head = "Content-Type: " + std::string(content_type) +
                           "; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  auto start = msg.find(head);
  EXPECT_NE(start, std::string::npos) << content_type;
  if (start == std::string::npos) return {};
  start += head.size();
  const auto end = msg.find("\r\n--", start);
  std::string b64;
  for (char c : msg.substr(start, end - start)) {
    if (c != '\r' && c != '\n') b64 += c;
  }
  auto bytes = base64_decode(b64);
  EXPECT_TRUE(bytes.has_value());
  return bytes ? to_string(*bytes) : "";
}

class LogChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("latchkey-mail-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    dir_ = root_ / "outbox" / "mail";  // does not exist yet
  }
  void TearDown() override { fs::remove_all(root_); }

  std::size_t files_in_dir() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }

  Email email() const {
    return Email{"kim@example.com",
                 "김민수",
                 "이메일 인증",
                 "안녕하세요,\n인증 링크: https://auth.example.com/verify?token=abc123.\n"
                 "(또는 https://auth.example.com/verify?token=abc123)\n"
                 "문의: http://help.example.com/faq#mail, 끝\n",
                 "<p><a href=\"https://html-only.example.com/x\">인증</a></p>",
                 "verify_email"};
  }

  FakeClock clock_{1'700'000'000};
  fs::path root_;
  fs::path dir_;
};

TEST_F(LogChannelTest, WritesTheMimeMessageAndLogsTheLinks) {
  LogChannel channel(dir_.string(), "no-reply@example.com", "Latchkey", clock_);
  LogCapture capture;
  const Status s = channel.send(email(), "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b");
  ASSERT_TRUE(s.ok()) << s.error().log_detail;

  const fs::path file = dir_ / "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b.eml";
  EXPECT_EQ(channel.path_for("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"), file.string());
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(files_in_dir(), 1u);  // no temporary file left behind
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);

  const std::string msg = read_file(file);
  EXPECT_EQ(msg.rfind("From: Latchkey <no-reply@example.com>\r\n"
                      "To: =?UTF-8?B?6rmA66+87IiY?= <kim@example.com>\r\n"
                      "Subject: =?UTF-8?B?7J2066mU7J28IOyduOymnQ==?=\r\n"
                      "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                      "Message-ID: <0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b@example.com>\r\n"
                      "MIME-Version: 1.0\r\n",
                      0),
            0u)
      << msg;
  EXPECT_EQ(decoded_part(msg, "text/plain"), email().text);
  EXPECT_EQ(decoded_part(msg, "text/html"), email().html);

  const auto events = capture.events();
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.at("to"), "kim@example.com");
  EXPECT_EQ(e.at("subject"), "이메일 인증");
  EXPECT_EQ(e.at("template_id"), "verify_email");
  EXPECT_EQ(e.at("file"), file.string());
  EXPECT_EQ(e.at("urls"), nlohmann::json::array({"https://auth.example.com/verify?token=abc123",
                                                 "http://help.example.com/faq#mail"}));
}

TEST_F(LogChannelTest, RetryReplacesTheFile) {
  LogChannel channel(dir_.string(), "no-reply@example.com", "", clock_);
  LogCapture capture;
  Email e = email();
  ASSERT_TRUE(channel.send(e, "m-1").ok());
  e.subject = "second attempt";
  clock_.advance(std::chrono::seconds(60));
  ASSERT_TRUE(channel.send(e, "m-1").ok());
  EXPECT_EQ(files_in_dir(), 1u);
  const std::string msg = read_file(dir_ / "m-1.eml");
  EXPECT_NE(msg.find("\r\nSubject: second attempt\r\n"), std::string::npos);
  EXPECT_NE(msg.find("\r\nDate: Tue, 14 Nov 2023 22:14:20 +0000\r\n"), std::string::npos);
  EXPECT_EQ(msg.rfind("From: no-reply@example.com\r\n", 0), 0u);
}

TEST_F(LogChannelTest, MessageIdNeverLeavesTheDirectory) {
  LogChannel channel(dir_.string(), "no-reply@example.com", "Latchkey", clock_);
  LogCapture capture;
  ASSERT_TRUE(channel.send(email(), "../../escape").ok());
  ASSERT_TRUE(channel.send(email(), "").ok());
  ASSERT_TRUE(channel.send(email(), ".hidden/x").ok());
  EXPECT_TRUE(fs::is_regular_file(dir_ / "%2E%2E%2F%2E%2E%2Fescape.eml"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "%.eml"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "%2Ehidden%2Fx.eml"));
  EXPECT_EQ(files_in_dir(), 3u);
  EXPECT_FALSE(fs::exists(root_ / "escape.eml"));
}

TEST_F(LogChannelTest, BadRecipientWritesNothing) {
  LogChannel channel(dir_.string(), "no-reply@example.com", "Latchkey", clock_);
  LogCapture capture;
  Email e = email();
  e.to = "kim@example.com\r\nBcc: evil@example.org";
  const Status s = channel.send(e, "m-2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidEmail);
  EXPECT_EQ(s.error().field, "to");
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_TRUE(capture.events().empty());
}

TEST_F(LogChannelTest, UnwritableDirectoryIsUnavailable) {
  fs::create_directories(root_);
  std::ofstream(root_ / "file") << "x";
  LogChannel channel((root_ / "file" / "mail").string(), "no-reply@example.com", "", clock_);
  LogCapture capture;
  const Status s = channel.send(email(), "m-3");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(s.error().log_detail.empty());
  EXPECT_TRUE(capture.events().empty());
}

TEST_F(LogChannelTest, ConstructorRejectsBadOptions) {
  EXPECT_THROW(LogChannel("", "no-reply@example.com", "", clock_), std::invalid_argument);
  EXPECT_THROW(LogChannel(dir_.string(), "no reply@example.com", "", clock_),
               std::invalid_argument);
}

TEST(UrlsIn, FindsLinksWithoutSurroundingPunctuation) {
  EXPECT_EQ(urls_in(""), std::vector<std::string>{});
  EXPECT_EQ(urls_in("no links, just http:// and https://"), std::vector<std::string>{});
  EXPECT_EQ(urls_in("Go to https://a.example/v?t=1&u=2."),
            std::vector<std::string>{"https://a.example/v?t=1&u=2"});
  EXPECT_EQ(
      urls_in("(see https://a.example/x) or <http://b.example/y>, \"https://c.example\"!"),
      (std::vector<std::string>{"https://a.example/x", "http://b.example/y", "https://c.example"}));
  EXPECT_EQ(urls_in("https://en.example.org/wiki/Foo_(bar)"),
            std::vector<std::string>{"https://en.example.org/wiki/Foo_(bar)"});
  EXPECT_EQ(urls_in("링크:https://a.example/한글 https://a.example/%ED%95%9C\thttps://b.example"),
            (std::vector<std::string>{"https://a.example/", "https://a.example/%ED%95%9C",
                                      "https://b.example"}));
  EXPECT_EQ(urls_in("https://a.example/x https://a.example/x"),
            std::vector<std::string>{"https://a.example/x"});
}

}  // namespace
}  // namespace latchkey::courier
