#include "courier/sms_channels.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "testing/log_capture.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// --- Test doubles -------------------------------------------------------------------------------

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 in a thread: records every request
// and answers what `handler` says (or never answers, to test timeouts). Connection: close.
class TinyHttpServer {
 public:
  struct Request {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };
  struct Reply {
    int status = 200;
    std::string body = R"({"ok":true})";
    bool hang = false;  // read the request, then answer nothing until the server stops
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit TinyHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
      ::close(fd_);
      throw std::runtime_error("bind/listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  TinyHttpServer(const TinyHttpServer&) = delete;
  TinyHttpServer& operator=(const TinyHttpServer&) = delete;

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  bool wait_readable(int fd) const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 20) > 0;
  }

  void run() {
    while (!stop_) {
      if (!wait_readable(fd_)) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }

  // Reads until `done(data)` or 5 s pass or the server stops; false when it gave up.
  bool read_until(int c, std::string& data, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (stop_ || std::chrono::steady_clock::now() > deadline) return false;
      if (!wait_readable(c)) continue;
      char buf[4096];
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  void serve(int c) {
    std::string data;
    std::size_t head_end = std::string::npos;
    if (!read_until(c, data, [&] { return (head_end = data.find("\r\n\r\n")) != data.npos; })) {
      return;
    }
    Request req;
    std::istringstream head(data.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    std::istringstream(line) >> req.method >> req.target;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      req.headers[name] = value;
    }
    const std::size_t length =
        req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    const std::size_t body_start = head_end + 4;
    if (!read_until(c, data, [&] { return data.size() >= body_start + length; })) return;
    req.body = data.substr(body_start, length);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(req);
    }
    const Reply reply = handler_(req);
    if (reply.hang) {
      while (!stop_) std::this_thread::sleep_for(10ms);
      return;
    }
    const std::string out = "HTTP/1.1 " + std::to_string(reply.status) +
                            " Status\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" +
                            reply.body;
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::write(c, out.data() + done, out.size() - done);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  std::thread thread_;
};

// A loopback port nobody listens on (bound, then closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

using latchkey::testing::LogCapture;

// An independent application/x-www-form-urlencoded decoder ('+' is space, %XX a byte).
std::map<std::string, std::string> form_decode(std::string_view s) {
  const auto unescape = [](std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out += ' ';
      } else if (in[i] == '%' && i + 2 < in.size()) {
        out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += in[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    const auto amp = s.find('&');
    const std::string_view pair = s.substr(0, amp);
    const auto eq = pair.find('=');
    out[unescape(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : unescape(pair.substr(eq + 1));
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
  }
  return out;
}

// The message of the std::invalid_argument `f` throws ("" when it does not throw).
std::string constructor_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

constexpr char kSid[] = "AC0123456789abcdef0123456789abcdef";
constexpr char kToken[] = "tok-secret-123";
constexpr char kSecret[] = "whsec_0123456789abcdef";
constexpr char kId[] = "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";

Sms code_sms() {
  return Sms{"+821012345678", "[Latchkey] 인증 코드: 482913 (1+1 & 끝)", "phone_code"};
}

TwilioSmsOptions twilio_options(const std::string& base) {
  return TwilioSmsOptions{base, kSid, kToken, "+15005550006", 2000ms};
}

// --- Pure helpers
// ---------------------------------------------------------------------------------

TEST(SmsWebhookSignature, MatchesAnIndependentlyComputedVector) {
  // printf '%s' '1700000000.{"id":"m-1","text":"코드 482913"}' |
  //   openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
  const std::string body = R"({"id":"m-1","text":"코드 482913"})";
  EXPECT_EQ(webhook_signature(kSecret, 1'700'000'000, body),
            "t=1700000000,v1=7b4037d9afd56aa337e91ad5ec79cf5a47a0383dcc80fd8cf69fb5e112e56e05");
  // Each input counts.
  EXPECT_NE(webhook_signature(kSecret, 1'700'000'001, body),
            webhook_signature(kSecret, 1'700'000'000, body));
  EXPECT_NE(webhook_signature("whsec_0123456789abcdeF", 1'700'000'000, body).substr(17),
            webhook_signature(kSecret, 1'700'000'000, body).substr(17));
  EXPECT_NE(webhook_signature(kSecret, 1'700'000'000, body + " ").substr(17),
            webhook_signature(kSecret, 1'700'000'000, body).substr(17));
}

TEST(SmsFormEncode, EncodesUtf8PlusAmpersandAndSpace) {
  EXPECT_EQ(form_encode({}), "");
  EXPECT_EQ(form_encode({{"Body", "코드 1+1&"}}), "Body=%EC%BD%94%EB%93%9C+1%2B1%26");
  EXPECT_EQ(form_encode({{"To", "+821012345678"}, {"Body", "a=b;c/d?e%f ~._-"}, {"Empty", ""}}),
            "To=%2B821012345678&Body=a%3Db%3Bc%2Fd%3Fe%25f+~._-&Empty=");
  // Round trip through an independent decoder.
  const Sms sms = code_sms();
  const auto decoded = form_decode(form_encode({{"To", sms.to}, {"Body", sms.text}}));
  EXPECT_EQ(decoded.at("To"), sms.to);
  EXPECT_EQ(decoded.at("Body"), sms.text);
}

TEST(SmsIsE164, AcceptsOnlyPlusAndDigits) {
  EXPECT_TRUE(is_e164("+821012345678"));
  EXPECT_TRUE(is_e164("+15005550006"));
  EXPECT_TRUE(is_e164("+12"));
  EXPECT_TRUE(is_e164("+123456789012345"));    // 15 digits
  EXPECT_FALSE(is_e164("+1234567890123456"));  // 16 digits
  EXPECT_FALSE(is_e164("821012345678"));
  EXPECT_FALSE(is_e164("+0821012345678"));
  EXPECT_FALSE(is_e164("+82 10 1234 5678"));
  EXPECT_FALSE(is_e164("+82-10-1234-5678"));
  EXPECT_FALSE(is_e164("+8210\n"));
  EXPECT_FALSE(is_e164("+"));
  EXPECT_FALSE(is_e164(""));
}

// --- Twilio
// ---------------------------------------------------------------------------------------

TEST(TwilioSmsChannel, ConstructorValidatesAndNamesTheKey) {
  const auto error = [](TwilioSmsOptions o) {
    return constructor_error([&] { TwilioSmsChannel c(std::move(o)); });
  };
  const auto good = twilio_options("https://api.twilio.com");
  EXPECT_EQ(error(good), "");
  for (const char* base : {"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9/",
                           "https://api.twilio.com/", "https://proxy.example.com/twilio"}) {
    auto o = good;
    o.api_base = base;
    EXPECT_EQ(error(o), "") << base;
  }
  for (const char* base : {"http://api.twilio.com", "http://10.0.0.1", "ftp://api.twilio.com",
                           "https://AC1:tok@api.twilio.com", "https://api.twilio.com/?x=1",
                           "https://api.twilio.com/#f", "not a url", ""}) {
    auto o = good;
    o.api_base = base;
    EXPECT_NE(error(o).find("sms.twilio_api_base"), std::string::npos) << base;
  }
  for (const char* sid :
       {"", "AC0123", "XX0123456789abcdef0123456789abcdef", "AC0123456789abcdef0123456789abcdeg",
        "AC0123456789abcdef0123456789abcdef0", "AC/../../0123456789abcdef0123456"}) {
    auto o = good;
    o.account_sid = sid;
    EXPECT_NE(error(o).find("sms.twilio_account_sid"), std::string::npos) << sid;
  }
  for (const char* token : {"", "tok\r\nX-Evil: 1"}) {
    auto o = good;
    o.auth_token = token;
    EXPECT_NE(error(o).find("sms.twilio_auth_token"), std::string::npos);
  }
  for (const char* from : {"Latchkey", "LK 2FA"}) {
    auto o = good;
    o.from = from;
    EXPECT_EQ(error(o), "") << from;
  }
  for (const char* from : {"", "15005550006", "123", "Latchkey Auth", "래치키", "+1500\n"}) {
    auto o = good;
    o.from = from;
    EXPECT_NE(error(o).find("sms.twilio_from"), std::string::npos) << from;
  }
  auto o = good;
  o.timeout = 0ms;
  EXPECT_NE(error(o).find("sms.timeout"), std::string::npos);
  // No secret in the message.
  o = good;
  o.api_base = "http://api.twilio.com";
  EXPECT_EQ(error(o).find(kToken), std::string::npos);
}

TEST(TwilioSmsChannel, PostsTheFormWithBasicAuthAndIdempotencyToken) {
  TinyHttpServer server([](const auto&) {
    return TinyHttpServer::Reply{
        201, R"({"sid":"SM00000000000000000000000000000001","status":"queued"})"};
  });
  TwilioSmsChannel channel(twilio_options(server.base() + "/"));
  EXPECT_EQ(channel.messages_url(),
            server.base() + "/2010-04-01/Accounts/" + kSid + "/Messages.json");
  const Status s = channel.send(code_sms(), kId);
  ASSERT_TRUE(s.ok()) << s.error().log_detail;

  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, std::string("/2010-04-01/Accounts/") + kSid + "/Messages.json");
  EXPECT_EQ(r.headers.at("content-type"), "application/x-www-form-urlencoded");
  // printf '%s' 'AC0123456789abcdef0123456789abcdef:tok-secret-123' | base64 -w0
  EXPECT_EQ(r.headers.at("authorization"),
            "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2stc2VjcmV0LTEyMw==");
  EXPECT_EQ(r.headers.at("i-twilio-idempotency-token"), kId);
  EXPECT_EQ(r.headers.count("expect"), 0u);
  const auto form = form_decode(r.body);
  EXPECT_EQ(form,
            (std::map<std::string, std::string>{
                {"To", "+821012345678"}, {"From", "+15005550006"}, {"Body", code_sms().text}}));
  EXPECT_EQ(r.body.find(' '), std::string::npos);  // really encoded, not just passed through
}

TEST(TwilioSmsChannel, ClientErrorsArePermanentWithTwilioCodeButNoSecrets) {
  TinyHttpServer server([](const auto&) {
    // Twilio-style error; this one (unlike Twilio) also echoes the text, with the code.
    return TinyHttpServer::Reply{
        400, R"j({"code":21211,"message":"The 'To' number is not valid (body: [Latchkey] )j"
             R"j(인증 코드: 482913, token tok-secret-123)","status":400})j"};
  });
  TwilioSmsChannel channel(twilio_options(server.base()));
  const Status s = channel.send(code_sms(), kId);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
  const auto& d = s.error().log_detail;
  EXPECT_EQ(d.rfind("twilio: HTTP 400, Twilio error 21211: The 'To' number is not valid", 0), 0u)
      << d;
  EXPECT_EQ(d.find(kToken), std::string::npos) << d;
  EXPECT_EQ(d.find("482913"), std::string::npos) << d;
  EXPECT_NE(d.find("[code]"), std::string::npos) << d;
}

TEST(TwilioSmsChannel, StatusDecidesTransientOrPermanent) {
  int status = 0;
  TinyHttpServer server([&](const auto&) {
    return TinyHttpServer::Reply{status, R"({"code":20500,"message":"Internal Server Error"})"};
  });
  TwilioSmsChannel channel(twilio_options(server.base()));
  for (int st : {200, 201, 202}) {
    status = st;
    EXPECT_TRUE(channel.send(code_sms(), kId).ok()) << st;
  }
  for (int st : {408, 429, 500, 502, 503, 504}) {
    status = st;
    const Status s = channel.send(code_sms(), kId);
    ASSERT_FALSE(s.ok()) << st;
    EXPECT_EQ(s.error().code, ErrorCode::kUnavailable) << st;
    EXPECT_NE(s.error().log_detail.find("HTTP " + std::to_string(st)), std::string::npos);
  }
  for (int st : {301, 400, 401, 403, 404, 422}) {
    status = st;
    const Status s = channel.send(code_sms(), kId);
    ASSERT_FALSE(s.ok()) << st;
    EXPECT_EQ(s.error().code, ErrorCode::kInternal) << st;
  }
}

TEST(TwilioSmsChannel, ConnectionRefusedAndTimeoutAreTransient) {
  TwilioSmsChannel refused(twilio_options("http://127.0.0.1:" + std::to_string(closed_port())));
  const Status s1 = refused.send(code_sms(), kId);
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s1.error().log_detail.find("curl error 7"), std::string::npos) << s1.error().log_detail;

  TinyHttpServer server([](const auto&) { return TinyHttpServer::Reply{200, "", true}; });
  auto o = twilio_options(server.base());
  o.timeout = 300ms;
  TwilioSmsChannel slow(o);
  const auto started = std::chrono::steady_clock::now();
  const Status s2 = slow.send(code_sms(), kId);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s2.error().log_detail.find("curl error 28"), std::string::npos)
      << s2.error().log_detail;
  EXPECT_LT(took, 3s);
}

TEST(TwilioSmsChannel, BadMessagesAreRefusedBeforeAnyRequest) {
  TinyHttpServer server([](const auto&) { return TinyHttpServer::Reply{201}; });
  TwilioSmsChannel channel(twilio_options(server.base()));
  const auto field_of = [&](const Sms& sms, const std::string& id) {
    const Status s = channel.send(sms, id);
    EXPECT_FALSE(s.ok());
    if (s.ok()) return std::string("(sent)");
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidField);
    return s.error().field;
  };
  Sms sms = code_sms();
  sms.to = "010-1234-5678";
  EXPECT_EQ(field_of(sms, kId), "to");
  sms = code_sms();
  sms.text = "";
  EXPECT_EQ(field_of(sms, kId), "text");
  sms.text = "\xff\xfe";
  EXPECT_EQ(field_of(sms, kId), "text");
  sms.text = std::string(kMaxSmsText + 1, 'a');
  EXPECT_EQ(field_of(sms, kId), "text");
  sms = code_sms();
  EXPECT_EQ(field_of(sms, ""), "message_id");
  EXPECT_EQ(field_of(sms, "m-1\r\nX-Evil: 1"), "message_id");
  EXPECT_EQ(field_of(sms, "m 1"), "message_id");
  EXPECT_EQ(field_of(sms, std::string(129, 'a')), "message_id");
  sms.template_id = "phone\ncode";
  EXPECT_EQ(field_of(sms, kId), "template_id");
  EXPECT_TRUE(server.requests().empty());
  // The longest allowed text is sent.
  sms = code_sms();
  sms.text = std::string(kMaxSmsText - 1, 'a') + "가";
  EXPECT_TRUE(channel.send(sms, kId).ok());
}

// --- Webhook
// --------------------------------------------------------------------------------------

TEST(WebhookSmsChannel, ConstructorValidatesAndNamesTheKey) {
  FakeClock clock;
  const auto error = [&](WebhookSmsOptions o) {
    return constructor_error([&] { WebhookSmsChannel c(std::move(o), clock); });
  };
  const WebhookSmsOptions good{"https://sms-gw.internal/send?tenant=1", kSecret, 5000ms};
  EXPECT_EQ(error(good), "");
  for (const char* url : {"http://127.0.0.1:9/hook", "http://localhost/x", "http://[::1]:1/"}) {
    auto o = good;
    o.url = url;
    EXPECT_EQ(error(o), "") << url;
  }
  for (const char* url : {"http://sms-gw.internal/send", "http://192.168.0.1/", "file:///etc/x",
                          "https://u:p@sms-gw.internal/", "https://sms-gw.internal/#x", ""}) {
    auto o = good;
    o.url = url;
    EXPECT_NE(error(o).find("sms.webhook_url"), std::string::npos) << url;
  }
  auto o = good;
  o.secret = "0123456789abcde";  // 15 bytes
  EXPECT_NE(error(o).find("sms.webhook_secret"), std::string::npos);
  EXPECT_EQ(error(o).find("0123456789abcde"), std::string::npos);
  o.secret = "0123456789abcdef";  // 16 bytes
  EXPECT_EQ(error(o), "");
  o.timeout = -1ms;
  EXPECT_NE(error(o).find("sms.timeout"), std::string::npos);
}

TEST(WebhookSmsChannel, PostsSignedJson) {
  TinyHttpServer server([](const auto&) { return TinyHttpServer::Reply{200}; });
  FakeClock clock(1'700'000'123);
  WebhookSmsChannel channel({server.base() + "/sms?tenant=a", kSecret, 2000ms}, clock);
  const Status s = channel.send(code_sms(), kId);
  ASSERT_TRUE(s.ok()) << s.error().log_detail;

  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/sms?tenant=a");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("x-latchkey-message-id"), kId);
  EXPECT_EQ(r.headers.count("authorization"), 0u);
  const auto json = nlohmann::json::parse(r.body);
  EXPECT_EQ(json, (nlohmann::json{{"id", kId},
                                  {"to", "+821012345678"},
                                  {"text", code_sms().text},
                                  {"template_id", "phone_code"},
                                  {"created_at", 1'700'000'123}}));
  EXPECT_NE(r.body.find("인증"), std::string::npos);  // UTF-8 as is, not \u escapes
  EXPECT_EQ(r.headers.at("x-latchkey-signature"),
            webhook_signature(kSecret, 1'700'000'123, r.body));
  EXPECT_EQ(r.headers.at("x-latchkey-signature").rfind("t=1700000123,v1=", 0), 0u);

  // A retry later: same id, new t and signature.
  clock.advance(90s);
  ASSERT_TRUE(channel.send(code_sms(), kId).ok());
  const auto again = server.requests().at(1);
  EXPECT_EQ(again.headers.at("x-latchkey-message-id"), kId);
  EXPECT_EQ(again.headers.at("x-latchkey-signature"),
            webhook_signature(kSecret, 1'700'000'213, again.body));
  EXPECT_EQ(nlohmann::json::parse(again.body).at("created_at"), 1'700'000'213);
}

TEST(WebhookSmsChannel, StatusDecidesTransientOrPermanentAndDetailHasNoCode) {
  int status = 0;
  TinyHttpServer server([&](const TinyHttpServer::Request& req) {
    // A careless gateway that echoes the whole request in its error.
    return TinyHttpServer::Reply{status, "bad request: " + req.body + " sig " +
                                             req.headers.at("x-latchkey-signature") + " " +
                                             kSecret};
  });
  FakeClock clock;
  WebhookSmsChannel channel({server.base(), kSecret, 2000ms}, clock);
  for (int st : {200, 202, 204}) {
    status = st;
    EXPECT_TRUE(channel.send(code_sms(), kId).ok()) << st;
  }
  for (int st : {408, 429, 500, 503}) {
    status = st;
    const Status s = channel.send(code_sms(), kId);
    ASSERT_FALSE(s.ok()) << st;
    EXPECT_EQ(s.error().code, ErrorCode::kUnavailable) << st;
  }
  for (int st : {302, 400, 401, 403, 404, 409, 413}) {
    status = st;
    const Status s = channel.send(code_sms(), kId);
    ASSERT_FALSE(s.ok()) << st;
    EXPECT_EQ(s.error().code, ErrorCode::kInternal) << st;
    const auto& d = s.error().log_detail;
    EXPECT_EQ(d.rfind("webhook: HTTP " + std::to_string(st) + ": bad request: ", 0), 0u) << d;
    EXPECT_EQ(d.find("482913"), std::string::npos) << d;
    EXPECT_EQ(d.find(kSecret), std::string::npos) << d;
    EXPECT_LE(d.size(), 500u + std::string("…").size());
  }
}

TEST(WebhookSmsChannel, NetworkFailuresAreTransientAndBadMessagesAreNotSent) {
  FakeClock clock;
  WebhookSmsChannel refused(
      {"http://127.0.0.1:" + std::to_string(closed_port()) + "/x", kSecret, 2000ms}, clock);
  const Status s = refused.send(code_sms(), kId);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);

  TinyHttpServer server([](const auto&) { return TinyHttpServer::Reply{200, "", true}; });
  WebhookSmsChannel slow({server.base(), kSecret, 300ms}, clock);
  const Status t = slow.send(code_sms(), kId);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);

  Sms bad = code_sms();
  bad.to = "+82 10";
  const Status b = slow.send(bad, "m-2");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(b.error().field, "to");
  EXPECT_EQ(server.requests().size(), 1u);  // only the one that timed out
}

// --- Log
// ------------------------------------------------------------------------------------------

class LogSmsChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("latchkey-sms-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    dir_ = root_ / "outbox" / "sms";  // does not exist yet
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::size_t files_in_dir() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(LogSmsChannelTest, WritesTheFileAndLogsTheText) {
  LogSmsChannel channel(dir_.string());
  LogCapture capture;
  const Status s = channel.send(code_sms(), kId);
  ASSERT_TRUE(s.ok()) << s.error().log_detail;

  const fs::path file = dir_ / (std::string(kId) + ".txt");
  EXPECT_EQ(channel.path_for(kId), file.string());
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(files_in_dir(), 1u);  // no temporary file left behind
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(read(file), std::string("to: +821012345678\ntemplate_id: phone_code\nmessage_id: ") +
                            kId + "\n\n[Latchkey] 인증 코드: 482913 (1+1 & 끝)\n");

  const auto events = capture.events();
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.at("to"), "+821012345678");
  EXPECT_EQ(e.at("template_id"), "phone_code");
  EXPECT_EQ(e.at("message_id"), kId);
  EXPECT_EQ(e.at("file"), file.string());
  EXPECT_EQ(e.at("text"), code_sms().text);
}

TEST_F(LogSmsChannelTest, RetryReplacesAndIdsStayInside) {
  LogSmsChannel channel(dir_.string());
  LogCapture capture;
  Sms sms = code_sms();
  ASSERT_TRUE(channel.send(sms, "m-1").ok());
  sms.text = "second attempt";
  ASSERT_TRUE(channel.send(sms, "m-1").ok());
  EXPECT_EQ(files_in_dir(), 1u);
  EXPECT_NE(read(dir_ / "m-1.txt").find("\n\nsecond attempt\n"), std::string::npos);

  ASSERT_TRUE(channel.send(sms, "../../escape").ok());
  EXPECT_TRUE(fs::is_regular_file(dir_ / "%2E%2E%2F%2E%2E%2Fescape.txt"));
  EXPECT_FALSE(fs::exists(root_ / "escape.txt"));
  EXPECT_EQ(files_in_dir(), 2u);
}

TEST_F(LogSmsChannelTest, RefusesWhatProductionWouldAndReportsUnwritableDirs) {
  LogCapture capture;
  LogSmsChannel channel(dir_.string());
  Sms sms = code_sms();
  sms.to = "01012345678";
  const Status s = channel.send(sms, kId);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(s.error().field, "to");
  EXPECT_FALSE(fs::exists(dir_));

  fs::create_directories(root_);
  std::ofstream(root_ / "file") << "x";
  LogSmsChannel blocked((root_ / "file" / "sms").string());
  const Status u = blocked.send(code_sms(), kId);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(u.error().log_detail.empty());
  EXPECT_TRUE(capture.events().empty());

  EXPECT_NE(constructor_error([] { LogSmsChannel c(""); }).find("sms.log_dir"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::courier
