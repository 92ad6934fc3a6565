#include "routes.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <ctime>

#include <nlohmann/json.hpp>

namespace notes {
namespace {

namespace http = boost::beast::http;
using Json = nlohmann::json;

constexpr std::string_view kCollection = "/api/notes";

std::string rfc3339(latchkey::TimePoint t) {
  const std::time_t secs = static_cast<std::time_t>(latchkey::to_unix(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json to_json(const Note& n) {
  return {{"id", n.id},
          {"owner", n.owner},
          {"title", n.title},
          {"body", n.body},
          {"created_at", rfc3339(n.created_at)}};
}

void common_headers(Response& res) {
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
}

Response json_response(const Request& req, http::status status, const Json& body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  common_headers(res);
  res.keep_alive(req.keep_alive());
  res.body() = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

Response error_response(const Request& req, const ApiError& e) {
  return problem_response(e, req.version(), req.keep_alive());
}

// ?all=1 / ?all=true / ?all=0 / ?all=false; other parameters are ignored.
Outcome<bool> parse_all(std::string_view query) {
  bool all = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    if (name != "all") continue;
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (value == "1" || value == "true") {
      all = true;
    } else if (value == "0" || value == "false") {
      all = false;
    } else {
      return ApiError{Problem::kInvalidRequest, "all must be 1, true, 0 or false"};
    }
  }
  return all;
}

Outcome<NoteDraft> parse_draft(const Request& req) {
  const std::string_view type = req[http::field::content_type];
  const std::string_view media = type.substr(0, type.find(';'));
  if (!boost::beast::iequals(media, "application/json")) {
    return ApiError{Problem::kUnsupportedMediaType, "send the note as application/json"};
  }
  Json doc = Json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return ApiError{Problem::kInvalidRequest, "the body must be a JSON object"};
  }
  NoteDraft draft;
  for (const auto& [key, value] : doc.items()) {
    if (key == "title" && value.is_string()) {
      draft.title = value.get<std::string>();
    } else if (key == "body" && value.is_string()) {
      draft.body = value.get<std::string>();
    } else if (key == "title" || key == "body") {
      return ApiError{Problem::kInvalidRequest, key + " must be a string"};
    } else {
      return ApiError{Problem::kInvalidRequest, "unknown field: " + key};
    }
  }
  if (!doc.contains("title")) return ApiError{Problem::kInvalidRequest, "title is required"};
  return draft;
}

Response method_not_allowed(const Request& req, const char* allow) {
  auto res = error_response(req, {Problem::kMethodNotAllowed, "allowed: " + std::string(allow)});
  res.set(http::field::allow, allow);
  return res;
}

Response collection(const Request& req, const Caller& caller, std::string_view query,
                    NoteBook& book) {
  if (req.method() == http::verb::get) {
    auto all = parse_all(query);
    if (auto* e = std::get_if<ApiError>(&all)) return error_response(req, *e);
    auto notes = book.list(caller, std::get<bool>(all));
    if (auto* e = std::get_if<ApiError>(&notes)) return error_response(req, *e);
    Json list = Json::array();
    for (const auto& n : std::get<std::vector<Note>>(notes)) list.push_back(to_json(n));
    return json_response(req, http::status::ok, {{"notes", std::move(list)}});
  }
  auto draft = parse_draft(req);
  if (auto* e = std::get_if<ApiError>(&draft)) return error_response(req, *e);
  auto note = book.create(caller, std::get<NoteDraft>(draft));
  if (auto* e = std::get_if<ApiError>(&note)) return error_response(req, *e);
  const Note& n = std::get<Note>(note);
  auto res = json_response(req, http::status::created, to_json(n));
  res.set(http::field::location, std::string(kCollection) + "/" + n.id);
  return res;
}

Response item(const Request& req, const Caller& caller, const std::string& id, NoteBook& book) {
  if (req.method() == http::verb::get) {
    auto note = book.get(caller, id);
    if (auto* e = std::get_if<ApiError>(&note)) return error_response(req, *e);
    return json_response(req, http::status::ok, to_json(std::get<Note>(note)));
  }
  auto gone = book.remove(caller, id);
  if (auto* e = std::get_if<ApiError>(&gone)) return error_response(req, *e);
  Response res{http::status::no_content, req.version()};
  common_headers(res);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace

Response problem_response(const ApiError& error, unsigned version, bool keep_alive) {
  Response res{status_of(error.problem), version};
  res.set(http::field::content_type, "application/problem+json");
  common_headers(res);
  // RFC 6750 section 3: a challenge wherever a bearer token was wanted or refused.
  if (error.problem == Problem::kUnauthenticated) {
    res.set(http::field::www_authenticate, "Bearer");
  } else if (error.problem == Problem::kInvalidToken || error.problem == Problem::kTokenExpired ||
             error.problem == Problem::kTokenRevoked) {
    res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
  }
  res.keep_alive(keep_alive);
  res.body() = problem_body(error);
  res.prepare_payload();
  return res;
}

Response handle(const Request& req, RouteDeps& deps) {
  const std::string_view target = req.target();
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query =
      qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  const http::verb method = req.method();

  if (path == "/healthz" || path == "/readyz") {
    if (method != http::verb::get) return method_not_allowed(req, "GET");
    if (path == "/readyz" && !deps.ready()) {
      return error_response(req, {Problem::kUnavailable, "Latchkey's signing keys are not loaded"});
    }
    return json_response(req, http::status::ok, {{"status", path == "/healthz" ? "ok" : "ready"}});
  }

  const bool is_collection = path == kCollection;
  const bool is_item = path.size() > kCollection.size() + 1 && path.starts_with(kCollection) &&
                       path[kCollection.size()] == '/' &&
                       path.find('/', kCollection.size() + 1) == std::string_view::npos;
  if (!is_collection && !is_item) return error_response(req, {Problem::kNotFound, "no such route"});
  if (is_collection && method != http::verb::get && method != http::verb::post) {
    return method_not_allowed(req, "GET, POST");
  }
  if (is_item && method != http::verb::get && method != http::verb::delete_) {
    return method_not_allowed(req, "GET, DELETE");
  }

  auto caller = deps.auth.authenticate(req[http::field::authorization]);
  if (auto* e = std::get_if<ApiError>(&caller)) return error_response(req, *e);
  const Caller& who = std::get<Caller>(caller);
  if (is_collection) return collection(req, who, query, deps.book);
  return item(req, who, std::string(path.substr(kCollection.size() + 1)), deps.book);
}

}  // namespace notes
