#include "courier/templates.hpp"

#include <kainjow/mustache.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/encoding.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;
namespace mustache = kainjow::mustache;

// ---- HTML building blocks of the built-in templates ----------------------------------------
// Inline styles only: many mail clients drop <style> and never load external resources.
// Colours meet WCAG AA contrast (body #18181b on white, muted #52525b, button white on #1d4ed8).
// word-break:keep-all keeps Korean words whole when lines wrap; URLs opt back into break-all.

constexpr std::string_view kFontStack =
    "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Apple SD Gothic Neo','Malgun Gothic',"
    "'Noto Sans KR',Helvetica,Arial,sans-serif";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) out += part;
  return out;
}

std::string h1(std::string_view text) {
  return cat(
      {"<h1 style=\"margin:0 0 24px;font-size:22px;line-height:1.3;font-weight:700;"
       "color:#18181b;\">",
       text, "</h1>\n"});
}

std::string p(std::string_view text) {
  return cat({"<p style=\"margin:0 0 16px;\">", text, "</p>\n"});
}

// A secondary paragraph ("ignore this e-mail if ...").
std::string note(std::string_view text) {
  return cat({"<p style=\"margin:24px 0 0;font-size:14px;color:#52525b;\">", text, "</p>\n"});
}

// A real link styled as a button, then the same URL as visible text for clients (and people)
// that cannot use the button.
std::string button(std::string_view href, std::string_view label, std::string_view caption) {
  return cat(
      {"<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
       "style=\"margin:8px 0 16px;\">\n<tr><td style=\"border-radius:6px;"
       "background-color:#1d4ed8;\">\n<a href=\"",
       href,
       "\" style=\"display:inline-block;padding:12px 24px;font-size:16px;font-weight:600;"
       "line-height:1.25;color:#ffffff;text-decoration:none;border-radius:6px;\">",
       label,
       "</a>\n</td></tr>\n</table>\n"
       "<p style=\"margin:0 0 24px;font-size:14px;color:#52525b;\">",
       caption, "<br>\n<a href=\"", href, "\" style=\"color:#1d4ed8;word-break:break-all;\">", href,
       "</a></p>\n"});
}

// A one-time code, large and in a monospace face.
std::string code(std::string_view text) {
  return cat(
      {"<p style=\"margin:0 0 24px;font-family:'SFMono-Regular',Consolas,"
       "'Liberation Mono',Menlo,monospace;font-size:28px;font-weight:700;"
       "letter-spacing:4px;color:#18181b;\">",
       text, "</p>\n"});
}

// A highlighted value such as an e-mail address.
std::string callout(std::string_view text) {
  return cat(
      {"<p style=\"margin:0 0 16px;padding:12px 16px;background-color:#f4f4f5;"
       "border-radius:6px;font-weight:600;word-break:break-all;\">",
       text, "</p>\n"});
}

// The page around a built-in HTML body. `title` is the subject template (so it is escaped like
// every other value in the HTML part).
std::string html_page(std::string_view lang, std::string_view title, std::string_view body,
                      std::string_view footer) {
  return cat({"<!DOCTYPE html>\n<html lang=\"", lang,
              "\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"color-scheme\" content=\"light\">\n<title>",
              title,
              "</title>\n</head>\n"
              "<body style=\"margin:0;padding:0;background-color:#f4f4f5;\">\n"
              "<div role=\"article\" aria-roledescription=\"email\" lang=\"",
              lang,
              "\" dir=\"ltr\">\n"
              "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
              "border=\"0\" style=\"background-color:#f4f4f5;\">\n"
              "<tr><td align=\"center\" style=\"padding:24px 12px;\">\n"
              "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
              "border=\"0\" style=\"max-width:560px;background-color:#ffffff;"
              "border:1px solid #e4e4e7;border-radius:8px;\">\n"
              "<tr><td style=\"padding:32px;font-family:",
              kFontStack,
              ";font-size:16px;line-height:1.6;color:#18181b;text-align:left;word-break:keep-all;"
              "overflow-wrap:break-word;\">\n",
              body,
              "</td></tr>\n</table>\n"
              "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
              "border=\"0\" style=\"max-width:560px;\">\n"
              "<tr><td style=\"padding:16px 32px;font-family:",
              kFontStack,
              ";font-size:13px;line-height:1.5;color:#52525b;text-align:left;word-break:keep-all;"
              "overflow-wrap:break-word;\">\n",
              footer, "</td></tr>\n</table>\n</td></tr>\n</table>\n</div>\n</body>\n</html>\n"});
}

