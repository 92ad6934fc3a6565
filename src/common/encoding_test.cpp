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
