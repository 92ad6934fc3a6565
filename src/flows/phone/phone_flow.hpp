#pragma once
// The phone channel: adding a number to an account (verified by an SMS code), removing it, and
// signing in (or up, when signup.phone_enabled) with a code sent to the number. Numbers are
// stored in E.164. Codes live in the KV store (methods::SmsCodes); texts go through the outbox.
// Sends are limited per number (cooldown, daily cap) and per client IP (hourly cap) against SMS
// pumping.

#include <string>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "courier/mailer.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/login/second_factor.hpp"
#include "flows/verification/quota.hpp"
#include "identity/user_repository.hpp"
#include "kv/key_value.hpp"
#include "methods/sms_code/sms_codes.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct PhoneOptions {
  std::string default_region;   // e.g. "KR": lets people type national numbers
  bool signup_enabled = false;  // SMS login creates an account for a new number
  std::string product_name = "Latchkey";
  std::string default_locale = "en";
};

class PhoneFlow {
 public:
  PhoneFlow(identity::UserRepository& users, methods::SmsCodes& codes, SendQuota& quota,
            kv::KeyValue& kv, PasswordVerifier& passwords, courier::Mailer& mailer,
            sessions::SessionService& sessions, SecondFactorGate* gate, audit::AuditSink& audit,
            const Clock& clock, Random& random, PhoneOptions options);

  // Sends a code to the number for the signed-in user. Returns the number in E.164.
  Result<std::string> start_verification(const std::string& user_id, const std::string& phone,
                                         const sessions::ClientInfo& client);
  // Marks the number verified on the account.
  Result<std::string> confirm(const std::string& user_id, const std::string& code,
                              const sessions::ClientInfo& client);
  Status remove(const std::string& user_id, const std::string& password,
                const sessions::ClientInfo& client);

  // Sends a login code. The same answer whether or not the number has an account; kRateLimited
  // for the quotas; kInvalidField for a number that is not a mobile number.
  Status start_login(const std::string& phone, const std::string& locale,
                     const sessions::ClientInfo& client);
  Result<LoginOutcome> finish_login(const std::string& phone, const std::string& code,
                                    const std::string& locale, const sessions::ClientInfo& client);

 private:
  Result<std::string> normalize(const std::string& phone) const;
  Status send(std::string_view purpose, const std::string& phone, const std::string& locale);

  identity::UserRepository& users_;
  methods::SmsCodes& codes_;
  SendQuota& quota_;
  kv::KeyValue& kv_;
  PasswordVerifier& passwords_;
  courier::Mailer& mailer_;
  sessions::SessionService& sessions_;
  SecondFactorGate* gate_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  PhoneOptions options_;
};

}  // namespace latchkey::flows
