#include "courier/social_http_client.hpp"

#include <fstream>
#include <stdexcept>

#include "courier/curl_support.hpp"

namespace latchkey::courier {
namespace {

// Discovery documents and JWKS can be larger than an SMS gateway's answer.
constexpr std::size_t kMaxSocialResponse = 256 * 1024;

Result<methods::social::HttpReply> to_reply(Result<HttpResponse> r) {
  if (!r) return r.error();
  return methods::social::HttpReply{r->status, std::move(r->body)};
}

// Provider traffic carries client secrets, codes and tokens: https only, whatever the URL says.
Status require_https(const std::string& url) {
  auto parts = parse_url(url);
  if (!parts || parts->scheme != "https" || parts->has_credentials) {
    return Error::internal("social: refusing a non-https provider URL");
  }
  return {};
}

}  // namespace

CurlSocialHttpClient::CurlSocialHttpClient(std::string ca_file, std::chrono::milliseconds timeout)
    : ca_file_(std::move(ca_file)), timeout_(timeout) {
  init_curl_once();
  if (!ca_file_.empty() && !std::ifstream(ca_file_).good()) {
    throw std::invalid_argument("social.ca_file cannot be read: " + ca_file_);
  }
}

Result<methods::social::HttpReply> CurlSocialHttpClient::get(
    const std::string& url, const std::vector<std::string>& headers) {
  if (auto st = require_https(url); !st) return st.error();
  HttpRequest request;
  request.url = url;
  request.headers = headers;
  request.timeout = timeout_;
  request.ca_file = ca_file_;
  request.max_response_body = kMaxSocialResponse;
  return to_reply(get_http(request, "social"));
}

Result<methods::social::HttpReply> CurlSocialHttpClient::post_form(
    const std::string& url, const std::vector<std::string>& headers, const std::string& form_body) {
  if (auto st = require_https(url); !st) return st.error();
  HttpRequest request;
  request.url = url;
  request.headers = headers;
  request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  request.body = form_body;
  request.timeout = timeout_;
  request.ca_file = ca_file_;
  request.max_response_body = kMaxSocialResponse;
  return to_reply(post_http(request, "social"));
}

}  // namespace latchkey::courier
