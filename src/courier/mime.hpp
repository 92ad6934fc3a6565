#pragma once
// RFC 5322 / MIME rendering of an Email, shared by every e-mail channel (smtp, log).
//
//   MimeHeaders h{.from_address = "no-reply@example.com", .from_name = "Latchkey",
//                 .message_id = message_id_for(outbox_id, "no-reply@example.com"),
//                 .date = clock.now(), .boundary = "=_" + random.token(18)};
//   std::string wire = build_mime(email, h);
//
// What the output guarantees:
// - CRLF line endings everywhere; no header line longer than 78 characters except an address
//   that alone is longer (never more than 998).
// - Header injection is impossible: in every header value (to, to_name, subject, from_name,
//   from_address, message_id) each run of control characters (C0 including CR, LF and TAB, DEL
//   and C1) is replaced by one space, and the value is trimmed. Invalid UTF-8 becomes U+FFFD.
//   Callers that want to refuse a bad address check it with check_address() first.
// - Display names are bare words when they are plain ASCII atoms, a quoted-string when they are
//   ASCII with specials, and RFC 2047 encoded-words (UTF-8, B) otherwise.
// - The subject is plain (folded at spaces) when it is printable ASCII, and RFC 2047 B-encoded
//   UTF-8 folded into several encoded-words when it is not (or when it contains "=?", which a
//   reader would otherwise decode, or has a word too long to fold).
// - Bodies are UTF-8, Content-Transfer-Encoding base64 in lines of 76. With an html body the
//   message is multipart/alternative (text/plain first, then text/html); else one text/plain.

#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "courier/message.hpp"

namespace latchkey::courier {

struct MimeHeaders {
  std::string from_address;  // addr-spec, e.g. "no-reply@example.com"
  std::string from_name;     // display name, may be empty; UTF-8
  std::string message_id;    // full msg-id, "<local@domain>" (see message_id_for)
  TimePoint date;            // rendered in UTC, "+0000"
  // The multipart boundary: 1..70 characters from RFC 2046's bchars, not ending in a space.
  // Callers pass random text; a boundary starting with "=_" can never occur in base64 bodies.
  // A bad boundary is a programming error: build_mime throws std::invalid_argument.
  std::string boundary;
};

std::string build_mime(const Email& email, const MimeHeaders& headers);

// What an e-mail channel sends for `email`: checks the recipient with check_address, then
// renders it with build_mime (Message-ID from message_id_for(message_id, from_address), Date
// `now`, a random "=_lk_" boundary from `random`). A bad recipient fails with check_address's
// kInvalidEmail error, with field "to" and log_detail "<rejected_detail>: <message>".
Result<std::string> compose_email(const Email& email, const std::string& message_id,
                                  std::string_view from_address, std::string_view from_name,
                                  TimePoint now, Random& random, std::string_view rejected_detail);

// "<id@domain-of-from>": the outbox id as the msg-id's left part, so a retried delivery keeps
// its Message-ID. Characters of `id` outside RFC 5322 atext (and any '.') are written as %XX,
// so distinct ids stay distinct and the result is always a valid msg-id. A from address without
// a usable domain gives "localhost".
std::string message_id_for(std::string_view id, std::string_view from_address);

// A conservative addr-spec check for SMTP envelope use (MAIL FROM / RCPT TO): ASCII only,
// exactly one '@', a dot-atom local part of 1..64 characters, a domain of 1..253 characters made
// of letter/digit/hyphen labels, 254 characters at most in all. No spaces, quotes, angle
// brackets or control characters. Fails with kInvalidEmail.
Status check_address(std::string_view address);

}  // namespace latchkey::courier
