#pragma once
// The notes API as a function from request to response (no sockets: tests call it directly).
//
//   GET    /api/notes           the caller's notes          {"notes":[note...]}
//   GET    /api/notes?all=1     everyone's notes (admin)    {"notes":[note...]}
//   POST   /api/notes           {"title": "...", "body": "..."} -> 201 note, Location
//   GET    /api/notes/{id}      one of the caller's notes   note
//   DELETE /api/notes/{id}      delete it                   204
//   GET    /healthz             the process is up           {"status":"ok"}
//   GET    /readyz              Latchkey's keys are loaded  {"status":"ready"} or 503
// note = {"id","owner","title","body","created_at"} (created_at: RFC 3339, UTC).
// Order: route -> method -> authenticate (access.hpp) -> body -> NoteBook. Errors are
// application/problem+json (problem.hpp).

#include <functional>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "access.hpp"
#include "notes.hpp"

namespace notes {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct RouteDeps {
  const Authenticator& auth;
  NoteBook& book;
  std::function<bool()> ready;  // for /readyz: are Latchkey's keys loaded?
};

Response handle(const Request& request, RouteDeps& deps);

// A problem+json response (also used by the transport for requests it refuses).
Response problem_response(const ApiError& error, unsigned version, bool keep_alive);

}  // namespace notes
