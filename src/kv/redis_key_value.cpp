#include "kv/redis_key_value.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>

#include "common/encoding.hpp"

namespace latchkey::kv {

namespace {

// incr with "expire when created by this call": one atomic round trip.
constexpr std::string_view kIncrScript =
    "redis.call('SET', KEYS[1], '0', 'EX', ARGV[2], 'NX') "
    "return redis.call('INCRBY', KEYS[1], ARGV[1])";

// After a failed connect, calls fail at once for this long instead of each waiting for the
// connect timeout, so an outage costs clients a fast 503, not a queue of stalled workers.
constexpr std::chrono::milliseconds kReconnectBackoff{1000};

Error unavailable(std::string detail) {
  Error e = Error::make(ErrorCode::kUnavailable, "the key-value store is unreachable");
  e.log_detail = "redis: " + std::move(detail);
  return e;
}

Error bad_ttl() {
  return Error::internal("kv: ttl must be positive");
}

Error bad_url(std::string why) {
  return Error::make(ErrorCode::kInvalidRequest, std::move(why));
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

bool parse_int(std::string_view text, int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void RedisKeyValue::ReplyDeleter::operator()(redisReply* r) const {
  freeReplyObject(r);
}

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return bad_url("expected redis://[[user]:password@]host[:port][/db]");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return bad_url("credentials must be user:password");
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return bad_url("bad percent-encoding in the credentials");
    ep.user = std::move(*user);
    ep.password = std::move(*password);
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, ep.db) || ep.db < 0 || ep.db > 1000)) {
      return bad_url("the database must be a number");
    }
  }
  std::string_view host = hostport;
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated IPv6 address");
    host = hostport.substr(1, close - 1);
    std::string_view tail = hostport.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':' || !parse_int(tail.substr(1), ep.port)) return bad_url("bad port");
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    if (!parse_int(hostport.substr(colon + 1), ep.port)) return bad_url("bad port");
  }
  if (host.empty()) return bad_url("missing host");
  if (ep.port <= 0 || ep.port > 65535) return bad_url("port out of range");
  ep.host = std::string(host);
  return ep;
}

// One pooled connection for one command. A connection that saw an error is closed on release.
class RedisKeyValue::Lease {
 public:
  explicit Lease(RedisKeyValue& owner) : owner_(owner) {}
  ~Lease() {
    if (ctx_ == nullptr) return;
    std::lock_guard lock(owner_.mu_);
    if (broken_ || ctx_->err != 0) {
      redisFree(ctx_);
      --owner_.open_;
    } else {
      owner_.idle_.push_back(ctx_);
    }
    owner_.cv_.notify_one();
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  Status acquire() {
    {
      std::unique_lock lock(owner_.mu_);
      owner_.cv_.wait(
          lock, [&] { return !owner_.idle_.empty() || owner_.open_ < owner_.options_.pool_size; });
      if (!owner_.idle_.empty()) {
        ctx_ = owner_.idle_.back();
        owner_.idle_.pop_back();
        reused_ = true;
        return {};
      }
      ++owner_.open_;  // reserve a slot; connect outside the lock
    }
    auto ctx = owner_.connect();
    if (!ctx) {
      std::lock_guard lock(owner_.mu_);
      --owner_.open_;
      owner_.cv_.notify_one();
      return ctx.error();
    }
    ctx_ = *ctx;
    return {};
  }

  // True when the connection came from the pool and so may have died while idle.
  bool reused() const { return reused_; }
  bool broken() const { return broken_; }

  // Runs one command; transport failures are kUnavailable, Redis error replies are kInternal.
  Result<RedisKeyValue::Reply> run(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (raw == nullptr) {
      broken_ = true;
      return unavailable(ctx_->errstr);
    }
    Reply reply(raw);
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string what(reply->str, reply->len);
      // A replica that turned read-only or a server still loading: treat as an outage.
      if (what.rfind("READONLY", 0) == 0 || what.rfind("LOADING", 0) == 0 ||
          what.rfind("NOAUTH", 0) == 0) {
        broken_ = true;
        return unavailable(what);
      }
      return Error::internal("redis: " + what);
    }
    return reply;
  }

 private:
  RedisKeyValue& owner_;
  redisContext* ctx_ = nullptr;
  bool broken_ = false;
  bool reused_ = false;
};

Result<std::unique_ptr<RedisKeyValue>> RedisKeyValue::open(const RedisOptions& options) {
  auto ep = parse_redis_url(options.url);
  if (!ep) return ep.error();
  if (options.pool_size == 0) return bad_url("the pool size must be positive");
  return std::unique_ptr<RedisKeyValue>(new RedisKeyValue(options, std::move(*ep)));
}

