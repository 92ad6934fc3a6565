#pragma once
// Files the development channels write, one per message (LogChannel: <id>.eml, LogSmsChannel:
// <id>.txt), written so that a reader never sees half a file.
//
//   const std::string name = message_file_name(message_id, ".eml");
//   Status s = write_file_atomically(dir, name, content,
//                                    {.who = "log channel", .message = "e-mail could not be
//                                    written"});
//   // ok: `dir`/`name` holds `content`, mode 0600

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::courier {

// `message_id` with every byte outside [A-Za-z0-9_-] written as %XX (upper-case hex), then
// `suffix`; "%" + suffix for an empty id. The result has no '/' and never starts with '.', so
// the file always stays inside its directory and is never hidden.
//   message_file_name("0190a5b2-7c3d", ".eml") == "0190a5b2-7c3d.eml"
//   message_file_name("../x y", ".txt")        == "%2E%2E%2Fx%20y.txt"
std::string message_file_name(std::string_view message_id, std::string_view suffix);

// How a failure of write_file_atomically is worded.
struct FileErrorText {
  std::string_view who;      // the channel; log_detail starts with "<who>: "
  std::string_view message;  // Error::message, safe for the client
};

// Writes `data` to `dir`/`name`:
//   - `dir` (and its parents) are created when missing; a directory this call creates gets mode
//     0700, an existing one is left as it is;
//   - the data goes to a new temporary file "." + name + ".tmp-<random>" in `dir` (O_EXCL,
//     O_NOFOLLOW, mode 0600 whatever the umask), which is then renamed to `name`: a reader sees
//     the old file or the whole new one, and writing the same name again replaces the file;
//   - on any failure the temporary file is removed.
// Errors: kUnavailable with `text.message`; log_detail "<who>: create <dir>: <reason>",
// "<who>: open <temp path>: <reason>" or "<who>: <path>: write|fchmod|close|rename: <reason>".
// Throws std::invalid_argument when `name` is empty, ".", ".." or has a '/' (a bug: use
// message_file_name). Thread-safe for different names; concurrent writers of one name leave
// one complete file.
Status write_file_atomically(const std::string& dir, std::string_view name, std::string_view data,
                             const FileErrorText& text);

}  // namespace latchkey::courier
