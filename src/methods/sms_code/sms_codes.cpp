#include "methods/sms_code/sms_codes.hpp"

#include "common/encoding.hpp"

namespace latchkey::methods {

namespace {

Error invalid_code() {
  return Error::on_field(ErrorCode::kInvalidCode, "code", "the code is not correct");
}

Error exhausted() {
  return Error::on_field(ErrorCode::kCodeAttemptsExceeded, "code",
                         "too many wrong codes; ask for a new one");
}

}  // namespace

SmsCodes::SmsCodes(kv::KeyValue& kv, Random& random, std::vector<std::uint8_t> key,
                   SmsCodeOptions options)
    : kv_(kv), random_(random), key_(std::move(key)), options_(options) {}

std::string SmsCodes::key_for(std::string_view kind, std::string_view purpose,
                              const std::string& phone) const {
  // The number is hashed: the KV store (Redis) need not learn phone numbers.
  return "sms:" + std::string(kind) + ":" + std::string(purpose) + ":" + sha256_hex(phone);
}

std::string SmsCodes::hash(std::string_view purpose, const std::string& phone,
                           std::string_view code) const {
  const std::string data = std::string(purpose) + "|" + phone + "|" + std::string(code);
  return hex_encode(hmac_sha256(key_, as_bytes(data)));
}

Result<std::string> SmsCodes::issue(std::string_view purpose, const std::string& phone) {
  const auto cool_key = key_for("cool", purpose, phone);
  auto cooling = kv_.ttl(cool_key);
  if (!cooling) return cooling.error();
  if (*cooling) {
    Error e = Error::make(ErrorCode::kRateLimited, "a code was sent a moment ago; wait a little");
    e.retry_after = static_cast<int>(std::max<std::int64_t>(1, **cooling));
    return e;
  }
  std::string code = std::to_string(random_.uniform(1'000'000));
  code.insert(0, 6 - code.size(), '0');
  // A new code starts with a fresh attempt budget and a fresh single-use marker.
  if (auto st = kv_.del(key_for("tries", purpose, phone)); !st) return st.error();
  if (auto st = kv_.del(key_for("used", purpose, phone)); !st) return st.error();
  if (auto st = kv_.set(key_for("code", purpose, phone), hash(purpose, phone, code), options_.ttl);
      !st) {
    return st.error();
  }
  if (options_.cooldown.count() > 0) {
    if (auto st = kv_.set(cool_key, "1", options_.cooldown); !st) return st.error();
  }
  return code;
}

Status SmsCodes::verify(std::string_view purpose, const std::string& phone, std::string_view code) {
  const auto code_key = key_for("code", purpose, phone);
  auto stored = kv_.get(code_key);
  if (!stored) return stored.error();
  if (!*stored) return invalid_code();
  // Count the try before comparing, so concurrent guesses cannot exceed the budget.
  auto tries = kv_.incr(key_for("tries", purpose, phone), 1, options_.ttl);
  if (!tries) return tries.error();
  if (*tries > options_.max_attempts) return exhausted();
  if (!constant_time_equal(hash(purpose, phone, code), **stored)) {
    if (*tries >= options_.max_attempts) return exhausted();
    return invalid_code();
  }
  // Single use, even when two requests carry the right code at once.
  auto used = kv_.incr(key_for("used", purpose, phone), 1, options_.ttl);
  if (!used) return used.error();
  if (*used != 1) return invalid_code();
  (void)kv_.del(code_key);
  return {};
}

}  // namespace latchkey::methods
