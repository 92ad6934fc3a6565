#pragma once
// Revoked session ids, kept in the KeyValue store until every access token of the session has
// expired (access TTL + leeway), so token checks reject them at once without the database.

#include <chrono>
#include <string>

#include "common/result.hpp"
#include "kv/key_value.hpp"

namespace latchkey::sessions {

class RevocationList {
 public:
  RevocationList(kv::KeyValue& kv, std::chrono::seconds keep_for) : kv_(kv), keep_for_(keep_for) {}

  Status revoke(const std::string& session_id);
  // Fails closed: an unreachable store reads as "revoked".
  bool is_revoked(const std::string& session_id);

 private:
  kv::KeyValue& kv_;
  std::chrono::seconds keep_for_;
};

}  // namespace latchkey::sessions
