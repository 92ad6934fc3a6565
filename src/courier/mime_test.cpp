#include "courier/mime.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <vector>

#include "common/encoding.hpp"

namespace latchkey::courier {
namespace {

// 2023-11-14T22:13:20Z, a Tuesday.
constexpr std::int64_t kNow = 1'700'000'000;

MimeHeaders headers() {
  return MimeHeaders{"no-reply@example.com", "Latchkey", "<m-1@example.com>", from_unix(kNow),
                     "=_b0undary"};
}

Email email() {
  return Email{"kim@example.com",
               "Kim",
               "Verify your e-mail",
               "Hello Kim,\nverify: https://example.com/v?t=abc\n",
               "",
               "verify_email"};
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find("\r\n", start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

struct Parsed {
  std::vector<std::string> raw_headers;        // folded, as written (one entry per line)
  std::map<std::string, std::string> headers;  // unfolded values
  std::string body;
};

Parsed parse(const std::string& msg) {
  Parsed p;
  const auto end = msg.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  p.body = msg.substr(end + 4);
  std::string name;
  for (const auto& line : lines_of(msg.substr(0, end + 2))) {
    p.raw_headers.push_back(line);
    if (!line.empty() && line[0] == ' ') {
      p.headers[name] += line;  // unfold: drop the CRLF, keep the space
    } else {
      const auto colon = line.find(':');
      EXPECT_NE(colon, std::string::npos) << line;
      name = line.substr(0, colon);
      EXPECT_EQ(p.headers.count(name), 0u) << "duplicate header " << name;
      p.headers[name] = line.size() > colon + 1 ? line.substr(colon + 2) : "";
    }
  }
  return p;
}

std::string decode_b64(const std::string& text) {
  std::string joined;
  for (const auto& l : lines_of(text)) {
    EXPECT_LE(l.size(), 76u);
    joined += l;
  }
  auto bytes = base64_decode(joined);
  EXPECT_TRUE(bytes.has_value()) << joined;
  return bytes ? to_string(*bytes) : "";
}

// Decodes a value made only of UTF-8 B encoded-words separated by spaces, checking that every
// word is at most 75 characters and holds whole UTF-8 characters.
std::string decode_words(const std::string& value) {
  std::string out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ' ') {
      ++pos;
      continue;
    }
    auto end = value.find(' ', pos);
    if (end == std::string::npos) end = value.size();
    const std::string word = value.substr(pos, end - pos);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u) << word;
    EXPECT_EQ(word.substr(word.size() - 2), "?=") << word;
    auto bytes = base64_decode(word.substr(10, word.size() - 12));
    EXPECT_TRUE(bytes.has_value()) << word;
    if (bytes) {
      EXPECT_TRUE(is_valid_utf8(to_string(*bytes))) << "split inside a character: " << word;
      out += to_string(*bytes);
    }
    pos = end;
  }
  return out;
}

void expect_well_formed(const std::string& msg) {
  for (std::size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\r') {
      ASSERT_LT(i + 1, msg.size());
      EXPECT_EQ(msg[i + 1], '\n') << "bare CR at " << i;
    }
    if (msg[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(msg[i - 1], '\r') << "bare LF at " << i;
    }
  }
  ASSERT_GE(msg.size(), 2u);
  EXPECT_EQ(msg.substr(msg.size() - 2), "\r\n");
  const auto header_end = msg.find("\r\n\r\n");
  for (const auto& line : lines_of(msg.substr(0, header_end))) {
    EXPECT_LE(line.size(), 78u) << line;
  }
  for (const auto& line : lines_of(msg)) EXPECT_LE(line.size(), 998u);
}

TEST(Mime, TextOnlyMessageExact) {
  const std::string msg = build_mime(email(), headers());
  EXPECT_EQ(msg,
            "From: Latchkey <no-reply@example.com>\r\n"
            "To: Kim <kim@example.com>\r\n"
            "Subject: Verify your e-mail\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "Message-ID: <m-1@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
            "SGVsbG8gS2ltLAp2ZXJpZnk6IGh0dHBzOi8vZXhhbXBsZS5jb20vdj90PWFiYwo=\r\n");
  expect_well_formed(msg);
}

TEST(Mime, AlternativeMessageExact) {
  Email e = email();
  e.html = "<p>Hello</p>";
  const std::string msg = build_mime(e, headers());
  const std::string head =
      "From: Latchkey <no-reply@example.com>\r\n"
      "To: Kim <kim@example.com>\r\n"
      "Subject: Verify your e-mail\r\n"
      "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "Message-ID: <m-1@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Auto-Submitted: auto-generated\r\n"
      "Content-Type: multipart/alternative;\r\n"
      " boundary=\"=_b0undary\"\r\n"
      "\r\n";
  EXPECT_EQ(msg, head +
                     "--=_b0undary\r\n"
                     "Content-Type: text/plain; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "\r\n"
                     "SGVsbG8gS2ltLAp2ZXJpZnk6IGh0dHBzOi8vZXhhbXBsZS5jb20vdj90PWFiYwo=\r\n"
                     "--=_b0undary\r\n"
                     "Content-Type: text/html; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "\r\n"
                     "PHA+SGVsbG88L3A+\r\n"
                     "--=_b0undary--\r\n");
  expect_well_formed(msg);
}

// Splits a multipart/alternative body at its delimiters and decodes each part.
std::vector<std::pair<std::string, std::string>> parts(const std::string& msg,
                                                       const std::string& boundary) {
  const Parsed p = parse(msg);
  std::vector<std::pair<std::string, std::string>> out;
  const std::string delim = "--" + boundary + "\r\n";
  const std::string close = "--" + boundary + "--\r\n";
  EXPECT_EQ(p.body.rfind(delim, 0), 0u);
  EXPECT_EQ(p.body.substr(p.body.size() - close.size()), close);
  std::size_t pos = delim.size();
  while (true) {
    auto next = p.body.find("--" + boundary, pos);
    if (next == std::string::npos) break;
    const std::string part = p.body.substr(pos, next - pos);
    const auto sep = part.find("\r\n\r\n");
    out.emplace_back(part.substr(0, sep), decode_b64(part.substr(sep + 4)));
    pos = next + delim.size();
  }
  return out;
}

TEST(Mime, BodiesDecodeBackExactly) {
  Email e = email();
  // Long, multi-byte, with lines starting with '.', "From " and a fake boundary: base64 hides
  // them all.
  std::string text = "안녕하세요 김민수님,\n.\nFrom here\n--=_b0undary\n";
  for (int i = 0; i < 40; ++i) text += "줄 " + std::to_string(i) + " https://example.com/x\n";
  std::string html = "<!doctype html><p>안녕하세요 <a href=\"https://example.com/v?t=1&amp;x=2\">";
  for (int i = 0; i < 50; ++i) html += "링크 ";
  html += "</a></p>\r\n\r\n";
  e.text = text;
  e.html = html;
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const auto ps = parts(msg, "=_b0undary");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].first,
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64");
  EXPECT_EQ(ps[0].second, text);
  EXPECT_EQ(ps[1].first,
            "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64");
  EXPECT_EQ(ps[1].second, html);
  // Every full base64 line is exactly 76 characters.
  const Parsed p = parse(msg);
  std::size_t full = 0;
  for (const auto& l : lines_of(p.body)) full += l.size() == 76 ? 1 : 0;
  EXPECT_GT(full, 10u);
}