// "change_is_totp_enabled": the section that is true when choice `variable` is `value`.
std::string choice_section(std::string_view variable, std::string_view value) {
  return cat({variable, "_is_", value});
}

// Text that depends on a choice variable: one section per value,
// "{{#change_is_a}}text a{{/change_is_a}}{{#change_is_b}}text b{{/change_is_b}}", of which
// render() shows exactly one. `text_of` gives the text for a value.
template <typename Entry, typename TextOf>
std::string per_choice(std::string_view variable, const std::vector<Entry>& entries,
                       TextOf text_of) {
  std::string out;
  for (const Entry& e : entries) {
    const std::string section = choice_section(variable, e.value);
    out += cat({"{{#", section, "}}", text_of(e), "{{/", section, "}}"});
  }
  return out;
}

// A sentence written with line breaks for the text part, as one line for HTML.
std::string unwrap(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

struct BuiltinTemplate {
  std::string_view id;
  std::string subject;
  std::string text;       // without the signature
  std::string html_body;  // inside the page frame, without the footer
};

struct BuiltinLocale {
  std::string_view locale;
  std::string text_signature;
  std::string html_footer;
  std::vector<BuiltinTemplate> templates;
};

#include "courier/templates/en.inc"
#include "courier/templates/ko.inc"

// ---- template variables ---------------------------------------------------------------------

constexpr std::string_view kPartNames[] = {"subject", "txt", "html"};

const std::map<std::string_view, std::vector<std::string>>& builtin_variables() {
  static const std::map<std::string_view, std::vector<std::string>> vars{
      {kVerifyEmail, {"name", "link", "code", "expires_hours"}},
      {kEmailChangeVerify, {"name", "link", "code", "new_email", "expires_hours"}},
      {kEmailChangeNotice, {"name", "new_email"}},
      {kPasswordReset, {"name", "link", "expires_minutes"}},
      {kPasswordChanged, {"name", "time"}},
      {kSecurityNotice, {"name", "change", "time"}},
  };
  return vars;
}

// Choice variables and their values (see templates.hpp).
const std::map<std::string_view, std::vector<std::string_view>, std::less<>>& choice_values() {
  static const std::map<std::string_view, std::vector<std::string_view>, std::less<>> choices{
      {"change", {std::begin(security_change::kAll), std::end(security_change::kAll)}},
  };
  return choices;
}

constexpr std::string_view kBrandingNames[] = {"product_name", "support_email", "public_url"};

enum class VarKind { kOptional, kRequired, kCount, kChoice };

VarKind kind_of(std::string_view name) {
  if (name == "name") return VarKind::kOptional;
  if (choice_values().contains(name)) return VarKind::kChoice;
  if (name.starts_with("expires_")) return VarKind::kCount;
  return VarKind::kRequired;
}

constexpr std::string_view kIsOneSuffix = "_is_one";

// The names a template of this id may use.
std::set<std::string, std::less<>> allowed_names(const std::vector<std::string>& variables) {
  std::set<std::string, std::less<>> names(std::begin(kBrandingNames), std::end(kBrandingNames));
  for (const auto& v : variables) {
    names.insert(v);
    if (kind_of(v) == VarKind::kCount) names.insert(v + std::string(kIsOneSuffix));
    if (kind_of(v) == VarKind::kChoice) {
      for (auto value : choice_values().find(v)->second) names.insert(choice_section(v, value));
    }
  }
  return names;
}

// ---- validation -----------------------------------------------------------------------------

std::string_view trim_ws(std::string_view s) {
  constexpr std::string_view kWs = " \t\r\n\f\v";
  const auto b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kWs) - b + 1);
}

