#pragma once
// The notes domain: per-user notes kept in memory (this is an example; a real service would put
// them in its database). Knows nothing of HTTP or tokens: the caller is a Caller value.
//
//   NoteBook book(clock, random, {});
//   auto note = book.create(caller, {.title = "Groceries", .body = "milk"});
//   auto mine = book.list(caller, /*all=*/false);
//   auto gone = book.remove(caller, note_id);
//
// Invariant: a caller sees, reads and deletes only notes it owns; the one exception is listing
// with all=true, which needs the admin role (checked here, not in the HTTP layer).

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "problem.hpp"

namespace notes {

// Who is asking, from a verified access token.
struct Caller {
  std::string sub;                 // user id (the token's sub)
  std::vector<std::string> roles;  // the token's roles
  bool has_role(std::string_view role) const;
};

struct Note {
  std::string id;
  std::string owner;  // the sub of its author
  std::string title;
  std::string body;
  latchkey::TimePoint created_at{};
};

struct NoteDraft {
  std::string title{};
  std::string body{};
};

struct NoteBookLimits {
  std::size_t max_title_chars = 200;  // Unicode code points
  std::size_t max_body_bytes = 8192;  // UTF-8 bytes
  std::size_t max_notes_per_user = 1000;
};

inline constexpr std::string_view kAdminRole = "admin";

class NoteBook {
 public:
  NoteBook(const latchkey::Clock& clock, latchkey::Random& random, NoteBookLimits limits);

  // kInvalidRequest for an empty or too long title, a too long body or invalid UTF-8;
  // kTooManyNotes at the per-user limit.
  Outcome<Note> create(const Caller& caller, const NoteDraft& draft);
  // The caller's notes (all=false) or everyone's (all=true, admin only: else kForbidden),
  // oldest first.
  Outcome<std::vector<Note>> list(const Caller& caller, bool all) const;
  // kNotFound for an unknown id and for another user's note alike.
  Outcome<Note> get(const Caller& caller, const std::string& id) const;
  Outcome<std::monostate> remove(const Caller& caller, const std::string& id);

  std::size_t size() const;

 private:
  const latchkey::Clock& clock_;
  latchkey::Random& random_;
  NoteBookLimits limits_;
  mutable std::mutex mu_;
  std::uint64_t sequence_ = 0;  // creation order, guarded by mu_
  // sequence -> note, so listing is in creation order; guarded by mu_.
  std::map<std::uint64_t, Note> notes_;
  std::map<std::string, std::uint64_t, std::less<>> by_id_;    // guarded by mu_
  std::map<std::string, std::size_t, std::less<>> per_owner_;  // guarded by mu_
};

}  // namespace notes
