#include "methods/totp/qr.hpp"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "methods/totp/totp.hpp"

namespace latchkey::methods::totp {
namespace {

const char* const kUri =
    "otpauth://totp/Latchkey:jane%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=Latchkey&algorithm=SHA1&digits=6&period=30";

// The symbol as libqrencode makes it, straight from the library.
struct Symbol {
  int version = 0;
  int width = 0;
  std::set<std::pair<int, int>> dark;  // (x, y)
};

Symbol reference(const std::string& text) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  if (!code) throw std::runtime_error("reference encoding failed");
  Symbol s{code->version, code->width, {}};
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      if (code->data[y * code->width + x] & 1) s.dark.insert({x, y});
    }
  }
  return s;
}

// Plain string scanning rather than std::regex: libstdc++'s regex recurses per character and
// overflows the stack on the long path data in sanitised builds.
std::string attribute(const std::string& svg, const std::string& element, const std::string& name) {
  const auto open = svg.find("<" + element + " ");
  if (open == std::string::npos) return "<missing>";
  const auto end = svg.find('>', open);
  const auto at = svg.find(" " + name + "=\"", open);
  if (at == std::string::npos || at > end) return "<missing>";
  const auto value = at + name.size() + 3;
  return svg.substr(value, svg.find('"', value) - value);
}

// Reads one unsigned decimal number at `pos`, or -1 when there is none.
int number_at(const std::string& d, std::size_t& pos) {
  const auto start = pos;
  while (pos < d.size() && d[pos] >= '0' && d[pos] <= '9') ++pos;
  return pos == start || pos - start > 6 ? -1 : std::stoi(d.substr(start, pos - start));
}

bool expect_text(const std::string& d, std::size_t& pos, std::string_view text) {
  if (d.compare(pos, text.size(), text) != 0) return false;
  pos += text.size();
  return true;
}

// Reads back the path data written as "Mx yhNv1h-Nz" runs; every other shape fails the test.
std::set<std::pair<int, int>> cells_of(const std::string& d) {
  std::set<std::pair<int, int>> cells;
  std::size_t pos = 0;
  while (pos < d.size()) {
    int x = -1, y = -1, n = -1, back = -1;
    const bool ok =
        expect_text(d, pos, "M") && (x = number_at(d, pos)) >= 0 && expect_text(d, pos, " ") &&
        (y = number_at(d, pos)) >= 0 && expect_text(d, pos, "h") && (n = number_at(d, pos)) >= 0 &&
        expect_text(d, pos, "v1h-") && (back = number_at(d, pos)) >= 0 && expect_text(d, pos, "z");
    if (!ok) {
      ADD_FAILURE() << "unparsed path data at " << pos << ": " << d.substr(pos, 40);
      break;
    }
    EXPECT_EQ(n, back);
    EXPECT_GT(n, 0);
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(cells.insert({x + i, y}).second) << "overlap at " << x + i << "," << y;
    }
  }
  return cells;
}

