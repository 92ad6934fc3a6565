#include "flows/admin/import_records.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace latchkey::flows {

namespace {

constexpr std::size_t kMaxField = 1024;

Error field_error(const std::string& field, std::string message) {
  return Error::on_field(ErrorCode::kInvalidField, field, std::move(message));
}

std::optional<bool> parse_bool_text(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "true" || t == "1" || t == "yes" || t == "t") return true;
  if (t == "false" || t == "0" || t == "no" || t == "f" || t.empty()) return false;
  return std::nullopt;
}

// "admin,user" or "admin user" (CSV), trimmed.
std::vector<std::string> split_roles(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == ';') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::optional<TimePoint> parse_created(const std::string& text) {
  if (!text.empty() && text.size() <= 12 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return from_unix(std::stoll(text));
  }
  return parse_rfc3339(text);
}

// Applies one text value to the record by column name; returns an error for bad values.
std::optional<Error> set_text(ImportRecord& r, const std::string& key, const std::string& value) {
  if (value.size() > kMaxField) return field_error(key, key + " is too long");
  if (key == "email") {
    r.email = value;
  } else if (key == "name") {
    r.name = value;
  } else if (key == "phone") {
    r.phone = value;
  } else if (key == "password_hash") {
    r.password_hash = value;
  } else if (key == "email_verified") {
    auto b = parse_bool_text(value);
    if (!b) return field_error(key, "email_verified must be true or false");
    r.email_verified = *b;
  } else if (key == "roles") {
    r.roles = split_roles(value);
  } else if (key == "created_at") {
    if (value.empty()) return std::nullopt;
    auto t = parse_created(value);
    if (!t) return field_error(key, "created_at must be RFC 3339 or unix seconds");
    r.created_at = t;
  } else {
    return field_error(key, "unknown field: " + key);
  }
  return std::nullopt;
}

// RFC 4180 fields of one record starting at `pos`; advances `pos` past the record and counts
// the physical lines it spans.
std::optional<std::vector<std::string>> csv_record(std::string_view text, std::size_t& pos,
                                                   int& lines) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false, was_quoted = false;
  lines = 1;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          cur += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++lines;
        cur += c;
      }
    } else if (c == '"' && cur.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(cur));
      cur.clear();
      was_quoted = false;
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      cur += c;
    }
  }
  if (quoted) return std::nullopt;  // unterminated quote
  fields.push_back(std::move(cur));
  return fields;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  std::string s(text);
  if (s.size() < 20 || s.size() > 40) return std::nullopt;
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  std::size_t i = 19;
  long long millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (digits < 3) millis = millis * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 3; ++d) millis *= 10;
  }
  long long offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
    offset = 0;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600LL + om * 60LL);
  } else {
    return std::nullopt;
  }
  // TimePoint counts nanoseconds in 64 bits: it ends in 2262.
  if (tm.tm_year < 1900 || tm.tm_year > 2200 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  return from_unix_ms((static_cast<long long>(secs) - offset) * 1000 + millis);
}

ImportRecord import_record_from_json(const nlohmann::json& object, int line) {
  ImportRecord r;
  r.line = line;
  if (!object.is_object()) {
    r.parse_error = Error::make(ErrorCode::kInvalidRequest, "a record must be a JSON object");
    return r;
  }
  if (auto it = object.find("email"); it != object.end() && it->is_string()) {
    r.email = it->get<std::string>();  // for the report, even if another member is bad
  }
  for (const auto& [key, value] : object.items()) {
    std::optional<Error> err;
    if (value.is_null()) continue;
    if (key == "email_verified" && value.is_boolean()) {
      r.email_verified = value.get<bool>();
    } else if (key == "roles" && value.is_array()) {
      for (const auto& role : value) {
        if (!role.is_string() || role.get<std::string>().size() > 64) {
          err = field_error(key, "roles must be an array of role names");
          break;
        }
        r.roles.push_back(role.get<std::string>());
      }
    } else if (key == "created_at" && value.is_number_integer()) {
      r.created_at = from_unix(value.get<std::int64_t>());
    } else if (value.is_string()) {
      err = set_text(r, key, value.get<std::string>());
    } else {
      const bool known = key == "email" || key == "name" || key == "phone" ||
                         key == "password_hash" || key == "email_verified" || key == "roles" ||
                         key == "created_at";
      err = field_error(key, known ? key + " has the wrong type" : "unknown field: " + key);
    }
    if (err) {
      r.parse_error = *err;
      return r;
    }
  }
  return r;
}

std::vector<ImportRecord> parse_import_text(std::string_view text) {
  std::vector<ImportRecord> out;
  const auto first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (first == std::string_view::npos) return out;
  if (text[first] == '{') {
    int line = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      std::string_view l = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_discarded()) {
        ImportRecord r;
        r.line = line;
        r.parse_error = Error::make(ErrorCode::kMalformedJson, "not valid JSON");
        out.push_back(std::move(r));
        continue;
      }
      out.push_back(import_record_from_json(j, line));
    }
    return out;
  }
  // CSV with a header.
  std::size_t pos = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  int lines = 0;
  auto header = csv_record(text, pos, lines);
  if (!header) throw std::invalid_argument("the CSV header has an unterminated quote");
  std::vector<std::string> columns;
  for (auto& h : *header) {
    auto name = trim(h);
    ImportRecord probe;
    if (auto err = set_text(probe, name, ""); err && err->message.starts_with("unknown")) {
      throw std::invalid_argument("unknown CSV column '" + name +
                                  "' (expected email, name, phone, password_hash, "
                                  "email_verified, roles, created_at)");
    }
    columns.push_back(name);
  }
  if (std::find(columns.begin(), columns.end(), "email") == columns.end()) {
    throw std::invalid_argument("the CSV header has no 'email' column");
  }
  int line = lines;
  while (pos < text.size()) {
    const int start = line + 1;
    auto fields = csv_record(text, pos, lines);
    line += lines;
    ImportRecord r;
    r.line = start;
    if (!fields) {
      r.parse_error = Error::make(ErrorCode::kInvalidRequest, "unterminated quote");
      out.push_back(std::move(r));
      break;
    }
    if (fields->size() == 1 && trim((*fields)[0]).empty()) continue;  // blank line
    if (fields->size() != columns.size()) {
      r.parse_error = Error::make(ErrorCode::kInvalidRequest,
                                  "expected " + std::to_string(columns.size()) + " fields, got " +
                                      std::to_string(fields->size()));
      out.push_back(std::move(r));
      continue;
    }
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == "email") r.email = trim((*fields)[i]);
    }
    for (std::size_t i = 0; i < columns.size() && !r.parse_error; ++i) {
      std::string v = columns[i] == "password_hash" ? (*fields)[i] : trim((*fields)[i]);
      if (auto err = set_text(r, columns[i], v)) r.parse_error = *err;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace latchkey::flows
