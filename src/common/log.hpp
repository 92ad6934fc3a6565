#pragma once
// Structured logs: one JSON object per line (or readable text), through spdlog.
//
//   log::event(log::Level::kInfo, "login", {{"user_id", id}, {"outcome", "ok"}});
//
// Never pass secrets (passwords, tokens, codes, keys) as fields.

#include <nlohmann/json.hpp>
#include <string_view>

namespace latchkey::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

// `level`: trace|debug|info|warn|error; `json`: JSON lines, else text. Logs go to stderr.
void init(std::string_view level, bool json);
bool enabled(Level level);
void event(Level level, std::string_view message, const nlohmann::json& fields = {});

inline void info(std::string_view m, const nlohmann::json& f = {}) {
  event(Level::kInfo, m, f);
}
inline void warn(std::string_view m, const nlohmann::json& f = {}) {
  event(Level::kWarn, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = {}) {
  event(Level::kError, m, f);
}

}  // namespace latchkey::log
