#pragma once
// Password policy after NIST SP 800-63B section 5.1.1.2: a length range in characters, no
// composition rules (no "one digit, one symbol"), and a check against guessable passwords,
// here zxcvbn's estimate plus the user's own e-mail address.
//
//   PasswordPolicy policy;                                // 8..128 characters, zxcvbn score >= 2
//   if (auto st = policy.check(password, email); !st) return st.error();   // field "password"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace latchkey::methods::password {

struct PolicyOptions {
  std::size_t min_length = 8;    // characters (Unicode code points)
  std::size_t max_length = 128;  // characters (Unicode code points)
  int min_score = 2;             // zxcvbn score 0..4, see PasswordPolicy::score
};

class PasswordPolicy {
 public:
  // Throws std::invalid_argument when min_length < 1, max_length < min_length,
  // max_length > 1024 (the hasher takes at most 4096 bytes), or min_score outside 0..4.
  explicit PasswordPolicy(PolicyOptions options = {});
  // Default lengths with the given zxcvbn `min_score` (config key password.min_score).
  explicit PasswordPolicy(int min_score) : PasswordPolicy(PolicyOptions{.min_score = min_score}) {}

  // Checks, in this order, each failure on field "password":
  //   kInvalidField  not valid UTF-8, or contains a NUL character
  //   kWeakPassword  fewer than min_length characters       ("... at least 8 characters")
  //   kWeakPassword  more than max_length characters        ("... at most 128 characters")
  //   kWeakPassword  contains the e-mail's local part, compared case-insensitively (ASCII),
  //                  when that part is at least 3 characters long
  //   kWeakPassword  zxcvbn score below min_score           ("too common or easy to guess")
  // `email` may be empty (no e-mail check then).
  Status check(std::string_view password, std::string_view email) const;

  // zxcvbn strength score 0..4. libzxcvbn (the C port) returns an entropy in bits; like zxcvbn we
  // take guesses = 2^entropy and score it: < 1e3 -> 0, < 1e6 -> 1, < 1e8 -> 2, < 1e10 -> 3,
  // otherwise 4. `user_inputs` (e.g. the e-mail address) count as dictionary words.
  static int score(std::string_view password, const std::vector<std::string>& user_inputs = {});
  static int score_from_entropy(double bits);

  const PolicyOptions& options() const { return options_; }

 private:
  PolicyOptions options_;
};

}  // namespace latchkey::methods::password
