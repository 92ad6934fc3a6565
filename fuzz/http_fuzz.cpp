// Raw request bytes -> Beast's parser with the server's limits and rules -> the whole pipeline
// (router, authentication, every handler, static files). Several requests in one input are handled
// in turn, as on a keep-alive connection; bytes Beast refuses get the server's rejection.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/server.hpp"
#include "http_support.hpp"

namespace bhttp = boost::beast::http;
using latchkey::Error;
using latchkey::ErrorCode;

namespace {
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;  // server.max_header_bytes default
constexpr std::size_t kMaxBodyBytes = 64 * 1024;   // server.max_body_bytes default
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  latchkey::fuzz::application();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& app = latchkey::fuzz::application();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  auto refuse = [&app](ErrorCode code, std::string_view why) {
    latchkey::fuzz::check_response(why, app.reject(Error::make(code, std::string(why))));
  };
  for (int requests = 0; !rest.empty() && requests < 4; ++requests) {
    // As the server reads a request (http/server.cpp): obs-fold refused, the header parsed and
    // checked, then the body.
    if (latchkey::http::has_obs_fold(rest)) {
      refuse(ErrorCode::kInvalidRequest, "obs-fold");
      return 0;
    }
    latchkey::http::RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    parser.body_limit(kMaxBodyBytes);
    boost::beast::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (!ec && parser.is_header_done()) {
      if (auto st = latchkey::http::check_request_header(parser); !st) {
        refuse(st.error().code, st.error().message);
        return 0;
      }
      parser.eager(true);
      const auto body = rest.substr(used);
      if (!parser.is_done()) used += parser.put(boost::asio::buffer(body.data(), body.size()), ec);
    }
    if (ec == bhttp::error::need_more) return 0;  // the connection would wait for more bytes
    if (ec) {
      refuse(ec == bhttp::error::body_limit     ? ErrorCode::kPayloadTooLarge
             : ec == bhttp::error::header_limit ? ErrorCode::kHeadersTooLarge
                                                : ErrorCode::kInvalidRequest,
             "refused by the parser");
      return 0;
    }
    if (!parser.is_done()) return 0;
    rest.remove_prefix(used);
    const std::string target(parser.get().target());
    latchkey::fuzz::check_response(target, app.send(parser.release()));
  }
  return 0;
}
