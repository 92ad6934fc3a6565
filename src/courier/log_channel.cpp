#include "courier/log_channel.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "common/log.hpp"
#include "common/random.hpp"
#include "courier/mime.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;

std::string file_name(std::string_view message_id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : message_id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  if (out.empty()) out = "%";  // never produced by the escaping above
  return out + ".eml";
}

Error unavailable(std::string detail) {
  return Error{ErrorCode::kUnavailable, "e-mail could not be written", {}, {}, std::move(detail)};
}

// Writes `data` to a new file `tmp` (mode 0600) and renames it to `path`.
Status write_atomically(const fs::path& tmp, const fs::path& path, std::string_view data) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return unavailable("log channel: open " + tmp.string() + ": " + std::strerror(errno));
  std::string error;
  if (::fchmod(fd, 0600) != 0) error = std::string("fchmod: ") + std::strerror(errno);
  std::size_t done = 0;
  while (error.empty() && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = std::string("write: ") + std::strerror(errno);
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && error.empty()) error = std::string("close: ") + std::strerror(errno);
  if (error.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = std::string("rename: ") + std::strerror(errno);
  }
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    return unavailable("log channel: " + path.string() + ": " + error);
  }
  return {};
}

bool url_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  return std::string_view("<>\"'`").find(static_cast<char>(c)) == std::string_view::npos;
}

}  // namespace

LogChannel::LogChannel(std::string dir, std::string from_address, std::string from_name,
                       const Clock& clock)
    : dir_(std::move(dir)),
      from_address_(std::move(from_address)),
      from_name_(std::move(from_name)),
      clock_(clock) {
  if (dir_.empty()) throw std::invalid_argument("mail log directory is empty");
  if (!check_address(from_address_).ok()) {
    throw std::invalid_argument("mail from_address is not a valid e-mail address");
  }
}

std::string LogChannel::path_for(std::string_view message_id) const {
  return (fs::path(dir_) / file_name(message_id)).string();
}

Status LogChannel::send(const Email& email, const std::string& message_id) {
  if (Status s = check_address(email.to); !s.ok()) {
    Error e = s.error();
    e.field = "to";
    e.log_detail = "log channel: recipient rejected: " + e.message;
    return e;
  }

  OsRandom random;
  const MimeHeaders headers{from_address_, from_name_, message_id_for(message_id, from_address_),
                            clock_.now(), "=_lk_" + random.token(24)};
  const std::string message = build_mime(email, headers);

  std::error_code ec;
  const fs::path dir(dir_);
  if (fs::create_directories(dir, ec)) {
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (ec) return unavailable("log channel: create " + dir_ + ": " + ec.message());

  const fs::path path = path_for(message_id);
  const fs::path tmp = dir / ("." + file_name(message_id) + ".tmp-" + random.token(9));
  if (Status s = write_atomically(tmp, path, message); !s.ok()) return s;

  log::info("email written to file (log mail channel, development only)",
            {{"to", email.to},
             {"subject", email.subject},
             {"template_id", email.template_id},
             {"message_id", message_id},
             {"file", path.string()},
             {"urls", urls_in(email.text)}});
  return {};
}

std::vector<std::string> urls_in(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto http = text.find("http://", pos);
    const auto https = text.find("https://", pos);
    const auto start = std::min(http, https);
    if (start == std::string_view::npos) break;
    const std::size_t scheme_len = start == https ? 8 : 7;
    std::size_t end = start + scheme_len;
    while (end < text.size() && url_char(static_cast<unsigned char>(text[end]))) ++end;
    std::string_view url = text.substr(start, end - start);
    pos = end;
    // Trailing punctuation belongs to the sentence; a closing bracket only to a URL that opened
    // one.
    while (url.size() > scheme_len) {
      const char last = url.back();
      const auto count = [&](char c) { return std::count(url.begin(), url.end(), c); };
      const bool unbalanced = (last == ')' && count(')') > count('(')) ||
                              (last == ']' && count(']') > count('[')) ||
                              (last == '}' && count('}') > count('{'));
      if (std::string_view(".,;:!?").find(last) == std::string_view::npos && !unbalanced) break;
      url.remove_suffix(1);
    }
    if (url.size() == scheme_len) continue;
    if (std::find(out.begin(), out.end(), url) == out.end()) out.emplace_back(url);
  }
  return out;
}

}  // namespace latchkey::courier
