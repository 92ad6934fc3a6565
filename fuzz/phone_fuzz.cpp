// Phone-number normalisation (identity/phone, libphonenumber): the first byte picks the default
// region. An accepted number is E.164 ("+", a digit 1-9, at most 15 digits in all; E.164 sets no
// minimum, and libphonenumber's metadata accepts 7-digit numbers such as +27 81323) and
// normalising it again gives the same string.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "identity/phone.hpp"
#include "invariant.hpp"

namespace {
constexpr std::string_view kRegions[] = {"KR", "US", "GB", "JP", "DE", "", "zz", "kr"};

bool is_e164(std::string_view s) {
  if (s.size() < 3 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (char c : s.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto region = kRegions[data[0] % std::size(kRegions)];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto phone = latchkey::identity::normalize_phone(input, region);
  if (!phone) return 0;
  auto again = latchkey::identity::normalize_phone(*phone, region);
  if (!is_e164(*phone) || !again || *again != *phone) {
    latchkey::fuzz::fail(*phone, "normalised phone is not stable E.164");
  }
  return 0;
}
