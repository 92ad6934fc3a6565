#include "identity/user.hpp"

#include <algorithm>

namespace latchkey::identity {

std::string_view to_string(AccountState s) noexcept {
  switch (s) {
    case AccountState::kPending:
      return "pending";
    case AccountState::kActive:
      return "active";
    case AccountState::kDisabled:
      return "disabled";
  }
  return "disabled";
}

std::optional<AccountState> parse_account_state(std::string_view s) noexcept {
  if (s == "pending") return AccountState::kPending;
  if (s == "active") return AccountState::kActive;
  if (s == "disabled") return AccountState::kDisabled;
  return std::nullopt;
}

bool User::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

}  // namespace latchkey::identity
