#pragma once
// The whole application for the HTTP fuzz targets: every route with its real services on SQLite in
// a temporary directory, an admin account, light argon2 parameters (so that fuzzing is not
// hash-bound) and a web root with static files. Requests go through http::Pipeline exactly as
// the server hands them over after Beast has parsed them.
//
//   fuzz::Application& app = fuzz::application();     // started once, lives until exit
//   http::Response res = app.send(std::move(req));     // waits for the answer
//   fuzz::check_response(req_target, res);            // aborts on a broken invariant

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/pipeline.hpp"
#include "http/types.hpp"

namespace latchkey::fuzz {

class Application {
 public:
  // Runs a request through the pipeline (worker pool included) and returns its response.
  http::Response send(http::Request request);
  // What the server answers when Beast refuses the bytes (malformed, too large).
  http::Response reject(const Error& error);
  // "Bearer <access token>" of the admin; empty once the fuzzer has ended the admin's account.
  const std::string& admin_bearer() const { return bearer_; }
  // Signs the admin in again (after an input ended the session: logout-all, revoke, ...).
  void renew_admin() { login(); }
  const std::string& admin_id() const { return admin_id_; }
  http::Pipeline& pipeline() { return *pipeline_; }

 private:
  friend Application& application();
  void login();
  http::Pipeline* pipeline_ = nullptr;
  std::string bearer_;
  std::string admin_id_;
};

Application& application();

// Invariants every response keeps, whatever the request: no 500 (a 5xx is only 503 with
// Retry-After), no CR/LF/NUL in any header value, errors are problem+json with a `code`.
// Aborts with a message (a libFuzzer finding) when one is broken.
void check_response(std::string_view what, const http::Response& response);

}  // namespace latchkey::fuzz
