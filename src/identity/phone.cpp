#include "identity/phone.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "common/encoding.hpp"

namespace latchkey::identity {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr std::string_view kField = "phone";

Error invalid(std::string message) {
  return Error::on_field(ErrorCode::kInvalidField, std::string(kField), std::move(message));
}

// Decodes the code point at s[i] (s is valid UTF-8) and advances i.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const int extra = b0 >= 0xf0 ? 3 : b0 >= 0xe0 ? 2 : 1;
  char32_t cp = b0 & (0x3f >> extra);
  for (int k = 1; k <= extra; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += static_cast<std::size_t>(extra) + 1;
  return cp;
}

bool allowed(char32_t c) {
  if (c >= U'0' && c <= U'9') return true;
  switch (c) {
    case U' ':
    case U'+':
    case U'-':
    case U'.':
    case U'(':
    case U')':
    case U'/':
    case U'\u3000':  // ideographic space
    case U'\uff0b':  // full-width plus
    case U'\uff0d':  // full-width hyphen-minus
      return true;
    default:
      return c >= U'\uff10' && c <= U'\uff19';  // full-width digits
  }
}

// "kr" -> "KR"; anything that is not two ASCII letters -> "ZZ" (libphonenumber's unknown region).
std::string region_code(std::string_view region) {
  if (region.size() != 2) return "ZZ";
  std::string out;
  for (char c : region) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') return "ZZ";
    out.push_back(c);
  }
  return out;
}

}  // namespace

namespace {

// Parses, checks and formats as E.164 once (the input's characters already checked).
Result<std::string> parse_to_e164(const std::string& input, std::string_view default_region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();  // thread-safe singleton
  PhoneNumber number;
  switch (util.Parse(input, region_code(default_region), &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return invalid("phone number needs a valid country code, such as +82");
    default:  // NOT_A_NUMBER, TOO_SHORT_AFTER_IDD, TOO_SHORT_NSN, TOO_LONG_NSN
      return invalid("not a phone number");
  }
  if (!util.IsValidNumber(number)) return invalid("not a valid phone number");
  if (number.has_extension()) return invalid("phone number must not have an extension");
  // Only numbers that can take an SMS as far as the metadata can tell.
  switch (util.GetNumberType(number)) {
    case PhoneNumberUtil::MOBILE:
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
      break;
    default:
      return invalid("not a mobile phone number");
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

}  // namespace

Result<std::string> normalize_phone(std::string_view input, std::string_view default_region) {
  // Cheap checks before the library sees anything: 4 bytes per character at most.
  if (input.size() > kMaxPhoneInputLength * 4) return invalid("phone number is too long");
  if (!is_valid_utf8(input)) {
    return invalid("phone number contains characters other than digits, spaces and + - . ( ) /");
  }
  if (utf8_length(input) > kMaxPhoneInputLength) return invalid("phone number is too long");
  for (std::size_t i = 0; i < input.size();) {
    // Refuses control characters, letters, '#', '*', ';' and anything unusual.
    if (!allowed(next_code_point(input, i))) {
      return invalid("phone number contains characters other than digits, spaces and + - . ( ) /");
    }
  }

  // The E.164 form is parsed again until it no longer changes, so that a stored number is the
  // same whichever way it was written: libphonenumber may format a number in a form it reads
  // differently (Mexico's old mobile prefix: "+52 1 758 121 7581" formats as +5217581217581,
  // which parses as +527581217581). A form that does not settle is refused.
  auto e164 = parse_to_e164(std::string(input), default_region);
  for (int round = 0; e164 && round < 3; ++round) {
    auto again = parse_to_e164(*e164, default_region);
    if (!again || *again == *e164) return again;
    e164 = std::move(again);
  }
  if (!e164) return e164;
  return invalid("not a valid phone number");
}

}  // namespace latchkey::identity