std::size_t line_of(std::string_view src, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(src.begin(), src.begin() + offset, '\n'));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Walks the tags of a template that kainjow has already parsed, the way its parser does
// (default delimiters, {{{x}}}, {{=<% %>=}}), and returns an error message for the first tag
// that names something the template does not have, or "" when every tag is fine.
//
// Partials are refused: kainjow resolves {{> x}} by looking `x` up in the *data*, so a partial
// named after a variable would render a user-controlled value as a template.
std::string check_tags(std::string_view src, const std::set<std::string, std::less<>>& allowed) {
  std::string begin = "{{";
  std::string end = "}}";
  std::size_t pos = 0;
  while ((pos = src.find(begin, pos)) != std::string_view::npos) {
    const std::size_t start = pos;
    std::size_t content = start + begin.size();
    const bool triple = begin == "{{" && end == "}}" && content < src.size() && src[content] == '{';
    const std::string_view close = triple ? std::string_view("}}}") : std::string_view(end);
    if (triple) ++content;
    const std::size_t stop = src.find(close, content);
    if (stop == std::string_view::npos)
      return "unclosed tag at line " + std::to_string(line_of(src, start));
    const std::string_view tag = trim_ws(src.substr(content, stop - content));
    pos = stop + close.size();

    std::string_view name = tag;
    if (!triple && !tag.empty()) {
      switch (tag.front()) {
        case '=': {  // set delimiters: "=<% %>="
          const std::string_view inner =
              trim_ws(tag.substr(1, tag.size() >= 2 ? tag.size() - 2 : 0));
          const auto space = inner.find(' ');
          if (space == std::string_view::npos) return "invalid set-delimiter tag";
          begin = std::string(inner.substr(0, space));
          end = std::string(trim_ws(inner.substr(space + 1)));
          continue;
        }
        case '!':
          continue;
        case '>':
          return "partials ({{> name}}) are not supported (line " +
                 std::to_string(line_of(src, start)) + ")";
        case '/':
          continue;  // the parser has matched it with its opening tag
        case '#':
        case '^':
        case '&':
          name = trim_ws(tag.substr(1));
          break;
        default:
          break;
      }
    }
    const bool well_formed = !name.empty() && std::all_of(name.begin(), name.end(), is_name_char);
    if (!well_formed || !allowed.contains(name)) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return "unknown variable \"" + std::string(name) + "\" at line " +
             std::to_string(line_of(src, start)) + " (this template has: " + known + ")";
    }
  }
  return {};
}

// Throws std::runtime_error("courier templates: <where>: <what>") when `src` is not a usable
// template part.
void validate_part(std::string_view src, std::string_view part, const std::string& where,
                   const std::set<std::string, std::less<>>& allowed) {
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error("courier templates: " + where + ": " + what);
  };
  if (!is_valid_utf8(src)) fail("not valid UTF-8");
  if (part != "html" && trim_ws(src).empty()) fail("the " + std::string(part) + " is empty");
  std::string parse_error;
  try {
    const mustache::mustache tmpl{std::string(src)};
    if (!tmpl.is_valid()) parse_error = tmpl.error_message();
  } catch (const std::exception& e) {  // kainjow reports errors as values; this is a backstop
    parse_error = std::string("cannot parse: ") + e.what();
  }
  if (!parse_error.empty()) {
    // kainjow ends its messages with "at <byte offset>": add the line.
    const auto at = parse_error.rfind(" at ");
    if (at != std::string::npos) {
      const std::string digits = parse_error.substr(at + 4);
      if (!digits.empty() && digits.size() < 10 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const auto offset = std::min<std::size_t>(std::stoul(digits), src.size());
        parse_error += " (line " + std::to_string(line_of(src, offset)) + ")";
      }
    }
    fail(parse_error);
  }
  if (auto err = check_tags(src, allowed); !err.empty()) fail(err);
}

// ---- rendering --------------------------------------------------------------------------------

