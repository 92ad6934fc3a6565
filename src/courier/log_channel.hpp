#pragma once
// An e-mail channel for DEVELOPMENT ONLY: nothing is sent. Each message is written, exactly as
// the SMTP channel would send it (build_mime), to `<dir>/<message_id>.eml`, and one info log
// line names the recipient, subject, template, file and every http(s) URL in the text body, so
// a newcomer can click the verification link straight from the console.
//
// That log line carries live secrets (verification and password-reset links) and personal
// data: never configure this channel in production.
//
// Files: the directory is created when missing (mode 0700 when this channel creates it); each
// message goes to a temporary file (mode 0600) that is renamed into place, so a reader never
// sees half a message and a retried delivery replaces the file. Characters of the message id
// outside [A-Za-z0-9_-] are written as %XX, so the file always stays inside `dir`.
//
// Errors: kInvalidEmail (field "to") when the recipient fails check_address, as with SMTP;
// kUnavailable when the file cannot be written. Thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "courier/message.hpp"

namespace latchkey::courier {

class LogChannel final : public EmailChannel {
 public:
  // Throws std::invalid_argument when `dir` is empty or `from_address` fails check_address.
  // `clock` must outlive the channel.
  LogChannel(std::string dir, std::string from_address, std::string from_name, const Clock& clock);

  Status send(const Email& email, const std::string& message_id) override;

  // The file send() writes for `message_id`.
  std::string path_for(std::string_view message_id) const;

 private:
  std::string dir_;
  std::string from_address_;
  std::string from_name_;
  const Clock& clock_;
};

// The http:// and https:// URLs in `text`, in order, without duplicates. A URL ends at
// whitespace, a control or non-ASCII character, or one of <>"'`; trailing sentence punctuation
// (.,;:!?) and unbalanced closing brackets are not part of it.
std::vector<std::string> urls_in(std::string_view text);

}  // namespace latchkey::courier