TEST(Mime, EmptyBodies) {
  Email e = email();
  e.text = "";
  e.html = "<p>only html</p>";
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const auto ps = parts(msg, "=_b0undary");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].second, "");
  EXPECT_EQ(ps[1].second, "<p>only html</p>");

  e.html = "";
  const std::string single = build_mime(e, headers());
  expect_well_formed(single);
  EXPECT_EQ(parse(single).body, "\r\n");
}

TEST(Mime, KoreanSubjectRoundTrip) {
  Email e = email();
  e.subject = "이메일 인증";
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const Parsed p = parse(msg);
  EXPECT_EQ(p.headers.at("Subject"), "=?UTF-8?B?7J2066mU7J28IOyduOymnQ==?=");
  EXPECT_EQ(decode_words(p.headers.at("Subject")), "이메일 인증");
}

TEST(Mime, LongKoreanSubjectIsFoldedIntoWholeCharacterWords) {
  Email e = email();
  std::string subject;
  for (int i = 0; i < 12; ++i) subject += "이메일 주소를 인증해 주세요 ";
  subject += "끝";
  e.subject = subject;
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const Parsed p = parse(msg);
  int subject_lines = 0;
  bool in_subject = false;
  for (const auto& l : p.raw_headers) {
    if (l.rfind("Subject:", 0) == 0)
      in_subject = true;
    else if (l[0] != ' ')
      in_subject = false;
    if (in_subject) {
      ++subject_lines;
      EXPECT_LE(l.size(), 78u) << l;
    }
  }
  EXPECT_GT(subject_lines, 5);
  EXPECT_EQ(decode_words(p.headers.at("Subject")), subject);
}