// Renders a validated template with no escaping (values are escaped beforehand for HTML).
Result<std::string> render_part(const std::string& src, const mustache::data& data,
                                std::string_view id, std::string_view part) {
  mustache::mustache tmpl{src};
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  std::string out = tmpl.is_valid() ? tmpl.render(data) : std::string();
  if (!tmpl.is_valid()) {
    return Error::internal("template " + std::string(id) + "." + std::string(part) + ": " +
                           tmpl.error_message());
  }
  return out;
}

// One line: every control character (CR, LF, TAB, ...) becomes a space, runs of spaces collapse,
// and the ends are trimmed, so a value cannot add a header line.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool is_count(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// ---- locales ----------------------------------------------------------------------------------

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Lower-cases a BCP 47-ish tag and checks its shape: subtags of 1-8 ASCII letters or digits
// separated by '-' ('_' is taken as '-'), the first one letters only. "" when malformed.
std::string normalize_tag(std::string_view tag) {
  tag = trim_ws(tag);
  std::string out;
  std::size_t subtag_len = 0;
  bool first = true;
  for (char c : tag) {
    if (c == '-' || c == '_') {
      if (subtag_len == 0) return {};
      out += '-';
      subtag_len = 0;
      first = false;
      continue;
    }
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && !first)) return {};
    if (++subtag_len > 8) return {};
    out += ascii_lower(c);
  }
  if (subtag_len == 0) return {};
  return out;
}

// The supported locale that a normalised language range names: an exact match, else the
// longest supported prefix ("ko-kr" -> "ko"), else a supported tag that the range is a prefix
// of ("zh" -> "zh-Hant").
std::string match_locale(std::string_view range, const std::vector<std::string>& supported) {
  std::string best;
  std::size_t best_len = 0;
  for (const auto& s : supported) {
    const std::string norm = normalize_tag(s);
    if (norm.empty()) continue;
    if (norm == range) return s;
    if (range.size() > norm.size() && range.starts_with(norm) && range[norm.size()] == '-' &&
        norm.size() > best_len) {
      best = s;
      best_len = norm.size();
    }
  }
  if (!best.empty()) return best;
  for (const auto& s : supported) {
    const std::string norm = normalize_tag(s);
    if (norm.size() > range.size() && norm.starts_with(range) && norm[range.size()] == '-') {
      return s;
    }
  }
  return {};
}

// RFC 9110 qvalue: "0", "0.", "0.x{1,3}", "1", "1.", "1.0{1,3}". Returns weight * 1000, or -1.
int parse_qvalue(std::string_view v) {
  if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return -1;
  int whole = v[0] - '0';
  if (v.size() == 1) return whole * 1000;
  if (v[1] != '.') return -1;
  int frac = 0;
  int scale = 100;
  for (std::size_t i = 2; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return -1;
    frac += (v[i] - '0') * scale;
    scale /= 10;
  }
  if (whole == 1 && frac != 0) return -1;
  return whole * 1000 + frac;
}

}  // namespace

// ---- TemplateSet ------------------------------------------------------------------------------

