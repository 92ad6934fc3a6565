#pragma once
// The built web app, loaded into memory at start-up: hashed assets get a long cache, index.html
// `no-cache`, unknown paths fall back to index.html (client-side routing). Paths with `..`,
// backslashes or NUL never reach the file system.

#include <map>
#include <optional>
#include <string>

#include "http/types.hpp"

namespace latchkey::http {

class StaticFiles {
 public:
  // Loads every regular file under `root` (at most 50 MB in all). An absent root or one without
  // index.html yields an empty set (the API still works; `/` then says the app is not built).
  static StaticFiles load(const std::string& root);

  bool empty() const { return files_.empty(); }
  std::size_t size() const { return files_.size(); }
  // The response for a GET/HEAD of `path`.
  Response serve(const Request& req, std::string_view path) const;

 private:
  struct File {
    std::string body;
    std::string content_type;
    bool immutable = false;
  };
  std::map<std::string, File, std::less<>> files_;
};

}  // namespace latchkey::http