TEST(Mime, AsciiSubjectIsPlainAndFoldedAtSpaces) {
  Email e = email();
  std::string subject;
  for (int i = 0; i < 20; ++i) subject += "word" + std::to_string(i) + "  ";
  subject += "end";
  e.subject = subject;
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const Parsed p = parse(msg);
  EXPECT_EQ(p.headers.at("Subject"), subject);  // unfolding gives it back, double spaces kept
  EXPECT_EQ(msg.find("=?"), std::string::npos);
  EXPECT_NE(msg.find("Subject: word0  word1"), std::string::npos);
}

TEST(Mime, UnfoldableOrAmbiguousAsciiSubjectsAreEncoded) {
  Email e = email();
  e.subject = "x" + std::string(100, 'a');  // one word too long for a 78-character line
  std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  EXPECT_EQ(decode_words(parse(msg).headers.at("Subject")), e.subject);

  // A literal "=?...?=" would be decoded by readers: it is encoded so it shows as typed.
  e.subject = "=?UTF-8?B?7J2066mU7J28?=";
  msg = build_mime(e, headers());
  EXPECT_EQ(decode_words(parse(msg).headers.at("Subject")), e.subject);
}

TEST(Mime, HeaderInjectionIsImpossible) {
  Email e = email();
  e.to = "kim@example.com\r\nBcc: evil@example.org";
  e.to_name = "Kim\nBcc: evil@example.org";
  e.subject = "Hi\r\nBcc: evil@example.org\r\n\r\nforged body";
  MimeHeaders h = headers();
  h.from_name = "Latchkey\rX-Evil: 1";
  h.message_id = "<m-1@example.com>\nX-Evil: 2";
  const std::string msg = build_mime(e, h);
  expect_well_formed(msg);
  const Parsed p = parse(msg);
  for (const auto& l : p.raw_headers) {
    EXPECT_NE(l.rfind("Bcc", 0), 0u) << l;
    EXPECT_NE(l.rfind("X-Evil", 0), 0u) << l;
  }
  EXPECT_EQ(p.headers.size(), 9u);  // From To Subject Date Message-ID MIME-Version
                                    // Auto-Submitted Content-Type Content-Transfer-Encoding
  EXPECT_EQ(p.headers.at("Subject"), "Hi Bcc: evil@example.org forged body");
  EXPECT_EQ(p.headers.at("To"),
            "\"Kim Bcc: evil@example.org\" <kim@example.com Bcc: "
            "evil@example.org>");
  EXPECT_EQ(p.headers.at("From"), "\"Latchkey X-Evil: 1\" <no-reply@example.com>");
  EXPECT_EQ(p.headers.at("Message-ID"), "<m-1@example.com> X-Evil: 2");
}

TEST(Mime, OtherControlCharactersAndBadUtf8AreCleaned) {
  Email e = email();
  e.subject = std::string(
                  "\tA\x01\x7f"
                  "B\xc2\x85"
                  "C ") +
              "\xff" + "D\xe2\x80";
  e.to_name = "\x1b[31mKim";
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const Parsed p = parse(msg);
  EXPECT_EQ(decode_words(p.headers.at("Subject")),
            "A B C \xEF\xBF\xBD"
            "D\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(p.headers.at("To"), "\"[31mKim\" <kim@example.com>");
}

