#include "identity/phone.hpp"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::identity {
namespace {

constexpr const char* kBadChars =
    "phone number contains characters other than digits, spaces and + - . ( ) /";

void expect_ok(std::string_view input, std::string_view region, std::string_view e164) {
  auto r = normalize_phone(input, region);
  ASSERT_TRUE(r) << '"' << input << "\" [" << region << "]: " << r.error().message;
  EXPECT_EQ(*r, e164) << '"' << input << "\" [" << region << "]";
}

void expect_refused(std::string_view input, std::string_view region, std::string_view message) {
  auto r = normalize_phone(input, region);
  ASSERT_FALSE(r) << '"' << input << "\" [" << region << "] -> " << *r;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidField) << input;
  EXPECT_EQ(r.error().field, "phone") << input;
  EXPECT_EQ(r.error().message, message) << '"' << input << "\" [" << region << "]";
}

TEST(NormalizePhone, KoreanMobile) {
  expect_ok("010-1234-5678", "KR", "+821012345678");
  expect_ok("01012345678", "KR", "+821012345678");
  expect_ok("010 1234 5678", "KR", "+821012345678");
  expect_ok("010.1234.5678", "KR", "+821012345678");
  expect_ok("(010) 1234-5678", "KR", "+821012345678");
  expect_ok("+82 10 1234 5678", "KR", "+821012345678");
  expect_ok("+82 10-1234-5678", "", "+821012345678");     // international: no region needed
  expect_ok("+82 (0)10 1234 5678", "", "+821012345678");  // the national 0 in brackets
  expect_ok("+821012345678", "US", "+821012345678");      // the + wins over the region
  expect_ok("  010-1234-5678  ", "KR", "+821012345678");
  expect_ok("010-1234-5678", "kr", "+821012345678");  // region in any case
}

TEST(NormalizePhone, FullWidthFormsFromEastAsianKeyboards) {
  // "０１０-１２３４-５６７８" and "＋８２　１０　１２３４　５６７８" (ideographic spaces).
  expect_ok(
      "\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x8d\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"
      "\xef\xbc\x94\xef\xbc\x8d\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98",
      "KR", "+821012345678");
  expect_ok(
      "\xef\xbc\x8b\xef\xbc\x98\xef\xbc\x92\xe3\x80\x80\xef\xbc\x91\xef\xbc\x90\xe3\x80\x80"
      "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xe3\x80\x80\xef\xbc\x95\xef\xbc\x96"
      "\xef\xbc\x97\xef\xbc\x98",
      "", "+821012345678");
}

TEST(NormalizePhone, UsNumbersAreFixedLineOrMobileAndAccepted) {
  // NANP metadata cannot tell mobiles from landlines: FIXED_LINE_OR_MOBILE is accepted.
  expect_ok("(201) 555-0123", "US", "+12015550123");
  expect_ok("201-555-0123", "US", "+12015550123");
  expect_ok("1-201-555-0123", "US", "+12015550123");
  expect_ok("+1 650 253 0000", "", "+16502530000");
  expect_ok("+1 650 253 0000", "KR", "+16502530000");
  expect_ok("650/253/0000", "us", "+16502530000");
  expect_ok("011 82 10 1234 5678", "US", "+821012345678");  // US international prefix
}

TEST(NormalizePhone, OtherCountries) {
  expect_ok("+44 7400 123456", "", "+447400123456");  // UK mobile
  expect_ok("07400 123456", "GB", "+447400123456");
  expect_ok("+33 6 12 34 56 78", "", "+33612345678");   // French mobile
  expect_ok("+81 90-1234-5678", "", "+819012345678");   // Japanese mobile
  expect_ok("+49 1512 3456789", "", "+4915123456789");  // German mobile
}

TEST(NormalizePhone, TheResultNormalisesToItself) {
  // Mexico's old mobile prefix 1 after +52: libphonenumber formats this number as
  // +5217581217581, which it reads back as +527581217581 (found by fuzz/phone_fuzz).
  expect_ok("+52 1 758 121 7581", "", "+527581217581");
  expect_ok("+5217581217581", "US", "+527581217581");
  expect_ok("+5 (202 1) 7-581(2 1) 7-581", "US", "+527581217581");
  expect_ok("+527581217581", "", "+527581217581");
}

