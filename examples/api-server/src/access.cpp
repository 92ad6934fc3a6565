#include "access.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/encoding.hpp"
#include "common/log.hpp"

namespace notes {
namespace {

using latchkey::tokens::VerifyStatus;

bool is_b64token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

ApiError from_verdict(CheckVerdict v) {
  switch (v) {
    case CheckVerdict::kRevoked:
      return {Problem::kTokenRevoked, "the session behind this token has ended"};
    case CheckVerdict::kExpired:
      return {Problem::kTokenExpired, "the access token has expired"};
    case CheckVerdict::kInvalid:
      return {Problem::kInvalidToken, "the access token is not valid"};
    case CheckVerdict::kActive:
    case CheckVerdict::kUnavailable:
      break;
  }
  return {Problem::kUnavailable, "the sign-in service cannot be reached; try again shortly"};
}

}  // namespace

std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c | 0x20) != kScheme[i]) return {};
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::size_t i = 0;
  while (i < token.size() && is_b64token_char(token[i])) ++i;
  if (i == 0) return {};
  while (i < token.size() && token[i] == '=') ++i;
  if (i != token.size()) return {};
  return token;
}

RevocationChecker::RevocationChecker(CheckFn check, const latchkey::Clock& clock,
                                     RevocationOptions options)
    : check_(std::move(check)), clock_(clock), options_(options) {
  if (!check_) throw std::invalid_argument("RevocationChecker: no check function");
}

CheckVerdict RevocationChecker::check(std::string_view token, std::int64_t token_exp) {
  const std::string key = latchkey::sha256_hex(token);
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (clock_.now() < it->second.until) return it->second.verdict;
      cache_.erase(it);
    }
  }
  const CheckVerdict verdict = check_(token);  // no lock held during the HTTP call
  if (verdict == CheckVerdict::kUnavailable) return verdict;
  const latchkey::TimePoint now = clock_.now();
  latchkey::TimePoint until = now + options_.ttl;
  if (verdict != CheckVerdict::kActive) until = std::max(until, latchkey::from_unix(token_exp));
  if (until <= now) return verdict;  // ttl 0: never remembered

  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.max_entries) {
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.until <= now; });
    if (cache_.size() >= options_.max_entries) cache_.clear();
  }
  cache_[key] = Entry{verdict, until};
  return verdict;
}

std::size_t RevocationChecker::cached() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

Authenticator::Authenticator(latchkey::tokens::JwksCache& keys, RevocationChecker* revocations,
                             AuthOptions options)
    : keys_(keys), revocations_(revocations), options_(std::move(options)) {
  if (options_.issuer.empty() || options_.audience.empty()) {
    throw std::invalid_argument("Authenticator: issuer and audience are required");
  }
}

Outcome<Caller> Authenticator::authenticate(std::string_view authorization_header) const {
  if (authorization_header.empty()) {
    return ApiError{Problem::kUnauthenticated, "send an access token: Authorization: Bearer ..."};
  }
  const std::string_view token = bearer_token(authorization_header);
  if (token.empty()) {
    return ApiError{Problem::kInvalidToken, "the Authorization header is not a bearer token"};
  }

  latchkey::tokens::VerifyOptions verify;
  verify.issuer = options_.issuer;
  verify.audience = options_.audience;
  verify.leeway = options_.leeway.count();
  latchkey::tokens::Claims claims;
  const VerifyStatus status = keys_.verify(token, verify, &claims);
  if (status == VerifyStatus::kExpired) {
    return ApiError{Problem::kTokenExpired, "the access token has expired"};
  }
  if (status == VerifyStatus::kKidUnknown && !keys_.state().last_fetch_ok) {
    // We cannot tell a forged kid from a key we failed to fetch: fail closed, but say why.
    latchkey::log::warn("JWKS unavailable", {{"error", keys_.state().last_error}});
    return ApiError{Problem::kUnavailable, "the token's signing keys cannot be fetched right now"};
  }
  if (status != VerifyStatus::kOk) {
    latchkey::log::event(latchkey::log::Level::kDebug, "token refused",
                         {{"reason", latchkey::tokens::to_string(status)}});
    return ApiError{Problem::kInvalidToken, "the access token is not valid"};
  }
  if (claims.sub().empty()) return ApiError{Problem::kInvalidToken, "the token names no subject"};

  if (revocations_ != nullptr) {
    const CheckVerdict verdict = revocations_->check(token, claims.exp());
    if (verdict != CheckVerdict::kActive) return from_verdict(verdict);  // the client logs why
  }
  return Caller{.sub = std::string(claims.sub()), .roles = claims.roles()};
}

}  // namespace notes
