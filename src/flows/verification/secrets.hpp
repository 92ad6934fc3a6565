#pragma once
// Issuing and checking verification secrets (see verification.hpp). Pure: no I/O.

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "flows/verification/verification.hpp"

namespace latchkey::flows {

struct IssuedSecret {
  Verification row;   // to store
  std::string token;  // "<selector>.<verifier>", given out once
  std::string code;   // 6 digits, or empty
};

// The web app page that takes a token: "{public_url}/{page}?token={token}" (tokens are base64url
// and '.', safe in a query string as they are).
std::string link_to(const std::string& public_url, std::string_view page, std::string_view token);

// kVerificationTokenUnknown: no usable row for the token (none stored, another purpose, or the
// account or address it was for is gone). The same answer in every flow, so none tells more.
Error unknown_token_error();
// kVerificationTokenUsed: the token's row was already consumed.
Error used_token_error();

class VerificationSecrets {
 public:
  // `code_key`: secret key (32 bytes) for hashing codes, so a copy of the table does not give
  // the codes away by trying all million of them.
  VerificationSecrets(const Clock& clock, Random& random, std::vector<std::uint8_t> code_key);

  IssuedSecret issue(const std::string& user_id, Purpose purpose, const std::string& email,
                     std::chrono::seconds ttl, bool with_code);

  // The selector of a well-formed token, else kVerificationTokenInvalid.
  static Result<std::string> selector_of(std::string_view token);

  // Checks a token against its row (found by selector_of()): the verifier must match (else
  // kVerificationTokenInvalid: tampered), the purpose must be one of `accepted` (else
  // kVerificationTokenUnknown: a reset token is no verification token), it must be unused
  // (kVerificationTokenUsed) and unexpired (kVerificationTokenExpired).
  Status check_token(const Verification& row, std::string_view token,
                     std::initializer_list<Purpose> accepted) const;

  // Whether `code` is the row's code (constant time). Shape is not checked here.
  bool code_matches(const Verification& row, std::string_view code) const;

  std::string code_hash(std::string_view selector, std::string_view code) const;

 private:
  const Clock& clock_;
  Random& random_;
  std::vector<std::uint8_t> code_key_;
};

}  // namespace latchkey::flows
