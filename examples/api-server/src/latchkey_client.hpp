#pragma once
// The two calls the notes server makes to Latchkey, over libcurl: GET the JWKS, and GET
// /api/auth/check with the caller's bearer token. Adapter code: the rest of the server sees a
// JwksFetch and a CheckFn.
//
//   LatchkeyClient client({.jwks_url = base + "/.well-known/jwks.json",
//                          .check_url = base + "/api/auth/check", .ca_file = "", .timeout = 2s});
//   JwksCache cache([&] { return client.fetch_jwks(); }, clock, {});
//   RevocationChecker revocations([&](std::string_view t) { return client.check(t); }, clock, {});

#include <chrono>
#include <string>
#include <string_view>

#include "access.hpp"
#include "common/result.hpp"

namespace notes {

struct LatchkeyClientOptions {
  std::string jwks_url{};                   // http(s)://.../.well-known/jwks.json
  std::string check_url{};                  // http(s)://.../api/auth/check
  std::string ca_file{};                    // PEM CA bundle for https; empty: the system store
  std::chrono::milliseconds timeout{2000};  // per call, connect included
};

class LatchkeyClient {
 public:
  // Calls curl_global_init once per process. Throws std::invalid_argument for URLs that are not
  // http:// or https://.
  explicit LatchkeyClient(LatchkeyClientOptions options);

  // The JWKS text on 200; Error{kUnavailable} for any other status or a transport failure
  // (log_detail says which).
  latchkey::Result<std::string> fetch_jwks() const;
  // Latchkey's verdict on token (200, or the problem code of a 401), kUnavailable otherwise.
  CheckVerdict check(std::string_view token) const;

 private:
  struct Answer {
    long status = 0;
    std::string body;
  };
  latchkey::Result<Answer> get(const std::string& url, const std::string& authorization) const;

  LatchkeyClientOptions options_;
};

}  // namespace notes
