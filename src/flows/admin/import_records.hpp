#pragma once
// Decoding user-import records (issue 7): JSON objects (one per line, or the API's array) and
// CSV with a header. Columns/members: email, name, phone, password_hash, email_verified, roles,
// created_at. A record that cannot be decoded carries its parse_error and is reported by line.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "flows/admin/admin_flow.hpp"

namespace latchkey::flows {

// One JSON object; `line` is what the report shows. Unknown members are errors.
ImportRecord import_record_from_json(const nlohmann::json& object, int line);

// JSON lines (first non-blank character '{') or CSV with a header row. Blank lines are skipped;
// lines are numbered from 1 as in the file (the CSV header is line 1). A malformed header throws
// std::invalid_argument (nothing can be imported then).
std::vector<ImportRecord> parse_import_text(std::string_view text);

// "2026-12-01T10:00:00Z", with optional fraction and a numeric offset; nullopt when malformed.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

}  // namespace latchkey::flows
