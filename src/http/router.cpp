#include "http/router.hpp"

#include <algorithm>
#include <map>
#include <string_view>

namespace latchkey::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  if (!path.empty() && path.front() == '/') start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string_view without_leading_slash(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path;
}

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool match_segments(const std::vector<std::string>& pattern,
                    const std::vector<std::string_view>& path,
                    std::map<std::string, std::string>& params) {
  if (pattern.size() != path.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string_view p = pattern[i];
    if (is_placeholder(p)) {
      if (path[i].empty()) return false;
      found.emplace(std::string(p.substr(1, p.size() - 2)), std::string(path[i]));
    } else if (p != path[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::add(Route route) {
  const auto parts = split_path(route.pattern);
  const bool literal = std::none_of(parts.begin(), parts.end(),
                                    [](std::string_view p) { return is_placeholder(p); });
  segments_.emplace_back(parts.begin(), parts.end());
  literal_.push_back(literal);
  routes_.push_back(std::move(route));
}

Match Router::match(Verb method, std::string_view path) const {
  Match m;
  const std::string_view bare = without_leading_slash(path);
  std::vector<std::string_view> parts;  // the path's segments, split for the first pattern route
  // Literal routes win over patterns: try routes without placeholders first.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < routes_.size(); ++i) {
      const Route& r = routes_[i];
      if ((pass == 0) != literal_[i]) continue;
      std::map<std::string, std::string> params;
      if (literal_[i]) {
        if (without_leading_slash(r.pattern) != bare) continue;
      } else {
        if (parts.empty()) parts = split_path(path);
        if (!match_segments(segments_[i], parts, params)) continue;
      }
      if (r.method == method || (method == Verb::head && r.method == Verb::get)) {
        if (!m.route) {
          m.route = &r;
          m.params = std::move(params);
        }
      } else {
        if (!m.allow.empty()) m.allow += ", ";
        m.allow += std::string(boost::beast::http::to_string(r.method));
      }
    }
    if (m.route) break;
  }
  if (m.route) {
    m.allow.clear();
  } else if (!m.allow.empty()) {
    m.method_not_allowed = true;
  }
  return m;
}

}  // namespace latchkey::http
