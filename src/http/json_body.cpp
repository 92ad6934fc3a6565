#include "http/json_body.hpp"

#include "common/encoding.hpp"

namespace latchkey::http {

Result<JsonBody> JsonBody::parse(const Request& req, bool allow_empty) {
  const auto& body = req.body();
  if (body.empty() && allow_empty) return JsonBody(nlohmann::json::object());
  auto ct = req[Field::content_type];
  auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (!boost::beast::iequals(media, "application/json")) {
    return Error::make(ErrorCode::kUnsupportedMediaType, "request body must be application/json");
  }
  if (!is_valid_utf8(body)) {
    return Error::make(ErrorCode::kMalformedJson, "request body is not valid UTF-8");
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    return Error::make(ErrorCode::kMalformedJson, "request body is not valid JSON");
  }
  if (!j.is_object()) {
    return Error::make(ErrorCode::kInvalidRequest, "request body must be a JSON object");
  }
  return JsonBody(std::move(j));
}

std::optional<std::string> JsonBody::optional_string(const std::string& name, StringRule rule) {
  read_.insert(name);
  auto it = json_.find(name);
  if (it == json_.end() || it->is_null()) {
    if (rule.required && !error_) {
      error_ = Error::on_field(ErrorCode::kInvalidField, name, name + " is required");
    }
    return std::nullopt;
  }
  if (!it->is_string()) {
    if (!error_)
      error_ = Error::on_field(ErrorCode::kInvalidField, name, name + " must be a string");
    return std::nullopt;
  }
  std::string value = it->get<std::string>();
  const auto len = utf8_length(value);
  if (len > rule.max) {
    if (!error_) {
      error_ = Error::on_field(
          ErrorCode::kInvalidField, name,
          name + " is too long (at most " + std::to_string(rule.max) + " characters)");
    }
    return std::nullopt;
  }
  if (len < rule.min) {
    if (!error_) {
      error_ = Error::on_field(ErrorCode::kInvalidField, name,
                               rule.min == 1 ? name + " must not be empty"
                                             : name + " is too short (at least " +
                                                   std::to_string(rule.min) + " characters)");
    }
    return std::nullopt;
  }
  if (!rule.allow_control) {
    // C0 controls, DEL, and C1 controls (U+0080-U+009F, encoded as C2 80..C2 9F).
    for (std::size_t i = 0; i < value.size(); ++i) {
      const auto c = static_cast<unsigned char>(value[i]);
      const bool c1 =
          c == 0xC2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) <= 0x9F;
      if (c < 0x20 || c == 0x7F || c1) {
        if (!error_) {
          error_ = Error::on_field(ErrorCode::kInvalidField, name,
                                   name + " must not contain control characters");
        }
        return std::nullopt;
      }
    }
  }
  return value;
}

std::string JsonBody::string(const std::string& name, StringRule rule) {
  return optional_string(name, rule).value_or("");
}

std::optional<bool> JsonBody::optional_bool(const std::string& name) {
  read_.insert(name);
  auto it = json_.find(name);
  if (it == json_.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) {
    if (!error_)
      error_ = Error::on_field(ErrorCode::kInvalidField, name, name + " must be true or false");
    return std::nullopt;
  }
  return it->get<bool>();
}

std::optional<std::vector<std::string>> JsonBody::optional_strings(const std::string& name,
                                                                   StringRule rule,
                                                                   std::size_t max_items) {
  read_.insert(name);
  auto it = json_.find(name);
  if (it == json_.end() || it->is_null()) return std::nullopt;
  if (!it->is_array() || it->size() > max_items) {
    if (!error_) {
      error_ = Error::on_field(
          ErrorCode::kInvalidField, name,
          name + " must be an array of at most " + std::to_string(max_items) + " strings");
    }
    return std::nullopt;
  }
  // Each element goes through the string rules of optional_string().
  std::vector<std::string> out;
  for (const auto& item : *it) {
    JsonBody one(nlohmann::json{{name, item}});
    rule.required = true;
    auto value = one.optional_string(name, rule);
    if (!value) {
      if (!error_) error_ = one.error_;
      return std::nullopt;
    }
    out.push_back(std::move(*value));
  }
  return out;
}

const nlohmann::json* JsonBody::raw(const std::string& name) {
  read_.insert(name);
  auto it = json_.find(name);
  return it == json_.end() ? nullptr : &*it;
}

latchkey::Status JsonBody::finish() const {
  if (error_) return *error_;
  for (const auto& [key, value] : json_.items()) {
    if (!read_.count(key)) {
      return Error::on_field(ErrorCode::kInvalidField, key, "unknown field: " + key);
    }
  }
  return {};
}

}  // namespace latchkey::http
