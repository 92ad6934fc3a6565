#include "tokens/strict_json.hpp"

#include <string>
#include <unordered_set>
#include <vector>

namespace latchkey::tokens::detail {

JsonParse parse_json_object(std::string_view text, nlohmann::json* out) {
  using Json = nlohmann::json;
  std::vector<std::unordered_set<std::string>> open_objects;
  bool duplicate = false;
  bool too_deep = false;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth) too_deep = true;
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json parsed;
  try {
    parsed = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    return JsonParse::kNotJson;  // defensive: parse with allow_exceptions=false should not throw
  }
  if (parsed.is_discarded()) return JsonParse::kNotJson;
  if (too_deep) return JsonParse::kTooDeep;
  if (duplicate) return JsonParse::kDuplicateKey;
  if (!parsed.is_object()) return JsonParse::kNotObject;
  *out = std::move(parsed);
  return JsonParse::kOk;
}

}  // namespace latchkey::tokens::detail
