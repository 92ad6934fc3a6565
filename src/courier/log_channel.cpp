#include "courier/log_channel.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "common/log.hpp"
#include "common/random.hpp"
#include "courier/atomic_file.hpp"
#include "courier/mime.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".eml";

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
  return (fs::path(dir_) / message_file_name(message_id, kSuffix)).string();
}

Status LogChannel::send(const Email& email, const std::string& message_id) {
  OsRandom random;
  Result<std::string> message =
      compose_email(email, message_id, from_address_, from_name_, clock_.now(), random,
                    "log channel: recipient rejected");
  if (!message) return message.error();

  const std::string path = path_for(message_id);
  if (Status s =
          write_file_atomically(dir_, message_file_name(message_id, kSuffix), *message,
                                {.who = "log channel", .message = "e-mail could not be written"});
      !s.ok()) {
    return s;
  }

  log::info("email written to file (log mail channel, development only)",
            {{"to", email.to},
             {"subject", email.subject},
             {"template_id", email.template_id},
             {"message_id", message_id},
             {"file", path},
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