TemplateSet TemplateSet::load(const std::string& override_dir, Branding branding,
                              std::string default_locale) {
  const auto fail = [](const std::string& what) {
    throw std::runtime_error("courier templates: " + what);
  };

  // Branding is configuration: check it here so that a bad value stops the start-up.
  branding.product_name = std::string(trim_ws(branding.product_name));
  branding.support_email = std::string(trim_ws(branding.support_email));
  branding.public_url = std::string(trim_ws(branding.public_url));
  while (branding.public_url.ends_with('/')) branding.public_url.pop_back();
  if (branding.product_name.empty()) fail("branding.product_name is empty");
  for (const auto& [key, value] :
       {std::pair<std::string_view, const std::string&>{"product_name", branding.product_name},
        {"support_email", branding.support_email},
        {"public_url", branding.public_url}}) {
    if (has_control_chars(value) || !is_valid_utf8(value)) {
      fail("branding." + std::string(key) + " has control characters or is not UTF-8");
    }
  }
  const auto& url = branding.public_url;
  const bool http_url = (url.starts_with("https://") && url.size() > 8) ||
                        (url.starts_with("http://") && url.size() > 7);
  if (!http_url || url.find_first_of(" \"'<>\\") != std::string::npos) {
    fail("branding.public_url must be an absolute http(s) URL, got \"" + url + "\"");
  }

  TemplateSet set;
  set.branding_ = std::move(branding);
  // Where each part came from, for error messages: "built-in en/verify_email.txt" or a path.
  std::map<std::string, std::string> origin;
  const auto origin_key = [](std::string_view locale, std::string_view id, std::string_view part) {
    return std::string(locale) + "/" + std::string(id) + "." + std::string(part);
  };

  for (const BuiltinLocale& loc : {builtin_en(), builtin_ko()}) {
    for (const BuiltinTemplate& t : loc.templates) {
      auto vars = builtin_variables().find(t.id);
      if (vars == builtin_variables().end()) {
        throw std::logic_error("courier templates: no variables declared for " + std::string(t.id));
      }
      Template& tmpl = set.templates_[std::string(t.id)];
      tmpl.variables = vars->second;
      tmpl.by_locale[std::string(loc.locale)] = Parts{
          t.subject,
          t.text + loc.text_signature,
          html_page(loc.locale, t.subject, t.html_body, loc.html_footer),
      };
      for (auto part : kPartNames) {
        const std::string key = origin_key(loc.locale, t.id, part);
        origin[key] = "built-in " + key + ".mustache";
      }
    }
  }
  const std::vector<std::string> supported = set.locales();
  for (const auto& [id, tmpl] : set.templates_) {
    if (tmpl.by_locale.size() != supported.size()) {
      throw std::logic_error("courier templates: built-in " + id + " is missing a locale");
    }
  }

  set.default_locale_ = supported_locale(default_locale, supported);
  if (set.default_locale_.empty()) {
    fail("default locale \"" + default_locale + "\" is not supported");
  }

  if (!override_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(override_dir, ec)) {
      fail("override directory " + override_dir + " does not exist or is not a directory");
    }
    const auto sorted_entries = [&](const fs::path& dir) {
      std::vector<fs::directory_entry> entries;
      for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.path().filename().string().starts_with('.')) entries.push_back(e);
      }
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.path() < b.path(); });
      return entries;
    };
    std::string known_locales;
    for (const auto& l : supported) known_locales += (known_locales.empty() ? "" : ", ") + l;

    for (const auto& locale_entry : sorted_entries(override_dir)) {
      const std::string locale = locale_entry.path().filename().string();
      const std::string where = locale_entry.path().string();
      if (!locale_entry.is_directory()) {
        fail(where + ": expected only locale directories (" + known_locales + ")");
      }
      if (std::find(supported.begin(), supported.end(), locale) == supported.end()) {
        fail(where + ": unknown locale \"" + locale + "\" (supported: " + known_locales + ")");
      }
      for (const auto& file : sorted_entries(locale_entry.path())) {
        const std::string path = file.path().string();
        const std::string filename = file.path().filename().string();
        constexpr std::string_view kExt = ".mustache";
        std::string stem = filename.ends_with(kExt)
                               ? filename.substr(0, filename.size() - kExt.size())
                               : std::string();
        const auto dot = stem.rfind('.');
        const std::string id = dot == std::string::npos ? std::string() : stem.substr(0, dot);
        const std::string part = dot == std::string::npos ? std::string() : stem.substr(dot + 1);
        if (!file.is_regular_file() || id.empty() ||
            std::find(std::begin(kPartNames), std::end(kPartNames), part) == std::end(kPartNames)) {
          fail(path +
               ": expected files named <template_id>.subject.mustache, "
               "<template_id>.txt.mustache or <template_id>.html.mustache");
        }
        auto it = set.templates_.find(id);
        if (it == set.templates_.end()) {
          std::string ids;
          for (const auto& [known, unused] : set.templates_) {
            ids += (ids.empty() ? "" : ", ") + known;
          }
          fail(path + ": unknown template id \"" + id + "\" (known: " + ids + ")");
        }
        constexpr std::uintmax_t kMaxSize = 256 * 1024;
        if (file.file_size() > kMaxSize) fail(path + ": larger than 256 KiB");
        std::ifstream in(file.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) fail(path + ": cannot be read");
        Parts& parts = it->second.by_locale[locale];
        std::string content = text.str();
        if (part == "html" && trim_ws(content).empty()) content.clear();  // text-only mail
        (part == "subject" ? parts.subject
         : part == "txt"   ? parts.text
                           : parts.html) = std::move(content);
        origin[origin_key(locale, id, part)] = path;
      }
    }
  }

  for (const auto& [id, tmpl] : set.templates_) {
    const auto allowed = allowed_names(tmpl.variables);
    for (const auto& [locale, parts] : tmpl.by_locale) {
      validate_part(parts.subject, "subject", origin[origin_key(locale, id, "subject")], allowed);
      validate_part(parts.text, "txt", origin[origin_key(locale, id, "txt")], allowed);
      validate_part(parts.html, "html", origin[origin_key(locale, id, "html")], allowed);
    }
  }
  return set;
}

