#pragma once
// KeyValue over Redis (hiredis), shared by every replica: rate-limit and lockout counters,
// one-time-code attempts, MFA challenges, revoked session ids.
//
//   auto kv = kv::RedisKeyValue::open({.url = "redis://:secret@127.0.0.1:6379/0"});
//   auto n = (*kv)->incr("login:ip:203.0.113.7", 1, 15min);
//
// A small pool of connections (one command at a time each). A connection that fails (I/O error,
// timeout, protocol error) is dropped and the next call reconnects, so the store recovers by
// itself when Redis comes back. While Redis is unreachable every call fails fast with
// kUnavailable (503 to clients): callers that throttle fail closed.
//
// URL: redis://[[user]:password@]host[:port][/db]. The password never appears in logs or errors.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "kv/key_value.hpp"

struct redisContext;
struct redisReply;

namespace latchkey::kv {

struct RedisOptions {
  std::string url;
  std::size_t pool_size = 8;
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{500};
};

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
};

// Parses a redis:// URL; kInvalidRequest (message names the problem, never the password).
Result<RedisEndpoint> parse_redis_url(std::string_view url);

class RedisKeyValue final : public KeyValue {
 public:
  // Validates the URL; does not connect (the first call does, and so does ping()).
  static Result<std::unique_ptr<RedisKeyValue>> open(const RedisOptions& options);
  ~RedisKeyValue() override;
  RedisKeyValue(const RedisKeyValue&) = delete;
  RedisKeyValue& operator=(const RedisKeyValue&) = delete;

  Result<std::int64_t> incr(std::string_view key, std::int64_t delta,
                            std::chrono::seconds ttl) override;
  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  Status del(std::string_view key) override;
  Result<std::optional<std::int64_t>> ttl(std::string_view key) override;

  // PING: ok when Redis answers (for /readyz and start-up checks).
  Status ping();

 private:
  class Lease;
  struct ReplyDeleter {
    void operator()(redisReply* r) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

  RedisKeyValue(RedisOptions options, RedisEndpoint endpoint);
  Result<redisContext*> connect();
  // One command on a pooled connection. A pooled connection that turns out to be dead (Redis
  // restarted, idle connection closed) is replaced and the command tried once more.
  Result<Reply> call(const std::vector<std::string_view>& args);

  RedisOptions options_;
  RedisEndpoint endpoint_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<redisContext*> idle_;
  std::size_t open_ = 0;                                 // connections handed out or idle
  std::chrono::steady_clock::time_point retry_after_{};  // no connect attempts before this
};

}  // namespace latchkey::kv
