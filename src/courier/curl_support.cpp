#include "courier/curl_support.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

namespace latchkey::courier {
namespace {

struct BodySink {
  std::string* body;
  std::size_t cap;
};

std::size_t collect_body(char* data, std::size_t size, std::size_t nmemb, void* userdata) {
  auto* sink = static_cast<BodySink*>(userdata);
  std::string* body = sink->body;
  const std::size_t n = size * nmemb;
  // Past the cap the rest is read and dropped: returning less than n would abort the transfer
  // with CURLE_WRITE_ERROR and hide the status.
  if (body->size() < sink->cap) {
    body->append(data, std::min(n, sink->cap - body->size()));
  }
  return n;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

void set_transfer_basics(CurlOptions& set, const std::string& url, const char* protocols,
                         char* errbuf) {
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, protocols);
  // Security invariant: the peer certificate and host name are always verified.
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
}

bool transient_curl_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:  // SMTP: STARTTLS required but not offered (or refused)
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_AGAIN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string curl_error_detail(CURLcode rc, const char* errbuf) {
  std::string detail =
      "curl error " + std::to_string(static_cast<int>(rc)) + " (" + curl_easy_strerror(rc) + ")";
  if (errbuf != nullptr && *errbuf != '\0') detail += ": " + std::string(errbuf);
  return detail;
}

bool transient_http_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

Result<UrlParts> parse_url(const std::string& url) {
  init_curl_once();
  CurlUrl u(curl_url());
  if (!u) throw std::runtime_error("curl_url failed");
  const auto invalid = [](std::string why) {
    return Error{ErrorCode::kInvalidField, "invalid URL", {}, {}, std::move(why)};
  };
  if (const CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
    return invalid(curl_url_strerror(rc));
  }
  UrlParts parts;
  CurlStr scheme, host, path, user, password, query, fragment;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0) != CURLUE_OK) {
    return invalid("no scheme");
  }
  parts.scheme = scheme.p;
  std::transform(parts.scheme.begin(), parts.scheme.end(), parts.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK || *host.p == '\0') {
    return invalid("no host");
  }
  parts.host = host.p;
  parts.path = curl_url_get(u.get(), CURLUPART_PATH, &path.p, 0) == CURLUE_OK ? path.p : "/";
  parts.has_credentials = curl_url_get(u.get(), CURLUPART_USER, &user.p, 0) == CURLUE_OK ||
                          curl_url_get(u.get(), CURLUPART_PASSWORD, &password.p, 0) == CURLUE_OK;
  parts.has_query = curl_url_get(u.get(), CURLUPART_QUERY, &query.p, 0) == CURLUE_OK;
  parts.has_fragment = curl_url_get(u.get(), CURLUPART_FRAGMENT, &fragment.p, 0) == CURLUE_OK;
  return parts;
}

bool is_loopback_host(std::string_view host) {
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return h == "127.0.0.1" || h == "localhost" || h == "[::1]" || h == "::1";
}

namespace {

Result<HttpResponse> perform_http(const HttpRequest& request, std::string_view who, bool post) {
  const std::string prefix = std::string(who) + ": ";
  CurlEasy h(curl_easy_init());
  if (!h) return Error::internal(prefix + "curl_easy_init failed");

  // "Expect:" switches off 100-continue: one round trip, and no server that mishandles it.
  CurlSlist headers(curl_slist_append(nullptr, "Expect:"));
  if (!headers) return Error::internal(prefix + "curl_slist_append failed");
  for (const auto& line : request.headers) {
    // Header values come from our own code and options, but a line break would start a new
    // header: refuse rather than send it.
    if (has_line_break(line)) return Error::internal(prefix + "header with a line break");
    if (curl_slist_append(headers.get(), line.c_str()) == nullptr) {
      return Error::internal(prefix + "curl_slist_append failed");
    }
  }

  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {};
  CurlOptions set(h.get());
  set_transfer_basics(set, request.url, "http,https", errbuf);
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  set(CURLOPT_HTTPHEADER, headers.get());
  set(CURLOPT_USERAGENT, "latchkey-courier");
  if (!request.basic_user.empty()) {
    set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    set(CURLOPT_USERNAME, request.basic_user.c_str());
    set(CURLOPT_PASSWORD, request.basic_password.c_str());
  }
  if (post) {
    set(CURLOPT_POST, 1L);
    set(CURLOPT_POSTFIELDS, request.body.data());
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    set(CURLOPT_HTTPGET, 1L);
  }
  if (!request.ca_file.empty()) set(CURLOPT_CAINFO, request.ca_file.c_str());
  BodySink sink{&response.body,
                request.max_response_body == 0 ? kMaxResponseBody : request.max_response_body};
  set(CURLOPT_WRITEFUNCTION, &collect_body);
  set(CURLOPT_WRITEDATA, &sink);
  if (set.code() != CURLE_OK) {
    return Error::internal(prefix +
                           "setting up the request: " + curl_error_detail(set.code(), errbuf));
  }

  const CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) {
    // Even when a status line arrived before the failure, the answer is incomplete: whether the
    // gateway took the message is unknown, so a transient failure is retried (the gateway gets
    // the same idempotency key).
    const bool transient = transient_curl_error(rc);
    return Error{transient ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                 transient ? "gateway is unavailable" : "delivery failed",
                 {},
                 {},
                 prefix + curl_error_detail(rc, errbuf)};
  }
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace

Result<HttpResponse> post_http(const HttpRequest& request, std::string_view who) {
  return perform_http(request, who, /*post=*/true);
}

Result<HttpResponse> get_http(const HttpRequest& request, std::string_view who) {
  if (!request.body.empty()) return Error::internal(std::string(who) + ": GET with a body");
  return perform_http(request, who, /*post=*/false);
}

}  // namespace latchkey::courier