Result<Email> TemplateSet::render(std::string_view id, std::string_view locale, std::string to,
                                  std::string to_name,
                                  const std::map<std::string, std::string>& values) const {
  const auto it = templates_.find(id);
  if (it == templates_.end()) {
    Error e = Error::on_field(ErrorCode::kInvalidField, "template_id", "unknown e-mail template");
    e.log_detail = "unknown template id \"" + std::string(id) + "\"";
    return e;
  }
  const Template& tmpl = it->second;
  const auto bad_value = [&](const std::string& name, std::string detail) {
    Error e = Error::on_field(ErrorCode::kInvalidField, name, "invalid e-mail template value");
    e.log_detail = "template " + std::string(id) + ": " + std::move(detail);
    return e;
  };

  for (const auto& [name, value] : values) {
    if (std::find(tmpl.variables.begin(), tmpl.variables.end(), name) == tmpl.variables.end()) {
      return bad_value(name, "unknown variable \"" + name + "\"");
    }
    if (!is_valid_utf8(value)) return bad_value(name, "\"" + name + "\" is not UTF-8");
  }

  // The text data carries values as they are; the HTML data carries them HTML-escaped, and
  // both are rendered without mustache's own escaping. So {{x}}, {{{x}}} and {{&x}} are all
  // escaped in HTML, whatever an override template writes (invariant: no value reaches the
  // HTML part unescaped).
  mustache::data text_data;
  mustache::data html_data;
  // Empty values are left out, so that {{#x}}...{{/x}} hides and {{^x}}...{{/x}} shows.
  const auto put = [&](const std::string& name, const std::string& value) {
    if (value.empty()) return;
    text_data.set(name, mustache::data(value));
    html_data.set(name, mustache::data(xml_escape(value)));
  };
  for (const auto& name : tmpl.variables) {
    const auto v = values.find(name);
    const std::string value = v == values.end() ? std::string() : v->second;
    switch (kind_of(name)) {
      case VarKind::kOptional:
        break;
      case VarKind::kRequired:
        if (value.empty()) return bad_value(name, "\"" + name + "\" is missing or empty");
        break;
      case VarKind::kCount: {
        if (!is_count(value)) return bad_value(name, "\"" + name + "\" is not a whole number");
        const bool one = value.find_first_not_of('0') == value.size() - 1 && value.back() == '1';
        text_data.set(name + std::string(kIsOneSuffix), mustache::data(one));
        html_data.set(name + std::string(kIsOneSuffix), mustache::data(one));
        break;
      }
      case VarKind::kChoice: {
        // The caller's value selects a section; it is never matched loosely (case, spaces).
        const auto& allowed = choice_values().find(name)->second;
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
          return bad_value(name, value.empty() ? "\"" + name + "\" is missing or empty"
                                               : "\"" + name + "\" is not a known value");
        }
        for (auto choice : allowed) {
          const bool selected = choice == value;
          text_data.set(choice_section(name, choice), mustache::data(selected));
          html_data.set(choice_section(name, choice), mustache::data(selected));
        }
        break;
      }
    }
    put(name, value);
  }
  // Branding last: a template variable cannot shadow it.
  put("product_name", branding_.product_name);
  put("support_email", branding_.support_email);
  put("public_url", branding_.public_url);

  std::string loc = supported_locale(locale, locales());
  if (loc.empty()) loc = default_locale_;
  const Parts& parts = tmpl.by_locale.at(loc);

  auto subject = render_part(parts.subject, text_data, id, "subject");
  if (!subject) return std::move(subject).error();
  auto text = render_part(parts.text, text_data, id, "txt");
  if (!text) return std::move(text).error();
  std::string html;
  if (!parts.html.empty()) {
    auto rendered = render_part(parts.html, html_data, id, "html");
    if (!rendered) return std::move(rendered).error();
    html = std::move(*rendered);
  }
  return Email{std::move(to),    std::move(to_name), one_line(*subject),
               std::move(*text), std::move(html),    std::string(id)};
}

