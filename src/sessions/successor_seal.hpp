#pragma once
// The grace window for concurrent refreshes needs to hand the *same* successor token to a second
// request presenting the just-rotated token, yet the database stores no usable token. So the
// successor is sealed (libsodium secretbox) under a key derived from the old token itself: only
// someone holding the old token can open it, and a database dump cannot.

#include <optional>
#include <string>
#include <string_view>

#include "common/random.hpp"

namespace latchkey::sessions {

std::string seal_successor(std::string_view successor, std::string_view old_token, Random& random);
std::optional<std::string> open_successor(std::string_view sealed, std::string_view old_token);

}  // namespace latchkey::sessions
