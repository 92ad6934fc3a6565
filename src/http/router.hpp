#pragma once
// The route table: method + path pattern -> handler, with how the handler runs and what
// authentication it needs declared beside it. Patterns are literal segments and `{name}`
// placeholders ("/api/me/sessions/{id}"). Matching is independent of sockets, so it is unit-tested.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/types.hpp"

namespace latchkey::http {

enum class Work {
  kInline,    // cheap and non-blocking: runs on the I/O thread (health, JWKS, token check)
  kBlocking,  // touches the database or hashes: runs on the worker pool
  kHashing,   // a password hash is its main cost (login, sign-up): runs on the hash pool's
              // thread from start to finish, database calls included
};

enum class Auth {
  kNone,    // public
  kBearer,  // a valid, unrevoked access token in `Authorization: Bearer`
};

using Handler = std::function<Response(Context&)>;

struct Route {
  Verb method;
  std::string pattern;
  Work work;
  Auth auth;
  Handler handler;
};

struct Match {
  const Route* route = nullptr;  // null when nothing matched
  std::map<std::string, std::string> params;
  bool method_not_allowed = false;  // the path exists with another method
  std::string allow;                // the methods the path has, for 405's Allow header
};

class Router {
 public:
  void add(Route route);
  // Every route whose pattern matches `path` is looked at once per request: literal patterns
  // compare as strings, patterns with placeholders by the segments split when they were added.
  Match match(Verb method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // by route: its pattern split at '/'
  std::vector<bool> literal_;                       // by route: no placeholder in its pattern
};

}  // namespace latchkey::http
