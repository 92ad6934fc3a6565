#pragma once
// libcurl plumbing shared by the courier's network channels (SMTP, SMS over HTTPS). Adapter
// code only: domain code never sees these types.
//
//   init_curl_once();                                   // in every channel's constructor
//   Result<HttpResponse> r = post_http({.url = url, .headers = {"Content-Type: application/json"},
//                                       .body = json, .timeout = 10s}, "webhook");
//   if (!r) return r.error();                           // transport failure, already classified
//   if (r->status / 100 == 2) ...                       // the caller judges the status
//
// Error classification (what a retry may fix) is in one place: transient_curl_error() for
// transport failures and transient_http_status() for HTTP answers.

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace latchkey::courier {

// curl_global_init(CURL_GLOBAL_DEFAULT), once per process. Throws std::runtime_error when it
// fails (a start-up failure). Call it before the first curl_easy_init / curl_url.
void init_curl_once();

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// A string curl allocated (curl_url_get), freed with curl_free.
struct CurlStr {
  char* p = nullptr;
  CurlStr() = default;
  CurlStr(const CurlStr&) = delete;
  CurlStr& operator=(const CurlStr&) = delete;
  ~CurlStr() { curl_free(p); }
};

// Sets options one after another and keeps the first failure, so a transfer's setup reads as a
// list:
//   CurlOptions set(h.get());
//   set(CURLOPT_POST, 1L);
//   if (set.code() != CURLE_OK) return ...;
class CurlOptions {
 public:
  explicit CurlOptions(CURL* h) : h_(h) {}
  template <typename T>
  void operator()(CURLoption option, T value) {
    if (code_ == CURLE_OK) code_ = curl_easy_setopt(h_, option, value);
  }
  CURLcode code() const { return code_; }

 private:
  CURL* h_;
  CURLcode code_ = CURLE_OK;
};

// What every courier transfer sets, whatever its protocol: `errbuf` (CURL_ERROR_SIZE bytes,
// alive until the transfer ends) as the error buffer, no signals (threads), `url`, no protocol
// but those in `protocols` (curl's list: "http,https", "smtp,smtps"), and the TLS invariant: the
// peer certificate and host name are always verified, TLS 1.2 at least. Protocol rules (HTTP
// redirects, SMTP STARTTLS) stay with the caller.
void set_transfer_basics(CurlOptions& set, const std::string& url, const char* protocols,
                         char* errbuf);

// Transport failures a later attempt may fix: DNS, connect, timeout, TLS handshake or peer
// verification, STARTTLS refused, connection dropped, a garbled reply. Anything else (bad
// option, unsupported protocol, unreadable CA file) is a local or configuration problem.
bool transient_curl_error(CURLcode rc);

// "curl error 7 (Couldn't connect to server): Failed to connect to ..." — for log_detail.
// `errbuf` is the CURLOPT_ERRORBUFFER (may be empty or null).
std::string curl_error_detail(CURLcode rc, const char* errbuf);

// HTTP answers a later attempt may fix: 408 Request Timeout, 429 Too Many Requests, any 5xx.
bool transient_http_status(long status);

// A URL as curl itself reads it (so what a constructor checks is what curl will use).
struct UrlParts {
  std::string scheme;            // lower case: "https"
  std::string host;              // as curl gives it: "api.twilio.com", "127.0.0.1", "[::1]"
  std::string path;              // "/" when the URL has none
  bool has_credentials = false;  // user or password in the URL
  bool has_query = false;
  bool has_fragment = false;
};
// kInvalidField when curl cannot parse `url` or it has no host; log_detail says why.
Result<UrlParts> parse_url(const std::string& url);

// 127.0.0.1, localhost or [::1] (the hosts a test server listens on). Case-insensitive.
bool is_loopback_host(std::string_view host);

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value", no CR or LF
  std::string body;                  // sent as is, with Content-Length
  std::string basic_user;            // non-empty: HTTP Basic auth with basic_password
  std::string basic_password;
  std::chrono::milliseconds timeout{10'000};  // the whole exchange, connect included
  // Social login (issue 5): a CA bundle that replaces the system store (private CAs, tests),
  // and a larger cap for discovery documents and JWKS. 0 = kMaxResponseBody.
  std::string ca_file{};
  std::size_t max_response_body = 0;
};

struct HttpResponse {
  long status = 0;
  std::string body;  // at most kMaxResponseBody (or max_response_body) bytes; the rest is dropped
};

inline constexpr std::size_t kMaxResponseBody = 16 * 1024;

// POSTs `request` over http or https (no other protocol, redirects are not followed, the
// peer's certificate and host name are always verified, TLS 1.2 at least) and returns the
// status and body of the answer, whatever the status. Only a failure to get an answer is an
// Error: kUnavailable when transient_curl_error, else kInternal; its log_detail starts with
// "<who>: " and holds curl's error, never the request's headers, body or credentials.
// Thread-safe: each call uses its own easy handle. Call init_curl_once() first.
Result<HttpResponse> post_http(const HttpRequest& request, std::string_view who);

// As post_http, with GET (request.body must be empty).
Result<HttpResponse> get_http(const HttpRequest& request, std::string_view who);

}  // namespace latchkey::courier
