#pragma once
// A small Prometheus registry: counters and latency histograms keyed by label values, and gauges
// read through callbacks at scrape time. Rendered in the text exposition format at /metrics.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace latchkey::http {

class Metrics {
 public:
  // Counts one request and its latency under the route pattern (never the raw path).
  void observe_request(const std::string& route, const std::string& method, int status,
                       double seconds);
  void count_login(bool ok);
  // A gauge whose value is read when /metrics is scraped.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  // A counter kept elsewhere (monotonic), read when /metrics is scraped.
  void add_counter(std::string name, std::string help, std::function<double()> read);
  std::string render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
    const char* type = "gauge";
  };

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::atomic<std::uint64_t> logins_ok_{0}, logins_failed_{0};
  std::vector<Gauge> gauges_;
};

}  // namespace latchkey::http
