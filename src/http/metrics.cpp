#include "http/metrics.hpp"

#include <sstream>

namespace latchkey::http {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::observe_request(const std::string& route, const std::string& method, int status,
                              double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, method, status}];
  auto& h = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::count_login(bool ok) {
  (ok ? logins_ok_ : logins_failed_)++;
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "gauge"});
}

void Metrics::add_counter(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "counter"});
}

std::string Metrics::render() const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  out << "# HELP latchkey_http_requests_total HTTP requests by route, method and status.\n"
      << "# TYPE latchkey_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out << "latchkey_http_requests_total{route=\"" << escape_label(route) << "\",method=\""
        << method << "\",status=\"" << status << "\"} " << n << "\n";
  }
  out << "# HELP latchkey_http_request_duration_seconds Request latency by route.\n"
      << "# TYPE latchkey_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    const auto label = escape_label(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out << "latchkey_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\""
          << kBuckets[i] << "\"} " << h.buckets[i] << "\n";
    }
    out << "latchkey_http_request_duration_seconds_bucket{route=\"" << label << "\",le=\"+Inf\"} "
        << h.count << "\n";
    out << "latchkey_http_request_duration_seconds_sum{route=\"" << label << "\"} " << h.sum
        << "\n";
    out << "latchkey_http_request_duration_seconds_count{route=\"" << label << "\"} " << h.count
        << "\n";
  }
  out << "# HELP latchkey_logins_total Password logins by result.\n"
      << "# TYPE latchkey_logins_total counter\n"
      << "latchkey_logins_total{result=\"ok\"} " << logins_ok_.load() << "\n"
      << "latchkey_logins_total{result=\"failed\"} " << logins_failed_.load() << "\n";
  for (const auto& g : gauges_) {
    out << "# HELP " << g.name << " " << g.help << "\n# TYPE " << g.name << " " << g.type << "\n"
        << g.name << " " << g.read() << "\n";
  }
  return out.str();
}

}  // namespace latchkey::http