TEST(QrSvg, WellFormedSvgShape) {
  const std::string svg = qr_svg(kUri, "Scan with your authenticator app");
  EXPECT_EQ(svg.rfind(R"(<svg xmlns="http://www.w3.org/2000/svg" )", 0), 0u) << svg;
  EXPECT_TRUE(svg.ends_with("</svg>"));
  EXPECT_EQ(attribute(svg, "svg", "role"), "img");
  EXPECT_EQ(attribute(svg, "svg", "aria-label"), "Scan with your authenticator app");
  EXPECT_EQ(attribute(svg, "svg", "shape-rendering"), "crispEdges");
  EXPECT_EQ(attribute(svg, "rect", "fill"), "#fff");
  EXPECT_EQ(attribute(svg, "path", "fill"), "#000");
  // Exactly: one svg, one background rect, one path; every element closed.
  std::vector<std::string> stack;
  int paths = 0, rects = 0;
  for (std::size_t pos = 0; pos < svg.size();) {
    // Nothing outside the markup: no stray text nodes.
    ASSERT_EQ(svg[pos], '<') << "text outside the markup at " << pos;
    const auto end = svg.find('>', pos);
    ASSERT_NE(end, std::string::npos);
    std::string_view tag(svg.data() + pos + 1, end - pos - 1);
    pos = end + 1;
    const bool closing = tag.starts_with('/');
    if (closing) tag.remove_prefix(1);
    const bool self_closing = tag.ends_with('/');
    const std::string name(tag.substr(0, tag.find_first_not_of("abcdefghijklmnopqrstuvwxyz")));
    ASSERT_FALSE(name.empty()) << tag;
    if (name == "path") ++paths;
    if (name == "rect") ++rects;
    if (closing) {
      ASSERT_FALSE(stack.empty());
      EXPECT_EQ(stack.back(), name);
      stack.pop_back();
    } else if (!self_closing) {
      stack.push_back(name);
    }
  }
  EXPECT_TRUE(stack.empty());
  EXPECT_EQ(paths, 1);
  EXPECT_EQ(rects, 1);
}

TEST(QrSvg, SizeFollowsTheQrVersion) {
  for (const std::string& text :
       {std::string("HELLO"), std::string(kUri), std::string(300, 'x'), std::string(1000, 'y')}) {
    const Symbol ref = reference(text);
    ASSERT_EQ(ref.width, 17 + 4 * ref.version);
    const int n = ref.width + 2 * kQrQuietZone;
    const std::string svg = qr_svg(text, "QR");
    EXPECT_EQ(attribute(svg, "svg", "viewBox"),
              "0 0 " + std::to_string(n) + " " + std::to_string(n))
        << "version " << ref.version;
    EXPECT_EQ(attribute(svg, "svg", "width"), std::to_string(4 * n));
    EXPECT_EQ(attribute(svg, "svg", "height"), std::to_string(4 * n));
    EXPECT_EQ(attribute(svg, "rect", "width"), std::to_string(n));
    EXPECT_EQ(attribute(svg, "rect", "height"), std::to_string(n));
  }
  EXPECT_EQ(reference("HELLO").version, 1);
  EXPECT_EQ(attribute(qr_svg("HELLO", "QR"), "svg", "viewBox"), "0 0 29 29");
  EXPECT_EQ(attribute(qr_svg("HELLO", "QR", 10), "svg", "width"), "290");
}

TEST(QrSvg, PathDrawsExactlyTheDarkModulesInsideTheQuietZone) {
  for (const std::string& text :
       {std::string("HELLO"), std::string(kUri), std::string("\xed\x95\x9c\xea\xb5\xad")}) {
    const Symbol ref = reference(text);
    const std::string svg = qr_svg(text, "QR");
    const auto cells = cells_of(attribute(svg, "path", "d"));
    std::set<std::pair<int, int>> expected;
    for (auto [x, y] : ref.dark) expected.insert({x + kQrQuietZone, y + kQrQuietZone});
    EXPECT_EQ(cells, expected) << text;
    // Finder pattern corner is dark; the quiet zone is empty.
    EXPECT_TRUE(cells.count({kQrQuietZone, kQrQuietZone}));
    for (auto [x, y] : cells) {
      EXPECT_GE(x, kQrQuietZone);
      EXPECT_GE(y, kQrQuietZone);
      EXPECT_LT(x, kQrQuietZone + ref.width);
      EXPECT_LT(y, kQrQuietZone + ref.width);
    }
  }
}

TEST(QrSvg, UsesErrorCorrectionLevelM) {
  // 8-bit capacity of version 1: L 17, M 14 bytes. 15 lower-case bytes need version 2 at M.
  EXPECT_EQ(attribute(qr_svg(std::string(14, 'a'), "QR"), "svg", "viewBox"), "0 0 29 29");
  EXPECT_EQ(attribute(qr_svg(std::string(15, 'a'), "QR"), "svg", "viewBox"), "0 0 33 33");
}

TEST(QrSvg, Deterministic) {
  EXPECT_EQ(qr_svg(kUri, "QR"), qr_svg(kUri, "QR"));
  EXPECT_NE(qr_svg(kUri, "QR"), qr_svg(std::string(kUri) + "0", "QR"));
}

TEST(QrSvg, EscapesTheLabel) {
  const std::string svg = qr_svg("x", R"(<a href="x">&'</a> 한국어)");
  EXPECT_EQ(attribute(svg, "svg", "aria-label"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; 한국어");
  EXPECT_EQ(svg.find("<a"), std::string::npos);
}

TEST(QrSvg, RefusesProgrammingErrors) {
  EXPECT_THROW(qr_svg(std::string_view("a\0b", 3), "QR"), std::invalid_argument);
  EXPECT_THROW(qr_svg("x", "bad\xff"), std::invalid_argument);
  EXPECT_THROW(qr_svg("x", "line\nbreak"), std::invalid_argument);
  EXPECT_THROW(qr_svg("x", "QR", 0), std::invalid_argument);
  EXPECT_THROW(qr_svg("x", "QR", 65), std::invalid_argument);
  // Version 40-M holds 2331 bytes in 8-bit mode.
  EXPECT_NO_THROW(qr_svg(std::string(2331, 'a'), "QR"));
  EXPECT_THROW(qr_svg(std::string(2332, 'a'), "QR"), std::invalid_argument);
}

TEST(QrSvg, EmptyTextIsRefused) {
  EXPECT_THROW(qr_svg("", "QR"), std::invalid_argument);
  EXPECT_NO_THROW(qr_svg("x", ""));  // an empty label is the caller's choice
}

}  // namespace
}  // namespace latchkey::methods::totp
