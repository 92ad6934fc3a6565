#pragma once
// The HTTP types every layer above the transport uses.

#include <boost/beast/http.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace latchkey::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Verb = boost::beast::http::verb;
using HttpStatus = boost::beast::http::status;
using Field = boost::beast::http::field;

// Who made an authenticated request (from a verified access token).
struct Principal {
  std::string user_id;
  std::string session_id;
  std::string email;
  std::vector<std::string> roles;
  std::vector<std::string> amr;
  std::int64_t auth_time = 0;
  std::int64_t expires_at = 0;
  bool email_verified = false;
};

// What a handler gets: the request plus what the pipeline learned about it.
struct Context {
  const Request& request;
  std::string path;                           // target without the query string
  std::string query;                          // raw query string, without '?'
  std::map<std::string, std::string> params;  // path parameters, e.g. {id}
  std::string client_ip;                      // peer, or X-Forwarded-For via a trusted proxy
  std::string request_id;
  std::string route;                   // the matched pattern, for metrics and logs
  std::optional<Principal> principal;  // set for routes that require authentication
};

}  // namespace latchkey::http