TEST(NormalizePhone, RefusesNumbersThatCannotTakeAnSms) {
  expect_refused("02-312-3456", "KR", "not a mobile phone number");  // Seoul landline
  expect_refused("+82 2-312-3456", "", "not a mobile phone number");
  expect_refused("+44 20 7946 0000", "", "not a mobile phone number");   // London landline
  expect_refused("+33 1 23 45 67 89", "", "not a mobile phone number");  // Paris landline
  expect_refused("+1 800 555 0100", "", "not a mobile phone number");    // toll free
  expect_refused("080-123-4567", "KR", "not a mobile phone number");     // KR toll free
  expect_refused("070-1234-5678", "KR", "not a mobile phone number");    // KR VoIP
}

TEST(NormalizePhone, RefusesInvalidNumbers) {
  expect_refused("010-1234-56789", "KR", "not a valid phone number");  // one digit too many
  expect_refused("+82 10 1234 56", "", "not a valid phone number");    // one too few
  expect_refused("+82 10 0234 5678", "", "not a valid phone number");  // no 0 after 010
  expect_refused("+1 201 055 0123", "", "not a valid phone number");   // area codes never 0xx
  expect_refused("12345", "KR", "not a valid phone number");
}

TEST(NormalizePhone, RefusesWhatIsNotANumber) {
  expect_refused("", "KR", "not a phone number");
  expect_refused("   ", "KR", "not a phone number");
  expect_refused("+", "", "not a phone number");
  expect_refused("---", "KR", "not a phone number");
  expect_refused("1", "KR", "not a phone number");
  expect_refused("+82", "", "not a phone number");
}

TEST(NormalizePhone, NationalNumberNeedsARegion) {
  const char* msg = "phone number needs a valid country code, such as +82";
  expect_refused("010-1234-5678", "", msg);
  expect_refused("010-1234-5678", "ZZ", msg);
  expect_refused("010-1234-5678", "XX", msg);   // not a region libphonenumber knows
  expect_refused("010-1234-5678", "KOR", msg);  // not alpha-2
  expect_refused("010-1234-5678", "k1", msg);
  expect_refused("+999 1234 5678", "", msg);  // unassigned country calling code
}

TEST(NormalizePhone, RefusesUnexpectedCharacters) {
  for (std::string_view bad : {
           "010-1234-567B",       // the library would silently read +82101234567
           "call 010-1234-5678",  // ...or pick a number out of text
           "\xec\xa0\x84\xed\x99\x94 010-1234-5678",  // "전화 010-..."
           "1-800-FLOWERS",                           // vanity letters
           "+1 650 253 0000 x12",                     // extensions
           "+1 650 253 0000 ext. 12", "+82-10-1234-5678;ext=1", "tel:+82-10-1234-5678",
           "010-1234-5678#", "*010-1234-5678", "010_1234_5678",
           "+82\xc2\xa0"
           "10 1234 5678",  // no-break space
           "\xd9\xa0\xd9\xa1\xd9\xa0\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6\xd9\xa7"
           "\xd9\xa8",  // Arabic-Indic digits
       }) {
    expect_refused(bad, "KR", kBadChars);
  }
}

TEST(NormalizePhone, RefusesControlCharactersAndBadUtf8) {
  for (std::string_view bad : {
           "\t010-1234-5678", "010-1234-5678\n", "010\r1234\r5678",
           "010\x7f"
           "1234-5678",
           "010\xc2\x85"
           "1234-5678",                  // C1 control NEL
           "010-1234-5678\xe2\x80\xae",  // right-to-left override
           "010-1234-\xff\xfe",          // not UTF-8
           "010-1234-\xc0\xb0",          // overlong '0'
       }) {
    expect_refused(bad, "KR", kBadChars);
  }
  expect_refused(std::string_view("010-1234-5678\0", 14), "KR", kBadChars);
  expect_refused(std::string_view("\0", 1), "KR", kBadChars);
}

TEST(NormalizePhone, LengthIsCapped) {
  // 32 characters is the limit; spaces count.
  const std::string padded = "+82 10 1234 5678" + std::string(16, ' ');
  ASSERT_EQ(padded.size(), 32u);
  expect_ok(padded, "", "+821012345678");
  expect_refused(padded + " ", "", "phone number is too long");
  expect_refused(std::string(33, '1'), "KR", "phone number is too long");
  expect_refused(std::string(10000, '1'), "KR", "phone number is too long");
  // Characters, not bytes: 13 full-width characters (39 bytes) are fine, 33 are not.
  std::string wide;
  for (int i = 0; i < 33; ++i) wide += "\xe3\x80\x80";  // ideographic space
  expect_refused(wide, "KR", "phone number is too long");
  expect_refused(wide.substr(3) + "\xe3\x80\x80\xe3\x80\x80", "KR", "phone number is too long");
  expect_refused(wide.substr(3), "KR", "not a phone number");  // 32 spaces: short enough
}

}  // namespace
}  // namespace latchkey::identity
