#include "courier/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "common/random.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;

bool kept(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

std::string message_file_name(std::string_view message_id, std::string_view suffix) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : message_id) {
    if (kept(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  if (out.empty()) out = "%";  // never produced by the escaping above
  out += suffix;
  return out;
}

Status write_file_atomically(const std::string& dir, std::string_view name, std::string_view data,
                             const FileErrorText& text) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    throw std::invalid_argument("write_file_atomically: not a plain file name");
  }
  const auto unavailable = [&](std::string detail) {
    return Error{ErrorCode::kUnavailable,
                 std::string(text.message),
                 {},
                 {},
                 std::string(text.who) + ": " + detail};
  };

  std::error_code ec;
  const fs::path directory(dir);
  if (fs::create_directories(directory, ec)) {
    fs::permissions(directory, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (ec) return unavailable("create " + dir + ": " + ec.message());

  OsRandom random;
  const fs::path path = directory / name;
  const fs::path tmp = directory / ("." + std::string(name) + ".tmp-" + random.token(9));

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return unavailable("open " + tmp.string() + ": " + std::strerror(errno));
  std::string error;
  // The umask may have taken bits away from 0600: set the mode exactly.
  if (::fchmod(fd, 0600) != 0) error = errno_text("fchmod");
  std::size_t done = 0;
  while (error.empty() && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno_text("write");
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && error.empty()) error = errno_text("close");
  if (error.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) error = errno_text("rename");
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    return unavailable(path.string() + ": " + error);
  }
  return {};
}

}  // namespace latchkey::courier
