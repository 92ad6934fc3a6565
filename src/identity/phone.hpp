#pragma once
// Phone numbers, for SMS codes: parsed and validated with libphonenumber and stored in E.164
// ("+821012345678"), one canonical string per number.
//
//   auto phone = normalize_phone("010-1234-5678", "KR");   // "+821012345678"
//   if (!phone) return phone.error();                       // kInvalidField on field "phone"
//
// Accepted input: at most 32 characters of digits, spaces and + - . ( ) /, where the digits,
// '+', '-' and the space may also be their full-width forms (as East Asian keyboards type them).
// Letters (vanity numbers, "ext", typos such as "567B" that the library would quietly drop),
// '#', '*', control characters and everything else are refused, so what is stored is what was
// typed. A number without a leading '+' (or international prefix) is read in `default_region`
// (ISO 3166-1 alpha-2, any case, e.g. "KR", "us"); an empty or unknown region accepts only
// international numbers.
//
// The number must be valid for its country and able to receive SMS as far as the metadata can
// tell: MOBILE and FIXED_LINE_OR_MOBILE (US/CA numbers, among others, cannot be told apart) are
// accepted; FIXED_LINE, TOLL_FREE, PREMIUM_RATE, SHARED_COST, VOIP, PERSONAL_NUMBER, PAGER, UAN
// and VOICEMAIL are refused, as are numbers with an extension.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::identity {

inline constexpr std::size_t kMaxPhoneInputLength = 32;  // characters (code points)

// E.164, or ErrorCode::kInvalidField on field "phone" with one of these messages:
//   "phone number is too long"                          over kMaxPhoneInputLength characters
//   "phone number contains characters other than ..."   see above (also: not UTF-8)
//   "not a phone number"                                nothing that parses as a number
//   "phone number needs a valid country code, such as +82"
//                                                       national number without a usable region,
//                                                       or an unknown country calling code
//   "not a valid phone number"                          wrong length/prefix for its country
//   "phone number must not have an extension"
//   "not a mobile phone number"                         a type other than the two above
Result<std::string> normalize_phone(std::string_view input, std::string_view default_region);

}  // namespace latchkey::identity
