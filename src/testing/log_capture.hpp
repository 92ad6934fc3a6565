#pragma once
// Captures the default spdlog logger's lines for the duration of a test, then puts the previous
// logger back. Header-only; for unit tests.
//
//   latchkey::testing::LogCapture logs;
//   ... code that logs ...
//   auto sent = logs.events("message sent");  // the fields of every "message sent" line
//   EXPECT_EQ(logs.text().find("secret"), std::string::npos);

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::testing {

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("log-capture", sink);
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Everything captured, as written.
  std::string text() const { return out_.str(); }

  // The fields of every captured line (JSON lines, or "message {fields}" in text mode).
  std::vector<nlohmann::json> events() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      out.push_back(nlohmann::json::parse(line.substr(line.find('{'))));
    }
    return out;
  }

  // The fields of the captured lines whose "msg" is `msg`.
  std::vector<nlohmann::json> events(std::string_view msg) const {
    std::vector<nlohmann::json> out;
    for (auto& j : events()) {
      if (j.value("msg", "") == msg) out.push_back(std::move(j));
    }
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace latchkey::testing