TEST(Mime, DisplayNames) {
  const auto to_header = [](std::string name) {
    Email e = email();
    e.to_name = std::move(name);
    return parse(build_mime(e, headers())).headers.at("To");
  };
  EXPECT_EQ(to_header(""), "kim@example.com");
  EXPECT_EQ(to_header("  Kim   Minsu "), "Kim Minsu <kim@example.com>");
  EXPECT_EQ(to_header("Kim, Minsu"), "\"Kim, Minsu\" <kim@example.com>");
  EXPECT_EQ(to_header("J. \"Jay\" Kim \\o/"), "\"J. \\\"Jay\\\" Kim \\\\o/\" <kim@example.com>");
  EXPECT_EQ(to_header("김민수"), "=?UTF-8?B?6rmA66+87IiY?= <kim@example.com>");
  const std::string tricky = to_header("=?UTF-8?B?6rmA66+87IiY?=");
  EXPECT_EQ(decode_words(tricky.substr(0, tricky.find(" <"))), "=?UTF-8?B?6rmA66+87IiY?=");

  // A long non-ASCII name is folded into several words; the address follows them.
  std::string long_name;
  for (int i = 0; i < 30; ++i) long_name += "김민수";
  Email e = email();
  e.to_name = long_name;
  const std::string msg = build_mime(e, headers());
  expect_well_formed(msg);
  const std::string to = parse(msg).headers.at("To");
  const auto lt = to.rfind(" <");
  EXPECT_EQ(to.substr(lt), " <kim@example.com>");
  EXPECT_EQ(decode_words(to.substr(0, lt)), long_name);
}

TEST(Mime, DateIsRfc5322Utc) {
  MimeHeaders h = headers();
  h.date = from_unix(1'709'600'645);  // 2024-03-05T01:04:05Z, a Tuesday
  EXPECT_NE(build_mime(email(), h).find("\r\nDate: Tue, 05 Mar 2024 01:04:05 +0000\r\n"),
            std::string::npos);
  h.date = from_unix(0);
  EXPECT_NE(build_mime(email(), h).find("\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"),
            std::string::npos);
}

TEST(Mime, BadBoundaryIsAProgrammingError) {
  MimeHeaders h = headers();
  for (std::string bad : {std::string(), std::string("a b"), std::string("a\"b"),
                          std::string("a\r\nb"), std::string(67, 'x')}) {
    h.boundary = bad;
    EXPECT_THROW((void)build_mime(email(), h), std::invalid_argument) << bad;
  }
  h.boundary = std::string(66, 'x');
  Email e = email();
  e.html = "<p>x</p>";
  expect_well_formed(build_mime(e, h));
}

TEST(Mime, MessageIdFor) {
  EXPECT_EQ(message_id_for("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "no-reply@mail.example.com"),
            "<0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b@mail.example.com>");
  EXPECT_EQ(message_id_for("a b.c>%", "no-reply@example.com"), "<a%20b%2Ec%3E%25@example.com>");
  EXPECT_EQ(message_id_for("", "no-reply@example.com"), "<%@example.com>");
  EXPECT_EQ(message_id_for("x", "no-reply"), "<x@localhost>");
  EXPECT_EQ(message_id_for("x", "no-reply@exa mple.com>"), "<x@localhost>");
  EXPECT_EQ(message_id_for("x\r\n", "a@b"), "<x%0D%0A@b>");
}

TEST(Mime, CheckAddress) {
  for (const char* good : {"kim@example.com", "k.i-m+tag@mail.example.co.kr", "a@localhost",
                           "o'brien@example.com", "x@xn--3e0b707e.kr"}) {
    EXPECT_TRUE(check_address(good).ok()) << good;
  }
  for (const char* bad : {"",
                          "kim",
                          "@example.com",
                          "kim@",
                          "kim@@example.com",
                          "a@b@example.com",
                          "kim @example.com",
                          "kim@example.com ",
                          "<kim@example.com>",
                          "kim@example.com>",
                          "kim@example.com\r\nRCPT TO:<evil@example.org>",
                          "kim@exam\nple.com",
                          ".kim@example.com",
                          "kim.@example.com",
                          "k..im@example.com",
                          "kim@-example.com",
                          "kim@example-.com",
                          "kim@example..com",
                          "kim@.example.com",
                          "kim@example.com.",
                          "\"kim\"@example.com",
                          "kim(x)@example.com",
                          "kim,lee@example.com",
                          "kim@[127.0.0.1]",
                          "김@example.com",
                          "kim@예시.kr",
                          "kim@exa_mple.com"}) {
    const Status s = check_address(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidEmail) << bad;
  }
  EXPECT_FALSE(check_address(std::string(65, 'a') + "@example.com").ok());
  EXPECT_TRUE(check_address(std::string(64, 'a') + "@example.com").ok());
  EXPECT_FALSE(check_address("a@" + std::string(64, 'b') + ".com").ok());
  std::string long_domain;
  for (int i = 0; i < 5; ++i) long_domain += std::string(50, 'd') + ".";
  EXPECT_FALSE(check_address("a@" + long_domain + "com").ok());  // 255 + 2 characters
}

}  // namespace
}  // namespace latchkey::courier
