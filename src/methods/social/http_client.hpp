#pragma once
// The network port of social login: what the provider strategies need from HTTPS, and nothing
// else. The libcurl adapter is courier/social_http_client.hpp (TLS always verified); tests use
// testing/social_fakes.hpp.

#include <string>
#include <vector>

#include "common/result.hpp"

namespace latchkey::methods::social {

struct HttpReply {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Only a failure to get an answer is an Error (kUnavailable when it may pass, else
  // kInternal); any HTTP status is a reply for the caller to judge. `headers` are "Name: value".
  virtual Result<HttpReply> get(const std::string& url,
                                const std::vector<std::string>& headers) = 0;
  virtual Result<HttpReply> post_form(const std::string& url,
                                      const std::vector<std::string>& headers,
                                      const std::string& form_body) = 0;
};

}  // namespace latchkey::methods::social