std::vector<std::string> TemplateSet::locales() const {
  std::set<std::string> all;
  for (const auto& [id, tmpl] : templates_) {
    for (const auto& [locale, parts] : tmpl.by_locale) all.insert(locale);
  }
  return {all.begin(), all.end()};
}

std::vector<std::string> TemplateSet::template_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, tmpl] : templates_) ids.push_back(id);
  return ids;
}

// ---- locale negotiation -------------------------------------------------------------------

std::string negotiate_locale(std::string_view accept_language,
                             const std::vector<std::string>& supported, std::string_view fallback) {
  // For each supported locale, the weight of the most specific range that names it: an exact
  // match ("ko") beats a longer range ("ko-KR"), which beats a shorter one ("zh" for "zh-Hant");
  // among equals the highest weight counts. Weight 0 means "not acceptable".
  struct Candidate {
    int weight;
    int specificity;
    std::size_t position;
  };
  std::map<std::string, Candidate> best;
  std::size_t position = 0;
  std::size_t start = 0;
  while (start <= accept_language.size()) {
    auto comma = accept_language.find(',', start);
    if (comma == std::string_view::npos) comma = accept_language.size();
    const std::string_view item = accept_language.substr(start, comma - start);
    start = comma + 1;
    ++position;

    const auto semi = item.find(';');
    const std::string range = normalize_tag(item.substr(0, semi));
    if (range.empty()) continue;  // "*", empty or malformed
    int weight = 1000;
    for (std::size_t p = semi; p != std::string_view::npos && weight >= 0;) {
      const auto next = item.find(';', p + 1);
      const std::string_view param =
          trim_ws(item.substr(p + 1, next == std::string_view::npos ? next : next - p - 1));
      p = next;
      if (param.size() >= 2 && ascii_lower(param[0]) == 'q' && param[1] == '=') {
        weight = parse_qvalue(trim_ws(param.substr(2)));
      }
    }
    if (weight < 0) continue;  // malformed q
    std::string locale = match_locale(range, supported);
    if (locale.empty()) continue;
    const std::size_t locale_len = normalize_tag(locale).size();
    const int specificity = locale_len == range.size() ? 2 : range.size() > locale_len ? 1 : 0;
    auto [it, inserted] = best.try_emplace(locale, Candidate{weight, specificity, position});
    Candidate& c = it->second;
    if (!inserted &&
        (specificity > c.specificity || (specificity == c.specificity && weight > c.weight))) {
      c = Candidate{weight, specificity, position};
    }
  }
  const std::string* chosen = nullptr;
  const Candidate* chosen_c = nullptr;
  for (const auto& [locale, c] : best) {
    if (c.weight == 0) continue;
    if (chosen_c == nullptr || c.weight > chosen_c->weight ||
        (c.weight == chosen_c->weight && c.position < chosen_c->position)) {
      chosen = &locale;
      chosen_c = &c;
    }
  }
  return chosen != nullptr ? *chosen : std::string(fallback);
}

std::string supported_locale(std::string_view tag, const std::vector<std::string>& supported) {
  const std::string norm = normalize_tag(tag);
  if (norm.empty()) return {};
  return match_locale(norm, supported);
}

}  // namespace latchkey::courier
