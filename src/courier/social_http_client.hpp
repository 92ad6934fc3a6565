#pragma once
// The libcurl adapter of methods::social::HttpClient (social login, issue 5), on the courier's
// curl plumbing (curl_support.hpp): https only, peer certificate and host name always verified,
// TLS 1.2 at least, no redirects followed. `ca_file` (social.ca_file) replaces the system CA
// store, for private CAs and tests.

#include <chrono>
#include <string>

#include "methods/social/http_client.hpp"

namespace latchkey::courier {

class CurlSocialHttpClient final : public methods::social::HttpClient {
 public:
  // Throws std::invalid_argument when ca_file is set but cannot be read.
  CurlSocialHttpClient(std::string ca_file, std::chrono::milliseconds timeout);

  Result<methods::social::HttpReply> get(const std::string& url,
                                         const std::vector<std::string>& headers) override;
  Result<methods::social::HttpReply> post_form(const std::string& url,
                                               const std::vector<std::string>& headers,
                                               const std::string& form_body) override;

 private:
  std::string ca_file_;
  std::chrono::milliseconds timeout_;
};

}  // namespace latchkey::courier
