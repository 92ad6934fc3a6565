#include "http/pipeline.hpp"

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <optional>

#include "common/log.hpp"
#include "common/random.hpp"
#include "http/problem.hpp"

namespace latchkey::http {
namespace {

constexpr std::string_view kApiCsp = "default-src 'none'; frame-ancestors 'none'";
constexpr std::string_view kAppCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

std::string new_request_id() {
  thread_local OsRandom random;
  return random.token(12);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_api_path(std::string_view path) {
  auto under = [&](std::string_view prefix) {
    return path == prefix || (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() &&
                              path[prefix.size()] == '/');
  };
  return under("/api") || under("/.well-known") || under("/oauth") || path == "/healthz" ||
         path == "/readyz" || path == "/metrics";
}

struct Pipeline::Network {
  boost::asio::ip::address base;
  unsigned prefix = 0;

  bool contains(const boost::asio::ip::address& a) const {
    if (a.is_v4() != base.is_v4()) return false;
    auto bytes_of = [](const boost::asio::ip::address& x) {
      std::vector<unsigned char> v;
      if (x.is_v4()) {
        auto b = x.to_v4().to_bytes();
        v.assign(b.begin(), b.end());
      } else {
        auto b = x.to_v6().to_bytes();
        v.assign(b.begin(), b.end());
      }
      return v;
    };
    auto x = bytes_of(a), y = bytes_of(base);
    unsigned bits = prefix;
    for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
      unsigned take = bits >= 8 ? 8 : bits;
      unsigned char mask = static_cast<unsigned char>(0xFF << (8 - take));
      if ((x[i] & mask) != (y[i] & mask)) return false;
      bits -= take;
    }
    return true;
  }
};

Pipeline::Pipeline(PipelineOptions options, const Router& router, WorkerPool& workers,
                   Submit hashing, Metrics& metrics, Authenticator authenticate,
                   const StaticFiles* web)
    : options_(std::move(options)),
      router_(router),
      workers_(workers),
      hashing_(std::move(hashing)),
      metrics_(metrics),
      authenticate_(std::move(authenticate)),
      web_(web) {
  for (const auto& entry : options_.trusted_proxies) {
    auto slash = entry.find('/');
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(entry.substr(0, slash), ec);
    if (ec) throw std::runtime_error("server.trusted_proxies: invalid address '" + entry + "'");
    unsigned max = addr.is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string::npos) {
      try {
        prefix = static_cast<unsigned>(std::stoul(entry.substr(slash + 1)));
      } catch (...) {
        prefix = max + 1;
      }
      if (prefix > max)
        throw std::runtime_error("server.trusted_proxies: bad prefix '" + entry + "'");
    }
    proxies_.push_back(std::make_shared<Network>(Network{addr, prefix}));
  }
}

bool Pipeline::trusted(const std::string& ip) const {
  if (proxies_.empty()) return false;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(ip, ec);
  if (ec) return false;
  for (const auto& n : proxies_) {
    if (n->contains(addr)) return true;
  }
  return false;
}

std::string Pipeline::client_ip(const std::string& peer, std::string_view forwarded_for) const {
  // Only a trusted proxy may tell us who the client is. Walk X-Forwarded-For from the right,
  // skipping our own proxies; the first address that is not one of them is the client.
  if (!trusted(peer) || forwarded_for.empty()) return peer;
  std::string candidate = peer;
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    auto item = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(std::string(item), ec);
    if (ec) break;  // garbage: stop at the last address we could trust
    candidate = addr.to_string();
    if (!trusted(candidate)) break;
  }
  return candidate;
}

Response Pipeline::run_route(const Route& route, Context& ctx) const {
  try {
    if (route.auth == Auth::kBearer) {
      auto principal = authenticate_(ctx);
      if (!principal) return problem(ctx.request, principal.error(), ctx.request_id);
      ctx.principal = std::move(*principal);
    }
    return route.handler(ctx);
  } catch (const std::exception& e) {
    log::error("handler failed",
               {{"request_id", ctx.request_id}, {"route", ctx.route}, {"error", e.what()}});
    return problem(ctx.request, Error::internal(e.what()), ctx.request_id);
  }
}

