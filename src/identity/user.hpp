#pragma once
// The User aggregate and its account states.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"

namespace latchkey::identity {

// pending (e-mail not yet verified) -> active -> disabled (and back to active by an admin).
enum class AccountState { kPending, kActive, kDisabled };

std::string_view to_string(AccountState s) noexcept;
std::optional<AccountState> parse_account_state(std::string_view s) noexcept;

inline constexpr std::string_view kRoleAdmin = "admin";
inline constexpr std::string_view kRoleUser = "user";

struct User {
  std::string id;     // UUIDv7
  std::string email;  // normalised (see identity/email.hpp)
  std::string name;
  AccountState state = AccountState::kPending;
  bool email_verified = false;
  std::vector<std::string> roles;  // sorted, unique
  std::string password_hash;       // PHC string (argon2id) or bcrypt; empty when none
  std::string locale;              // for messages ("en", "ko"); empty = the server's default
  std::string phone;               // E.164, empty when none
  bool phone_verified = false;
  TimePoint created_at{};
  TimePoint updated_at{};

  bool has_role(std::string_view role) const;
};

}  // namespace latchkey::identity
