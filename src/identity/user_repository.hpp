#pragma once
// Persistence port for users. Implemented in store/ (SOCI) and by in-memory fakes in tests.
// Every method is safe to call from several threads at once.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "identity/user.hpp"

namespace latchkey::identity {

// Admin listing: filters, sort and a keyset position.
enum class UserSort { kCreatedAt, kEmail, kName };

struct UserSearch {
  std::string prefix;  // case-insensitive prefix of e-mail, name or phone; "" = any
  std::optional<AccountState> state;
  std::string role;  // "" = any
  std::optional<bool> email_verified;
  UserSort sort = UserSort::kCreatedAt;
  bool descending = false;
  int limit = 50;
  // Keyset position: rows strictly after (key, id) in the chosen order come next. `key` is the
  // sort column's value (created_at as unix milliseconds in decimal).
  std::optional<std::pair<std::string, std::string>> after;
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;

  // Inserts the user and its roles in one transaction. kConflict when the e-mail is taken.
  virtual Status create(const User& user) = 0;
  virtual Result<std::optional<User>> find_by_id(const std::string& id) = 0;
  // `email` is already normalised.
  virtual Result<std::optional<User>> find_by_email(const std::string& email) = 0;
  // `phone` is E.164.
  virtual Result<std::optional<User>> find_by_phone(const std::string& phone) = 0;
  // kNotFound when the user does not exist.
  virtual Status update_name(const std::string& id, const std::string& name, TimePoint at) = 0;
  virtual Status set_password_hash(const std::string& id, const std::string& hash,
                                   TimePoint at) = 0;
  virtual Status set_state(const std::string& id, AccountState state, TimePoint at) = 0;
  // The owner proved the address: email_verified = true, and a pending account becomes active
  // (a disabled one stays disabled).
  virtual Status mark_email_verified(const std::string& id, TimePoint at) = 0;
  // Switches to a new (normalised, proven) address, verified. kConflict when it is taken.
  virtual Status change_email(const std::string& id, const std::string& email, TimePoint at) = 0;
  // Sets (or with "" removes) the phone number and its verified flag. kConflict when another
  // account has the number.
  virtual Status set_phone(const std::string& id, const std::string& phone, bool verified,
                           TimePoint at) = 0;
  // Replaces the user's roles.
  virtual Status set_roles(const std::string& id, const std::vector<std::string>& roles,
                           TimePoint at) = 0;
  // Deletes the user with its roles, sessions and refresh tokens in one transaction.
  virtual Status remove(const std::string& id) = 0;
  // Users ordered by id (creation order), at most `limit`, starting after `after_id` if given.
  virtual Result<std::vector<User>> list(int limit, const std::optional<std::string>& after_id) = 0;

  // At most `search.limit` users matching the filters, in the chosen order with ties broken by
  // id (the same direction), so pages do not overlap or skip.
  virtual Result<std::vector<User>> search(const UserSearch& search) = 0;
  // Users holding `role`, whatever their account state.
  virtual Result<std::int64_t> count_with_role(const std::string& role) = 0;
  // The ids of the active users holding `role`, ascending. Inside a unit of work their rows stay
  // locked until it ends (MariaDB/PostgreSQL: SELECT ... FOR UPDATE; on SQLite the unit holds the
  // write lock anyway), so that a rule checked on them and the change it allows are one step:
  // another unit asking for them waits, and then sees that change.
  virtual Result<std::vector<std::string>> lock_active_with_role(const std::string& role) = 0;
  // Sets the e-mail verified flag only (the account state is left as it is).
  virtual Status set_email_verified(const std::string& id, bool verified, TimePoint at) = 0;
};

}  // namespace latchkey::identity
