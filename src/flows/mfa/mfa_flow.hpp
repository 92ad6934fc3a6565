#pragma once
// Second factors: TOTP enrolment (secret, otpauth URI, QR code; confirmed by a first code),
// recovery codes (10, shown once, single use, regenerate replaces all), SMS codes to a verified
// phone; and the second step of a login.
//
// A login whose first step passed gets an mfa_token (256 bits, kept hashed in the KV store for
// `challenge_ttl`, single use, at most `max_attempts` wrong codes, bound to the first step's user
// agent) instead of tokens. POST /api/auth/mfa/verify {mfa_token, method, code} completes it.
// Disabling a factor or regenerating recovery codes needs the password and a current code; each
// change is audited and mailed to the user. A password reset leaves factors in place.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "common/unit_of_work.hpp"
#include "courier/mailer.hpp"
#include "flows/login/login_flow.hpp"
#include "flows/login/second_factor.hpp"
#include "identity/user_repository.hpp"
#include "kv/key_value.hpp"
#include "methods/factors.hpp"
#include "methods/sms_code/sms_codes.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::flows {

struct MfaOptions {
  std::string totp_issuer = "Latchkey";
  std::chrono::seconds challenge_ttl{300};
  int max_attempts = 5;
  std::string product_name = "Latchkey";  // in SMS texts
};

struct TotpEnrolment {
  std::string secret;  // base32, for typing into an app
  std::string otpauth_uri;
  std::string qr_svg;
};

struct MfaStatus {
  bool totp = false;
  bool sms = false;  // a verified phone can receive codes
  int recovery_codes_left = 0;
};

class MfaFlow final : public SecondFactorGate {
 public:
  MfaFlow(identity::UserRepository& users, methods::FactorRepository& factors,
          methods::SmsCodes& sms_codes, kv::KeyValue& kv, PasswordVerifier& passwords,
          courier::Mailer& mailer, sessions::SessionService& sessions, UnitOfWork& uow,
          audit::AuditSink& audit, const Clock& clock, Random& random,
          std::vector<std::uint8_t> master_key, std::vector<std::uint8_t> recovery_key,
          MfaOptions options);

  Result<MfaStatus> status(const std::string& user_id);
  Result<TotpEnrolment> start_totp(const std::string& user_id);
  // Turns TOTP on with a first valid code. Returns new recovery codes (shown once) when the user
  // had none left, else an empty list.
  Result<std::vector<std::string>> confirm_totp(const std::string& user_id, const std::string& code,
                                                const sessions::ClientInfo& client);
  // `code`: a current TOTP code or an unused recovery code.
  Status disable_totp(const std::string& user_id, const std::string& password,
                      const std::string& code, const sessions::ClientInfo& client);
  Result<std::vector<std::string>> regenerate_recovery_codes(const std::string& user_id,
                                                             const std::string& password,
                                                             const std::string& code,
                                                             const sessions::ClientInfo& client);

  // SecondFactorGate: a challenge when the user has TOTP on.
  Result<std::optional<MfaChallenge>> challenge_if_needed(
      const identity::User& user, const std::vector<std::string>& amr,
      const sessions::ClientInfo& client) override;

  // Sends an SMS code for a pending challenge that offers "sms".
  Status send_sms(const std::string& mfa_token, const sessions::ClientInfo& client);
  // The second step: `method` is "totp", "sms" or "recovery_code".
  Result<sessions::Tokens> verify(const std::string& mfa_token, const std::string& method,
                                  const std::string& code, const sessions::ClientInfo& client);

 private:
  struct Pending {
    std::string user_id;
    std::vector<std::string> amr;
    std::vector<std::string> methods;
    std::string user_agent;
  };
  Result<Pending> pending(const std::string& mfa_token, const sessions::ClientInfo& client);
  Result<identity::User> load(const std::string& user_id);
  // Checks a TOTP code (and records its step) or spends a recovery code. Returns the amr method
  // ("otp" or "recovery_code") or kInvalidCode.
  Result<std::string> check_code(const identity::User& user, const std::string& method,
                                 const std::string& code);
  Result<std::vector<std::string>> store_new_recovery_codes(const std::string& user_id);
  void notify(const identity::User& user, std::string_view change,
              const sessions::ClientInfo& client, std::string_view event_type);
  std::string challenge_key(const std::string& token) const;

  identity::UserRepository& users_;
  methods::FactorRepository& factors_;
  methods::SmsCodes& sms_codes_;
  kv::KeyValue& kv_;
  PasswordVerifier& passwords_;
  courier::Mailer& mailer_;
  sessions::SessionService& sessions_;
  UnitOfWork& uow_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  Random& random_;
  std::vector<std::uint8_t> master_key_;
  std::vector<std::uint8_t> recovery_key_;
  MfaOptions options_;
};

// The SMS text of a one-time code, in the user's language ("en", "ko").
std::string sms_code_text(std::string_view locale, std::string_view product, std::string_view code);

}  // namespace latchkey::flows
