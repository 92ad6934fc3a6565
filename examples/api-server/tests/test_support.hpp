#pragma once
// What the notes tests share: a stand-in for Latchkey (signing key, JWKS, check answers) and a
// token minter. Tokens are signed exactly like Latchkey's access tokens (typ at+jwt, kid).

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "access.hpp"
#include "common/clock.hpp"
#include "tokens/verify.hpp"

namespace notes::testing {

inline constexpr const char* kIssuer = "https://id.example.test";
inline constexpr const char* kAudience = "notes-api";

class FakeLatchkey {
 public:
  explicit FakeLatchkey(const latchkey::Clock& clock)
      : clock_(clock),
        key_(latchkey::tokens::generate_signing_key(latchkey::tokens::Alg::kES256, "test-key-1")) {}

  std::string mint(const std::string& sub, std::vector<std::string> roles = {"user"},
                   std::int64_t ttl = 600, const std::string& aud = kAudience) {
    const std::int64_t now = latchkey::to_unix(clock_.now());
    return latchkey::tokens::sign_compact(key_, {{"typ", "at+jwt"}},
                                          {{"iss", kIssuer},
                                           {"aud", aud},
                                           {"sub", sub},
                                           {"sid", "s-" + sub},
                                           {"roles", roles},
                                           {"iat", now},
                                           {"exp", now + ttl},
                                           {"jti", "j" + std::to_string(++counter_)}});
  }

  latchkey::tokens::JwksFetch jwks() {
    return [this]() -> latchkey::Result<std::string> {
      ++jwks_calls;
      if (down) return latchkey::Error::make(latchkey::ErrorCode::kUnavailable, "down");
      std::vector<latchkey::tokens::PublicKey> keys{key_.public_key()};
      return latchkey::tokens::to_jwks(keys);
    };
  }

  CheckFn check() {
    return [this](std::string_view token) {
      ++check_calls;
      if (down) return CheckVerdict::kUnavailable;
      std::lock_guard lock(mu_);
      auto it = verdicts_.find(std::string(token));
      return it == verdicts_.end() ? CheckVerdict::kActive : it->second;
    };
  }
  void set_verdict(const std::string& token, CheckVerdict v) {
    std::lock_guard lock(mu_);
    verdicts_[token] = v;
  }

  std::atomic<bool> down = false;
  std::atomic<int> jwks_calls = 0;
  std::atomic<int> check_calls = 0;

 private:
  const latchkey::Clock& clock_;
  latchkey::tokens::SigningKey key_;
  std::mutex mu_;
  std::map<std::string, CheckVerdict> verdicts_;
  int counter_ = 0;
};

}  // namespace notes::testing
