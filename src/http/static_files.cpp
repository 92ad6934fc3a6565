#include "http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace latchkey::http {
namespace {

std::string content_type_for(const std::filesystem::path& p) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  };
  auto it = kTypes.find(p.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool safe_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    auto seg = path.substr(start, slash - start);
    if (seg == ".." || seg == ".") return false;
    start = slash + 1;
  }
  return true;
}

}  // namespace

StaticFiles StaticFiles::load(const std::string& root) {
  StaticFiles out;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (root.empty() || !fs::is_regular_file(fs::path(root) / "index.html", ec)) return out;
  std::size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto rel = fs::relative(it->path(), root, ec).generic_string();
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    File f{ss.str(), content_type_for(it->path()), rel.rfind("assets/", 0) == 0};
    total += f.body.size();
    if (total > 50u * 1024 * 1024) break;
    out.files_.emplace("/" + rel, std::move(f));
  }
  return out;
}

Response StaticFiles::serve(const Request& req, std::string_view path) const {
  Response res{HttpStatus::ok, req.version()};
  const File* file = nullptr;
  if (safe_path(path)) {
    auto it = files_.find(path == "/" ? std::string_view("/index.html") : path);
    if (it != files_.end()) file = &it->second;
  }
  // Unknown paths that look like files (have an extension) are 404; others are app routes.
  if (!file) {
    auto last = path.substr(path.rfind('/') + 1);
    if (!safe_path(path) || last.find('.') != std::string_view::npos) {
      res.result(HttpStatus::not_found);
      res.set(Field::content_type, "text/plain; charset=utf-8");
      res.set(Field::cache_control, "no-store");
      res.body() = "Not found\n";
      res.prepare_payload();
      return res;
    }
    auto it = files_.find(std::string_view("/index.html"));
    if (it == files_.end()) {
      res.result(HttpStatus::not_found);
      res.set(Field::content_type, "text/plain; charset=utf-8");
      res.body() = "The web app is not built (run scripts/run or npm run build in web/).\n";
      res.prepare_payload();
      return res;
    }
    file = &it->second;
  }
  res.set(Field::content_type, file->content_type);
  res.set(Field::cache_control,
          file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.body() = file->body;  // the pipeline drops it for HEAD
  res.prepare_payload();
  return res;
}

}  // namespace latchkey::http
