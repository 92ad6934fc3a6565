#pragma once
// In-memory fakes for social login tests: the identity repository and a scripted HttpClient.

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "identity/identity_repository.hpp"
#include "methods/social/http_client.hpp"

namespace latchkey::testing {

class FakeIdentityRepository final : public identity::IdentityRepository {
 public:
  Status create(const identity::LinkedIdentity& identity) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : rows) {
      if (r.provider == identity.provider && r.subject == identity.subject) {
        return Error::make(ErrorCode::kConflict, "identity already linked");
      }
    }
    rows.push_back(identity);
    return {};
  }
  Result<std::optional<identity::LinkedIdentity>> find(const std::string& provider,
                                                       const std::string& subject) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : rows) {
      if (r.provider == provider && r.subject == subject) return std::optional(r);
    }
    return std::optional<identity::LinkedIdentity>();
  }
  Result<std::vector<identity::LinkedIdentity>> list_for_user(const std::string& user_id) override {
    std::lock_guard lock(mutex_);
    std::vector<identity::LinkedIdentity> out;
    for (const auto& r : rows) {
      if (r.user_id == user_id) out.push_back(r);
    }
    return out;
  }
  Result<bool> remove(const std::string& user_id, const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const auto& r) { return r.id == id && r.user_id == user_id; });
    if (it == rows.end()) return false;
    rows.erase(it);
    return true;
  }
  std::mutex mutex_;
  std::vector<identity::LinkedIdentity> rows;
};

// Answers by URL (without the query string); records every request.
class FakeHttpClient final : public methods::social::HttpClient {
 public:
  struct Call {
    std::string method, url;
    std::vector<std::string> headers;
    std::string body;
  };
  Result<methods::social::HttpReply> get(const std::string& url,
                                         const std::vector<std::string>& headers) override {
    return answer({"GET", url, headers, ""});
  }
  Result<methods::social::HttpReply> post_form(const std::string& url,
                                               const std::vector<std::string>& headers,
                                               const std::string& body) override {
    return answer({"POST", url, headers, body});
  }
  void on(const std::string& url, long status, std::string body) {
    std::lock_guard lock(mutex_);
    replies[url] = {status, std::move(body)};
  }
  int count(const std::string& url) const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(
        std::count_if(calls.begin(), calls.end(), [&](const Call& c) { return c.url == url; }));
  }
  mutable std::mutex mutex_;
  std::map<std::string, methods::social::HttpReply> replies;
  std::vector<Call> calls;

 private:
  Result<methods::social::HttpReply> answer(Call call) {
    std::lock_guard lock(mutex_);
    calls.push_back(call);
    auto it = replies.find(call.url);
    if (it == replies.end()) {
      return Error{ErrorCode::kUnavailable, "down", {}, {}, "no route to " + call.url};
    }
    return it->second;
  }
};

}  // namespace latchkey::testing
