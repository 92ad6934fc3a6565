#pragma once
// Linked provider identities (social login, issue 5): (provider, subject) maps to exactly one
// user. Persistence port implemented in store/ (SOCI) and by an in-memory fake in tests. Every
// method is safe to call from several threads at once.

#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace latchkey::identity {

struct LinkedIdentity {
  std::string id;  // random (not sequential): it appears in URLs
  std::string user_id;
  std::string provider;  // the configured provider id, e.g. "google"
  std::string subject;   // the provider's stable user id (sub / id)
  std::string email;     // as the provider gave it when linked; may be empty
  TimePoint created_at{};
};

class IdentityRepository {
 public:
  virtual ~IdentityRepository() = default;

  // kConflict when (provider, subject) is already linked (to anyone).
  virtual Status create(const LinkedIdentity& identity) = 0;
  virtual Result<std::optional<LinkedIdentity>> find(const std::string& provider,
                                                     const std::string& subject) = 0;
  // The user's identities, oldest first.
  virtual Result<std::vector<LinkedIdentity>> list_for_user(const std::string& user_id) = 0;
  // Deletes the identity when it belongs to `user_id`; false when there is no such identity of
  // that user (another user's id reads as absent).
  virtual Result<bool> remove(const std::string& user_id, const std::string& id) = 0;
};

}  // namespace latchkey::identity
