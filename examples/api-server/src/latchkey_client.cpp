#include "latchkey_client.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace notes {
namespace {

constexpr std::size_t kMaxBody = 256 * 1024;  // a JWKS of a few keys is a few KiB

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  bool overflow = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (sink->body.size() + len > kMaxBody) {
    sink->overflow = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->body.append(data, len);
  return len;
}

bool http_url(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

}  // namespace

LatchkeyClient::LatchkeyClient(LatchkeyClientOptions options) : options_(std::move(options)) {
  if (!http_url(options_.jwks_url)) {
    throw std::invalid_argument("the JWKS URL must be http:// or https://: " + options_.jwks_url);
  }
  if (!options_.check_url.empty() && !http_url(options_.check_url)) {
    throw std::invalid_argument("the check URL must be http:// or https://: " + options_.check_url);
  }
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

latchkey::Result<LatchkeyClient::Answer> LatchkeyClient::get(
    const std::string& url, const std::string& authorization) const {
  std::unique_ptr<CURL, EasyDeleter> h(curl_easy_init());
  if (!h) return latchkey::Error::internal("curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  add_header("Accept: application/json");
  if (!authorization.empty()) add_header("Authorization: " + authorization);

  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(h.get(), option, value);
  };
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_ERRORBUFFER, errbuf);
  // TLS: the peer's certificate and host name are always verified.
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) set(CURLOPT_CAINFO, options_.ca_file.c_str());
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  set(CURLOPT_HTTPHEADER, headers.get());
  set(CURLOPT_WRITEFUNCTION, write_body);
  set(CURLOPT_WRITEDATA, &sink);
  if (rc != CURLE_OK) {
    return latchkey::Error::internal(std::string("curl setup: ") + curl_easy_strerror(rc));
  }
  rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) {
    auto e = latchkey::Error::make(latchkey::ErrorCode::kUnavailable, "Latchkey cannot be reached");
    e.log_detail = url + ": " + (sink.overflow ? "answer too large" : curl_easy_strerror(rc)) +
                   (errbuf[0] != '\0' ? std::string(" (") + errbuf + ")" : std::string());
    return e;
  }
  Answer answer;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &answer.status);
  answer.body = std::move(sink.body);
  return answer;
}

latchkey::Result<std::string> LatchkeyClient::fetch_jwks() const {
  auto answer = get(options_.jwks_url, "");
  if (!answer) return answer.error();
  if (answer->status != 200) {
    auto e = latchkey::Error::make(latchkey::ErrorCode::kUnavailable, "JWKS fetch failed");
    e.log_detail = options_.jwks_url + ": HTTP " + std::to_string(answer->status);
    return e;
  }
  return std::move(answer->body);
}

CheckVerdict LatchkeyClient::check(std::string_view token) const {
  auto answer = get(options_.check_url, "Bearer " + std::string(token));
  if (!answer) {
    latchkey::log::warn("revocation check failed", {{"detail", answer.error().log_detail}});
    return CheckVerdict::kUnavailable;
  }
  if (answer->status == 200) return CheckVerdict::kActive;
  if (answer->status == 401) {
    auto body = nlohmann::json::parse(answer->body, nullptr, false);
    const std::string code = body.is_object() && body.contains("code") && body["code"].is_string()
                                 ? body["code"].get<std::string>()
                                 : std::string();
    if (code == "session_revoked") return CheckVerdict::kRevoked;
    if (code == "token_expired") return CheckVerdict::kExpired;
    return CheckVerdict::kInvalid;
  }
  latchkey::log::warn("revocation check failed", {{"detail", options_.check_url + ": HTTP " +
                                                                 std::to_string(answer->status)}});
  return CheckVerdict::kUnavailable;
}

}  // namespace notes
