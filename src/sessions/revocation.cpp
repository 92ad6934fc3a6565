#include "sessions/revocation.hpp"

namespace latchkey::sessions {
namespace {
std::string key_of(const std::string& sid) {
  return "revoked:sid:" + sid;
}
}  // namespace

Status RevocationList::revoke(const std::string& session_id) {
  return kv_.set(key_of(session_id), "1", keep_for_);
}

bool RevocationList::is_revoked(const std::string& session_id) {
  auto v = kv_.get(key_of(session_id));
  if (!v) return true;  // fail closed
  return v->has_value();
}

}  // namespace latchkey::sessions
