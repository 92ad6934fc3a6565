#include "courier/mime.hpp"

#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <vector>

#include "common/encoding.hpp"

namespace latchkey::courier {
namespace {

constexpr std::size_t kMaxLine = 78;      // RFC 5322 2.1.1 SHOULD (without CRLF)
constexpr std::size_t kMaxWord = 75;      // RFC 2047 2: an encoded-word's length
constexpr std::size_t kBase64Line = 76;   // RFC 2045 6.8
constexpr std::size_t kMaxBoundary = 66;  // so the folded boundary= line stays <= 78
constexpr std::string_view kWordPrefix = "=?UTF-8?B?";
constexpr std::string_view kWordSuffix = "?=";

bool is_atext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

bool is_ldh(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Letter/digit/hyphen labels separated by single dots, 1..253 characters.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (d[i - 1] == '-' || d[i - label] == '-') return false;
      label = 0;
    } else if (is_ldh(static_cast<unsigned char>(d[i]))) {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

// Decodes one UTF-8 sequence at s[i]. Returns the code point and sets `len`; an invalid
// sequence returns -1 with len = 1.
std::int32_t decode_utf8(std::string_view s, std::size_t i, std::size_t& len) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  len = 1;
  if (c < 0x80) return c;
  std::size_t n;
  std::int32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return -1;
  }
  if (i + n > s.size()) return -1;
  for (std::size_t k = 1; k < n; ++k) {
    const unsigned char cc = b(k);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (cc < l || cc > h) return -1;
    cp = (cp << 6) | (cc & 0x3F);
  }
  len = n;
  return cp;
}

bool is_control(std::int32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

// The header-injection barrier: every header value passes through here. Runs of control
// characters (CR, LF, TAB, other C0, DEL, C1) become one space, invalid UTF-8 becomes U+FFFD,
// and surrounding spaces are trimmed. The result never contains CR or LF.
std::string clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_control = false;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len;
    const std::int32_t cp = decode_utf8(s, i, len);
    if (cp >= 0 && is_control(cp)) {
      if (!in_control) out += ' ';
      in_control = true;
    } else {
      in_control = false;
      if (cp < 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(s.substr(i, len));
      }
    }
    i += len;
  }
  const auto first = out.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  const auto last = out.find_last_not_of(' ');
  return out.substr(first, last - first + 1);
}

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// Lays out "Name: tok tok ..." with a fold (CRLF + space) before a token that would push the
// line past 78 characters. Empty tokens (from repeated spaces) never start a line, so no line
// is whitespace only. Unfolding (removing the CRLFs) gives back the tokens joined by spaces.
std::string fold(std::string_view name, const std::vector<std::string>& tokens) {
  std::string out(name);
  out += ':';
  std::size_t line = out.size();
  bool has_token = false;
  for (const auto& t : tokens) {
    if (has_token && !t.empty() && line + 1 + t.size() > kMaxLine) {
      out += "\r\n";
      line = 0;
    }
    out += ' ';
    out += t;
    line += 1 + t.size();
    has_token = has_token || !t.empty();
  }
  out += "\r\n";
  return out;
}

std::size_t longest_line(std::string_view folded) {
  std::size_t longest = 0;
  std::size_t start = 0;
  while (start < folded.size()) {
    auto end = folded.find("\r\n", start);
    if (end == std::string_view::npos) end = folded.size();
    longest = std::max(longest, end - start);
    start = end + 2;
  }
  return longest;
}

std::string encoded_word(std::string_view utf8) {
  std::string w(kWordPrefix);
  w += base64_encode(as_bytes(utf8));
  w += kWordSuffix;
  return w;
}

// RFC 2047 B encoded-words for `text` (valid UTF-8), each holding whole characters (2047 5),
// the first short enough to follow "Name: " on the header line, the rest at most 75 characters.
std::vector<std::string> encoded_words(std::string_view text, std::size_t header_name_len) {
  const auto capacity = [](std::size_t word_len) {
    return (word_len - kWordPrefix.size() - kWordSuffix.size()) / 4 * 3;
  };
  std::size_t room = capacity(std::min(kMaxWord, kMaxLine - header_name_len - 2));
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(text.size(), start + room);
    // Back up to a character boundary (a byte that is not a continuation byte).
    while (end < text.size() && end > start &&
           (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (end == start) end = std::min(text.size(), start + room);  // unreachable for valid UTF-8
    words.push_back(encoded_word(text.substr(start, end - start)));
    start = end;
    room = capacity(kMaxWord);
  }
  return words;
}

std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto sp = s.find(' ', start);
    out.emplace_back(s.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return out;
}

std::string subject_header(std::string_view raw) {
  const std::string subject = clean(raw);
  constexpr std::string_view kName = "Subject";
  if (subject.empty()) return std::string(kName) + ":\r\n";
  if (printable_ascii(subject) && subject.find("=?") == std::string::npos) {
    std::string plain = fold(kName, split_spaces(subject));
    if (longest_line(plain) <= kMaxLine) return plain;
  }
  return fold(kName, encoded_words(subject, kName.size()));
}

// "Name: display-name <addr>", or "Name: addr" without a display name.
std::string address_header(std::string_view name, std::string_view raw_display,
                           std::string_view raw_address) {
  const std::string display = clean(raw_display);
  const std::string address = clean(raw_address);
  if (display.empty()) return fold(name, {address});
  std::vector<std::string> tokens;
  if (printable_ascii(display) && display.find("=?") == std::string::npos) {
    bool atoms_only = true;
    for (unsigned char c : display) atoms_only = atoms_only && (c == ' ' || is_atext(c));
    if (atoms_only) {
      for (auto& w : split_spaces(display)) {
        if (!w.empty()) tokens.push_back(std::move(w));
      }
    } else {
      std::string q = "\"";
      for (char c : display) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
      }
      q += '"';
      tokens.push_back(std::move(q));
    }
    if (longest_line(fold(name, tokens)) > kMaxLine) tokens.clear();
  }
  if (tokens.empty()) tokens = encoded_words(display, name.size());
  tokens.push_back("<" + address + ">");
  return fold(name, tokens);
}

