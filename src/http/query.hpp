#pragma once
// Query strings (application/x-www-form-urlencoded): "a=1&b=x%20y" -> {a: "1", b: "x y"}.

#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::http {

// kInvalidRequest for bad percent escapes, invalid UTF-8 or a parameter given twice.
Result<std::map<std::string, std::string>> parse_query(std::string_view query);

}  // namespace latchkey::http