RedisKeyValue::RedisKeyValue(RedisOptions options, RedisEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

RedisKeyValue::~RedisKeyValue() {
  for (auto* c : idle_) redisFree(c);
}

Result<redisContext*> RedisKeyValue::connect() {
  {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() < retry_after_) {
      return unavailable("reconnect backoff after a failed connect");
    }
  }
  const timeval connect_tv = to_timeval(options_.connect_timeout);
  redisContext* c = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, connect_tv);
  auto fail = [&](std::string why) -> Error {
    if (c != nullptr) redisFree(c);
    std::lock_guard lock(mu_);
    retry_after_ = std::chrono::steady_clock::now() + kReconnectBackoff;
    return unavailable(std::move(why));
  };
  if (c == nullptr) return fail("cannot allocate a context");
  if (c->err != 0) return fail(std::string("connect: ") + c->errstr);
  const timeval command_tv = to_timeval(options_.command_timeout);
  if (redisSetTimeout(c, command_tv) != REDIS_OK) return fail("cannot set the timeout");

  auto handshake = [&](const std::vector<std::string_view>& args) -> std::string {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) return std::string("handshake: ") + c->errstr;
    if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    return {};
  };
  if (!endpoint_.password.empty()) {
    std::string err = endpoint_.user.empty()
                          ? handshake({"AUTH", endpoint_.password})
                          : handshake({"AUTH", endpoint_.user, endpoint_.password});
    // The error text of AUTH never contains the password, but keep the message generic anyway.
    if (!err.empty()) return fail("authentication failed");
  }
  if (endpoint_.db != 0) {
    const std::string db = std::to_string(endpoint_.db);
    if (std::string err = handshake({"SELECT", db}); !err.empty()) return fail("SELECT: " + err);
  }
  return c;
}

Result<RedisKeyValue::Reply> RedisKeyValue::call(const std::vector<std::string_view>& args) {
  for (int attempt = 0;; ++attempt) {
    Lease lease(*this);
    if (auto st = lease.acquire(); !st) return st.error();
    auto reply = lease.run(args);
    if (reply || !lease.broken() || !lease.reused() || attempt > 0) return reply;
  }
}

Result<std::int64_t> RedisKeyValue::incr(std::string_view key, std::int64_t delta,
                                         std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return bad_ttl();
  const std::string d = std::to_string(delta);
  const std::string t = std::to_string(ttl.count());
  auto reply = call({"EVAL", kIncrScript, "1", key, d, t});
  if (!reply) return reply.error();
  if ((*reply)->type != REDIS_REPLY_INTEGER) return Error::internal("redis: EVAL: not an integer");
  return static_cast<std::int64_t>((*reply)->integer);
}

Result<std::optional<std::string>> RedisKeyValue::get(std::string_view key) {
  auto reply = call({"GET", key});
  if (!reply) return reply.error();
  if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if ((*reply)->type != REDIS_REPLY_STRING) return Error::internal("redis: GET: not a string");
  return std::optional<std::string>(std::string((*reply)->str, (*reply)->len));
}

Status RedisKeyValue::set(std::string_view key, std::string_view value, std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return bad_ttl();
  const std::string t = std::to_string(ttl.count());
  auto reply = call({"SET", key, value, "EX", t});
  if (!reply) return reply.error();
  return {};
}

Status RedisKeyValue::del(std::string_view key) {
  auto reply = call({"DEL", key});
  if (!reply) return reply.error();
  return {};
}

Result<std::optional<std::int64_t>> RedisKeyValue::ttl(std::string_view key) {
  auto reply = call({"PTTL", key});
  if (!reply) return reply.error();
  if ((*reply)->type != REDIS_REPLY_INTEGER) return Error::internal("redis: PTTL: not an integer");
  const long long ms = (*reply)->integer;
  if (ms == -2) return std::optional<std::int64_t>();
  // -1 (no expiry) cannot happen for keys written through this interface; report it as the
  // largest value rather than as missing.
  if (ms < 0) return std::optional<std::int64_t>(std::numeric_limits<std::int64_t>::max());
  return std::optional<std::int64_t>((ms + 999) / 1000);  // whole seconds, rounded up
}

Status RedisKeyValue::ping() {
  auto reply = call({"PING"});
  if (!reply) return reply.error();
  return {};
}

}  // namespace latchkey::kv
