#include "notes.hpp"

#include <algorithm>

#include "common/encoding.hpp"

namespace notes {

bool Caller::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

NoteBook::NoteBook(const latchkey::Clock& clock, latchkey::Random& random, NoteBookLimits limits)
    : clock_(clock), random_(random), limits_(limits) {}

Outcome<Note> NoteBook::create(const Caller& caller, const NoteDraft& draft) {
  if (!latchkey::is_valid_utf8(draft.title) || !latchkey::is_valid_utf8(draft.body)) {
    return ApiError{Problem::kInvalidRequest, "title and body must be UTF-8 text"};
  }
  const std::size_t title_chars = latchkey::utf8_length(draft.title);
  if (title_chars == 0 || title_chars > limits_.max_title_chars) {
    return ApiError{
        Problem::kInvalidRequest,
        "title must be 1 to " + std::to_string(limits_.max_title_chars) + " characters"};
  }
  if (draft.body.size() > limits_.max_body_bytes) {
    return ApiError{Problem::kInvalidRequest,
                    "body must be at most " + std::to_string(limits_.max_body_bytes) + " bytes"};
  }
  Note note{.id = latchkey::hex_encode(random_.bytes(16)),
            .owner = caller.sub,
            .title = draft.title,
            .body = draft.body,
            .created_at = clock_.now()};
  std::lock_guard lock(mu_);
  auto& count = per_owner_[caller.sub];
  if (count >= limits_.max_notes_per_user) {
    return ApiError{Problem::kTooManyNotes, "delete some notes before adding more"};
  }
  ++count;
  const std::uint64_t seq = ++sequence_;
  by_id_[note.id] = seq;
  notes_[seq] = note;
  return note;
}

Outcome<std::vector<Note>> NoteBook::list(const Caller& caller, bool all) const {
  if (all && !caller.has_role(kAdminRole)) {
    return ApiError{Problem::kForbidden, "listing every user's notes needs the admin role"};
  }
  std::vector<Note> out;
  std::lock_guard lock(mu_);
  for (const auto& [seq, note] : notes_) {
    if (all || note.owner == caller.sub) out.push_back(note);
  }
  return out;
}

Outcome<Note> NoteBook::get(const Caller& caller, const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    const Note& note = notes_.at(it->second);
    if (note.owner == caller.sub) return note;
  }
  return ApiError{Problem::kNotFound, "no such note"};
}

Outcome<std::monostate> NoteBook::remove(const Caller& caller, const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end() || notes_.at(it->second).owner != caller.sub) {
    return ApiError{Problem::kNotFound, "no such note"};
  }
  notes_.erase(it->second);
  by_id_.erase(it);
  if (auto owner = per_owner_.find(caller.sub); owner != per_owner_.end() && --owner->second == 0) {
    per_owner_.erase(owner);
  }
  return std::monostate{};
}

std::size_t NoteBook::size() const {
  std::lock_guard lock(mu_);
  return notes_.size();
}

}  // namespace notes
