// Mail rendering with hostile values: every built-in template (courier/templates) in every
// locale, values taken from the input (split at '\0'), then the RFC 5322 message
// (courier/mime). Invariants: no value reaches the HTML part unescaped, the subject is one line,
// and the wire message has CRLF line endings only and no header line over 998 characters.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "courier/mime.hpp"
#include "courier/templates.hpp"
#include "invariant.hpp"

namespace courier = latchkey::courier;
using latchkey::fuzz::fail;

namespace {

// Every value starts with this, so an unescaped one is easy to spot in the HTML part.
constexpr std::string_view kMark = "Zq<x";

const courier::TemplateSet& templates() {
  static const auto set = courier::TemplateSet::load(
      "", {"Latchkey", "help@example.com", "https://auth.example.com"}, "en");
  return set;
}

void check_wire(const std::string& id, const std::string& wire) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\n' && (i == 0 || wire[i - 1] != '\r')) fail(id, "bare LF in the message");
    if (wire[i] == '\r' && (i + 1 == wire.size() || wire[i + 1] != '\n')) {
      fail(id, "bare CR in the message");
    }
    line = wire[i] == '\n' ? 0 : line + 1;
    if (line > 1000) fail(id, "line over 998 characters");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  templates();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& set = templates();
  const auto ids = set.template_ids();
  const auto locales = set.locales();
  const std::string id = ids[data[0] % ids.size()];
  const std::string locale = locales[(data[0] / ids.size()) % locales.size()];

  std::vector<std::string> pieces;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (pieces.size() < 8) {
    const auto nul = rest.find('\0');
    pieces.push_back(std::string(kMark) + std::string(rest.substr(0, nul)));
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  auto piece = [&](std::size_t i) { return pieces[i % pieces.size()]; };
  // Every variable any template takes; render() refuses unknown ones, so pass only the
  // template's own (it reports the first unknown one as the field).
  // Counts and choices are checked against fixed forms, so they come from the first byte.
  const auto& changes = courier::security_change::kAll;
  std::map<std::string, std::string> values = {
      {"name", piece(0)},
      {"link", piece(1)},
      {"code", piece(2)},
      {"new_email", piece(3)},
      {"time", piece(4)},
      {"change", std::string(changes[data[0] % std::size(changes)])},
      {"expires_hours", std::to_string(data[0] % 49)},
      {"expires_minutes", std::to_string(data[0] % 61)}};
  auto rendered = set.render(id, locale, "kim@example.com", piece(0), values);
  for (int tries = 0; !rendered && tries < 8; ++tries) {
    const auto& field = rendered.error().field;
    if (field.empty() || values.erase(field) == 0) break;
    rendered = set.render(id, locale, "kim@example.com", piece(0), values);
  }
  if (!rendered) return 0;
  const auto& mail = *rendered;
  if (mail.html.find(kMark) != std::string::npos) fail(id, "a value reached the HTML unescaped");
  if (mail.subject.find_first_of("\r\n") != std::string::npos) fail(id, "multi-line subject");
  courier::MimeHeaders headers{"no-reply@example.com", piece(3), "<1@example.com>",
                               latchkey::TimePoint(std::chrono::seconds(1'800'000'000)), "=_lk_b"};
  check_wire(id, courier::build_mime(mail, headers));
  return 0;
}