std::string date_header(TimePoint t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = static_cast<std::time_t>(to_unix(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
                kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

void append_base64_body(std::string& out, std::string_view body) {
  const std::string b64 = base64_encode(as_bytes(body));
  for (std::size_t i = 0; i < b64.size(); i += kBase64Line) {
    out.append(b64, i, kBase64Line);
    out += "\r\n";
  }
  if (b64.empty()) out += "\r\n";
}

constexpr std::string_view kTextPart =
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: base64\r\n";
constexpr std::string_view kHtmlPart =
    "Content-Type: text/html; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: base64\r\n";

void check_boundary(std::string_view b) {
  if (b.empty() || b.size() > kMaxBoundary) {
    throw std::invalid_argument("MIME boundary must have 1 to 66 characters");
  }
  for (unsigned char c : b) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("'()+_,-./:=?").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) throw std::invalid_argument("MIME boundary has a character outside RFC 2046 bchars");
  }
}

}  // namespace

std::string build_mime(const Email& email, const MimeHeaders& h) {
  check_boundary(h.boundary);
  const bool alternative = !email.html.empty();

  std::string out;
  out.reserve(1024 + (email.text.size() + email.html.size()) * 4 / 3);
  out += address_header("From", h.from_name, h.from_address);
  out += address_header("To", email.to_name, email.to);
  out += subject_header(email.subject);
  out += date_header(h.date);
  out += fold("Message-ID", {clean(h.message_id)});
  out += "MIME-Version: 1.0\r\n";
  // RFC 3834: automatic mail; auto-responders (vacation replies) should not answer it.
  out += "Auto-Submitted: auto-generated\r\n";
  if (!alternative) {
    out += kTextPart;
    out += "\r\n";
    append_base64_body(out, email.text);
    return out;
  }
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + h.boundary + "\"\r\n";
  out += "\r\n";
  out += "--" + h.boundary + "\r\n";
  out += kTextPart;
  out += "\r\n";
  append_base64_body(out, email.text);
  out += "--" + h.boundary + "\r\n";
  out += kHtmlPart;
  out += "\r\n";
  append_base64_body(out, email.html);
  out += "--" + h.boundary + "--\r\n";
  return out;
}

Result<std::string> compose_email(const Email& email, const std::string& message_id,
                                  std::string_view from_address, std::string_view from_name,
                                  TimePoint now, Random& random, std::string_view rejected_detail) {
  if (Status s = check_address(email.to); !s.ok()) {
    Error e = s.error();
    e.field = "to";
    e.log_detail = std::string(rejected_detail) + ": " + e.message;
    return e;
  }
  const MimeHeaders headers{std::string(from_address), std::string(from_name),
                            message_id_for(message_id, from_address), now,
                            "=_lk_" + random.token(24)};
  return build_mime(email, headers);
}

std::string message_id_for(std::string_view id, std::string_view from_address) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "<";
  for (unsigned char c : id) {
    if (is_atext(c) && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  if (id.empty()) out += '%';  // a lone '%' is never produced by the escaping above
  const auto at = from_address.rfind('@');
  std::string_view domain =
      at == std::string_view::npos ? std::string_view() : from_address.substr(at + 1);
  if (!valid_domain(domain)) domain = "localhost";
  out += '@';
  out += domain;
  out += '>';
  return out;
}

Status check_address(std::string_view address) {
  const auto invalid = [](std::string msg) {
    return Error::make(ErrorCode::kInvalidEmail, std::move(msg));
  };
  if (address.empty()) return invalid("address is empty");
  if (address.size() > 254) return invalid("address is longer than 254 characters");
  const auto at = address.find('@');
  if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos) {
    return invalid("address must contain exactly one @");
  }
  const auto local = address.substr(0, at);
  const auto domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64) return invalid("local part must have 1 to 64 characters");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return invalid("local part has misplaced dots");
  }
  for (unsigned char c : local) {
    if (c != '.' && !is_atext(c)) return invalid("local part has a character that is not allowed");
  }
  if (!valid_domain(domain)) return invalid("domain is not a valid host name");
  return {};
}

}  // namespace latchkey::courier
