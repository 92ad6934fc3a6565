#include "common/encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace latchkey {
namespace {

TEST(XmlEscape, EscapesTheFiveMarkupCharacters) {
  EXPECT_EQ(xml_escape(R"(<a href="x">Tom & Jerry's</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
}

TEST(XmlEscape, EscapesAnAmpersandOnlyOnce) {
  EXPECT_EQ(xml_escape("&amp;"), "&amp;amp;");
}

TEST(XmlEscape, CopiesEveryOtherByte) {
  EXPECT_EQ(xml_escape(""), "");
  EXPECT_EQ(xml_escape("plain text 123 = ; /"), "plain text 123 = ; /");
  EXPECT_EQ(xml_escape("한국어 ünïcode"), "한국어 ünïcode");
  const std::string bytes("a\0b\r\n\t\xff", 7);
  EXPECT_EQ(xml_escape(bytes), bytes);
}

}  // namespace
}  // namespace latchkey

// Social login (issue 5): URL encodings shared by TOTP URIs, SMS gateways and OAuth requests.
namespace latchkey {
namespace {

TEST(UrlEncoding, PercentAndFormEncode) {
  EXPECT_EQ(percent_encode("a b&c/~"), "a%20b%26c%2F~");
  EXPECT_EQ(form_encode({{"Body", "코드 1+1&"}}), "Body=%EC%BD%94%EB%93%9C+1%2B1%26");
  EXPECT_EQ(form_encode({{"a", "1"}, {"b", ""}}), "a=1&b=");
}

TEST(UrlEncoding, ParseQuery) {
  auto q = parse_query("state=a%2Bb&code=x+y&&flag");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("state"), "a+b");
  EXPECT_EQ(q->at("code"), "x y");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_TRUE(parse_query("")->empty());
  EXPECT_FALSE(parse_query("state=1&state=2"));  // repeated parameter
  EXPECT_FALSE(parse_query("state=%zz"));
  EXPECT_FALSE(parse_query("state=%4"));
  auto round = parse_query(form_encode({{"r", "https://app.example.com/x?y=1&z=2"}}));
  ASSERT_TRUE(round);
  EXPECT_EQ(round->at("r"), "https://app.example.com/x?y=1&z=2");
}

}  // namespace
}  // namespace latchkey