void Pipeline::finish(Context& ctx, Response& res,
                      std::chrono::steady_clock::time_point started) const {
  const bool api = is_api_path(ctx.path);
  res.set(Field::server, "latchkey");
  res.set("X-Request-Id", ctx.request_id);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  if (res.find("Content-Security-Policy") == res.end()) {
    res.set("Content-Security-Policy", api ? kApiCsp : kAppCsp);
  }
  if (options_.hsts) res.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  if (api && res.find(Field::cache_control) == res.end()) res.set(Field::cache_control, "no-store");
  // CORS: only for configured origins, never a wildcard.
  auto origin = ctx.request[Field::origin];
  if (!origin.empty()) {
    for (const auto& allowed : options_.cors_origins) {
      if (origin == allowed) {
        res.set(Field::access_control_allow_origin, origin);
        res.set(Field::access_control_allow_credentials, "true");
        res.set(Field::access_control_expose_headers, "X-Request-Id, Retry-After");
        break;
      }
    }
    res.set(Field::vary, "Origin");
  }
  if (ctx.request.method() == Verb::head && !res.body().empty()) {
    // HEAD: the headers of the GET, without its body.
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int status = static_cast<int>(res.result_int());
  metrics_.observe_request(ctx.route, std::string(ctx.request.method_string()), status, seconds);
  if (log::enabled(log::Level::kInfo) && ctx.route != "/healthz" && ctx.route != "/metrics") {
    log::info("request", {{"request_id", ctx.request_id},
                          {"method", std::string(ctx.request.method_string())},
                          {"route", ctx.route},
                          {"status", status},
                          {"duration_ms", seconds * 1000.0},
                          {"ip", ctx.client_ip}});
  }
}

void Pipeline::count_in_flight(int change) {
  std::lock_guard lock(in_flight_mutex_);
  in_flight_ = static_cast<std::size_t>(static_cast<long long>(in_flight_) + change);
  if (in_flight_ == 0) idle_.notify_all();
}

void Pipeline::wait_idle() {
  std::unique_lock lock(in_flight_mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

Response Pipeline::reject(const Error& error, const std::string& peer_ip) {
  static const Request kNone{Verb::unknown, "/", 11};
  const auto started = std::chrono::steady_clock::now();
  Context ctx{kNone, "/api", {}, {}, peer_ip, new_request_id(), "transport", {}};
  auto res = problem(kNone, error, ctx.request_id);
  finish(ctx, res, started);
  return res;
}

void Pipeline::handle(Request&& request, std::string peer_ip,
                      std::function<void(Response&&)> done) {
  const auto started = std::chrono::steady_clock::now();
  auto req = std::make_shared<Request>(std::move(request));
  auto ctx = std::make_shared<Context>(Context{*req, {}, {}, {}, {}, new_request_id(), {}, {}});
  auto target = req->target();
  auto q = target.find('?');
  ctx->path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) ctx->query = std::string(target.substr(q + 1));
  ctx->client_ip = client_ip(peer_ip, (*req)["X-Forwarded-For"]);

  auto reply = [this, req, ctx, started, done](Response res) {
    finish(*ctx, res, started);
    done(std::move(res));
  };

  // CORS preflight.
  if (req->method() == Verb::options && !(*req)[Field::origin].empty()) {
    ctx->route = "preflight";
    const auto origin = (*req)[Field::origin];
    bool allowed = false;
    for (const auto& o : options_.cors_origins) allowed = allowed || origin == o;
    if (!allowed) {
      return reply(
          problem(*req, Error::make(ErrorCode::kForbidden, "origin not allowed"), ctx->request_id));
    }
    Response res{HttpStatus::no_content, req->version()};
    res.set(Field::access_control_allow_methods, "GET, POST, PATCH, DELETE");
    res.set(Field::access_control_allow_headers, "Authorization, Content-Type, X-CSRF-Token");
    res.set(Field::access_control_max_age, "600");
    return reply(std::move(res));
  }

  if (!is_api_path(ctx->path)) {
    ctx->route = "static";
    if (web_ && (req->method() == Verb::get || req->method() == Verb::head)) {
      return reply(web_->serve(*req, ctx->path));
    }
    if (!web_ || web_->empty()) {
      // No web app: nothing but the API lives here.
      return reply(
          problem(*req, Error::make(ErrorCode::kNotFound, "no such resource"), ctx->request_id));
    }
    return reply(problem(*req, Error::make(ErrorCode::kMethodNotAllowed, "method not allowed"),
                         ctx->request_id));
  }

  auto match = router_.match(req->method(), ctx->path);
  if (!match.route) {
    ctx->route = "unmatched";
    if (match.method_not_allowed) {
      auto res = problem(*req, Error::make(ErrorCode::kMethodNotAllowed, "method not allowed"),
                         ctx->request_id);
      res.set(Field::allow, match.allow);
      return reply(std::move(res));
    }
    return reply(
        problem(*req, Error::make(ErrorCode::kNotFound, "no such resource"), ctx->request_id));
  }
  ctx->route = match.route->pattern;
  ctx->params = std::move(match.params);
  const Route* route = match.route;
  if (route->work == Work::kInline) return reply(run_route(*route, *ctx));
  count_in_flight(+1);
  auto job = [this, route, ctx, answer = std::optional(reply)]() mutable {
    (*answer)(run_route(*route, *ctx));
    answer.reset();  // the transport's callback, and the connection it holds, go first
    count_in_flight(-1);
  };
  const bool queued = route->work == Work::kHashing && hashing_ ? hashing_(std::move(job))
                                                                : workers_.submit(std::move(job));
  if (!queued) {
    count_in_flight(-1);
    Error e = Error::make(ErrorCode::kOverloaded, "the server is busy; try again shortly");
    e.retry_after = 1;
    reply(problem(*req, e, ctx->request_id));
  }
}

}  // namespace latchkey::http
