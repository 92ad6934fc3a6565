#include "http/router.hpp"

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

bool match_pattern(std::string_view pattern, std::string_view path,
                   std::map<std::string, std::string>& params) {
  auto ps = split_path(pattern);
  auto xs = split_path(path);
  if (ps.size() != xs.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const auto p = ps[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (xs[i].empty()) return false;
      found.emplace(std::string(p.substr(1, p.size() - 2)), std::string(xs[i]));
    } else if (p != xs[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::add(Route route) {
  routes_.push_back(std::move(route));
}

Match Router::match(Verb method, std::string_view path) const {
  Match m;
  // Literal routes win over patterns: try routes without placeholders first.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& r : routes_) {
      const bool literal = r.pattern.find('{') == std::string::npos;
      if ((pass == 0) != literal) continue;
      std::map<std::string, std::string> params;
      if (!match_pattern(r.pattern, path, params)) continue;
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
