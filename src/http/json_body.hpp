#pragma once
// Request-body decoding for handlers: JSON object bodies with typed, bounded fields and no
// unknown members (so self-service bodies cannot smuggle `roles`, `status` or `id`).
//
//   auto body = JsonBody::parse(ctx.request);
//   if (!body) return problem(...body.error());
//   auto email = body->string("email", {.max = 254});
//   ...
//   if (auto st = body->finish(); !st) ...   // unknown members, first field error

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "http/types.hpp"

namespace latchkey::http {

struct StringRule {
  bool required = true;
  std::size_t max = 256;       // code points
  std::size_t min = 0;         // code points
  bool allow_control = false;  // control characters (including NUL) are refused by default
};

class JsonBody {
 public:
  // Requires Content-Type application/json (415 otherwise), valid UTF-8 and a JSON object. An
  // empty body counts as {} when `allow_empty`.
  static Result<JsonBody> parse(const Request& req, bool allow_empty = false);

  // Reads a string member; records the first error, returns "" on error or when absent.
  std::string string(const std::string& name, StringRule rule = {});
  std::optional<std::string> optional_string(const std::string& name, StringRule rule = {});
  // Fails when a member was not read by the handler, or any read failed.
  latchkey::Status finish() const;
  bool has(const std::string& name) const { return json_.contains(name); }

  // An optional boolean member (absent or null: nullopt).
  std::optional<bool> optional_bool(const std::string& name);
  // An optional array of strings, each checked like string() (rule.required is ignored).
  std::optional<std::vector<std::string>> optional_strings(const std::string& name, StringRule rule,
                                                           std::size_t max_items);
  // A member as raw JSON for the handler to decode itself (nullptr when absent).
  const nlohmann::json* raw(const std::string& name);

 private:
  explicit JsonBody(nlohmann::json j) : json_(std::move(j)) {}
  nlohmann::json json_;
  std::set<std::string> read_;
  std::optional<Error> error_;
};

}  // namespace latchkey::http
