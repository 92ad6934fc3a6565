#pragma once
// Persistence port for users. Implemented in store/ (SOCI) and by in-memory fakes in tests.
// Every method is safe to call from several threads at once.

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "identity/user.hpp"

namespace latchkey::identity {

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
};

}  // namespace latchkey::identity
