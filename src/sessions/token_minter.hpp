#pragma once
// The port through which sessions obtain access tokens; the app wires it to
// tokens::AccessTokenIssuer, tests to a fake.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace latchkey::sessions {

struct AccessGrant {
  std::string user_id;
  std::string session_id;
  std::string email;
  bool email_verified = false;
  std::vector<std::string> roles;
  std::vector<std::string> amr;
  std::int64_t auth_time = 0;  // unix seconds
};

struct MintedToken {
  std::string token;
  std::int64_t expires_in = 0;  // seconds
};

class AccessTokenMinter {
 public:
  virtual ~AccessTokenMinter() = default;
  virtual Result<MintedToken> mint(const AccessGrant& grant) = 0;
};

}  // namespace latchkey::sessions
