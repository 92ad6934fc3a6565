#pragma once
// The middleware chain between the transport and the handlers, in this order:
// request id -> client IP (X-Forwarded-For only from trusted proxies) -> CORS -> route match
// (404/405) -> authentication (routes declared Auth::kBearer) -> run the handler inline, on the
// worker pool or on the hash pool, as the route declares (503 when the pool is full) -> security
// headers, request id, metrics, access log. Paths outside the API are served from the web app (SPA
// fallback to index.html).

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "http/worker_pool.hpp"

namespace latchkey::http {

struct PipelineOptions {
  std::vector<std::string> trusted_proxies;  // IPs or CIDRs
  std::vector<std::string> cors_origins;
  bool hsts = false;  // public URL is https
};

using Authenticator = std::function<Result<Principal>(const Context&)>;
// Queues a job on a pool of threads; false when the pool is full (the request is answered 503).
using Submit = std::function<bool(std::function<void()>)>;

class Pipeline final : public RequestHandler {
 public:
  // Routes declared Work::kHashing go to `hashing` (the password hash pool's post()); without
  // it, to the worker pool like the others.
  Pipeline(PipelineOptions options, const Router& router, WorkerPool& workers, Submit hashing,
           Metrics& metrics, Authenticator authenticate, const StaticFiles* web);

  void handle(Request&& request, std::string peer_ip,
              std::function<void(Response&&)> done) override;
  Response reject(const Error& error, const std::string& peer_ip) override;
  void wait_idle() override;

  // Exposed for tests: the client address for a peer and its X-Forwarded-For header.
  std::string client_ip(const std::string& peer, std::string_view forwarded_for) const;

 private:
  struct Network;
  bool trusted(const std::string& ip) const;
  void finish(Context& ctx, Response& res, std::chrono::steady_clock::time_point started) const;
  Response run_route(const Route& route, Context& ctx) const;
  // +1 when a request is handed to a pool, -1 when it is answered or the pool refused it.
  void count_in_flight(int change);

  PipelineOptions options_;
  const Router& router_;
  WorkerPool& workers_;
  Submit hashing_;
  Metrics& metrics_;
  Authenticator authenticate_;
  const StaticFiles* web_;
  std::vector<std::shared_ptr<Network>> proxies_;
  // Requests handed to a pool and not yet answered (wait_idle()).
  std::mutex in_flight_mutex_;
  std::condition_variable idle_;
  std::size_t in_flight_ = 0;
};

// True when `path` belongs to the server's own API (never served from the web app).
bool is_api_path(std::string_view path);

}  // namespace latchkey::http
