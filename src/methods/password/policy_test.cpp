#include "methods/password/policy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace latchkey::methods::password {
namespace {

// UTF-8 of `n` different Hangul syllables (3 bytes each), not a guessable pattern.
std::string hangul(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned cp = 0xAC00 + static_cast<unsigned>((i * 379 + 11) % 11172);
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

void expect_error(const Status& st, ErrorCode code, std::string_view message_part) {
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, code);
  EXPECT_EQ(st.error().field, "password");
  EXPECT_NE(st.error().message.find(message_part), std::string::npos) << st.error().message;
}

TEST(PasswordPolicy, AcceptsStrongPasswords) {
  PasswordPolicy policy;
  EXPECT_TRUE(policy.check("correct horse battery staple", "alice@example.com").ok());
  EXPECT_TRUE(policy.check("Tr0ub4dor&3", "alice@example.com").ok());
  EXPECT_TRUE(policy.check("kq8vjx2m", "").ok());  // 8 random characters, no composition rules
}

TEST(PasswordPolicy, KoreanPassphraseIsAccepted) {
  PasswordPolicy policy;
  // "오늘은 날씨가 정말 좋네요 산책"
  EXPECT_TRUE(policy
                  .check("\xEC\x98\xA4\xEB\x8A\x98\xEC\x9D\x80 \xEB\x82\xA0\xEC\x94\xA8\xEA\xB0"
                         "\x80 \xEC\xA0\x95\xEB\xA7\x90 \xEC\xA2\x8B\xEB\x84\xA4\xEC\x9A\x94 "
                         "\xEC\x82\xB0\xEC\xB1\x85",
                         "minsu@example.kr")
                  .ok());
}

TEST(PasswordPolicy, TooShort) {
  PasswordPolicy policy;
  expect_error(policy.check("kq8vjx2", "alice@example.com"), ErrorCode::kWeakPassword,
               "at least 8 characters");
  expect_error(policy.check("", "alice@example.com"), ErrorCode::kWeakPassword,
               "at least 8 characters");
  // Seven characters are too short however many bytes they take.
  expect_error(policy.check(hangul(7), ""), ErrorCode::kWeakPassword, "at least 8 characters");
  EXPECT_TRUE(policy.check(hangul(8), "").ok());
}

TEST(PasswordPolicy, LengthCountsCharactersNotBytes) {
  PasswordPolicy policy;
  const std::string ok = hangul(128);  // 384 bytes, 128 characters
  ASSERT_EQ(ok.size(), 384u);
  EXPECT_TRUE(policy.check(ok, "alice@example.com").ok());
  expect_error(policy.check(hangul(129), "alice@example.com"), ErrorCode::kWeakPassword,
               "at most 128 characters");
  expect_error(policy.check(std::string(129, 'x'), ""), ErrorCode::kWeakPassword,
               "at most 128 characters");
}

TEST(PasswordPolicy, GuessablePasswordsAreWeak) {
  PasswordPolicy policy;
  for (const char* pw : {"password1", "password", "12345678", "qwertyuiop", "P@ssw0rd!",
                         "iloveyou1", "aaaaaaaaaaaa"}) {
    SCOPED_TRACE(pw);
    expect_error(policy.check(pw, "bob@example.com"), ErrorCode::kWeakPassword,
                 "too common or easy to guess");
  }
}

TEST(PasswordPolicy, MinScoreIsConfigurable) {
  EXPECT_TRUE(PasswordPolicy(PolicyOptions{8, 128, 0}).check("password1", "").ok());
  EXPECT_FALSE(PasswordPolicy(PolicyOptions{8, 128, 2}).check("Summer2024!", "").ok());
  EXPECT_TRUE(PasswordPolicy(PolicyOptions{8, 128, 1}).check("Summer2024!", "").ok());
  EXPECT_FALSE(PasswordPolicy(PolicyOptions{8, 128, 4}).check("letmein2024", "").ok());
  EXPECT_TRUE(PasswordPolicy(0).check("password1", "").ok());
  EXPECT_FALSE(PasswordPolicy(2).check("password1", "").ok());
  EXPECT_EQ(PasswordPolicy(3).options().min_length, 8u);
}

TEST(PasswordPolicy, RejectsTheEmailLocalPart) {
  PasswordPolicy policy;
  expect_error(policy.check("my-Alice.Smith-is-great", "alice.smith@example.com"),
               ErrorCode::kWeakPassword, "e-mail");
  expect_error(policy.check("xALICE.SMITHx-correct-horse", "Alice.Smith@example.com"),
               ErrorCode::kWeakPassword, "e-mail");
  // The same password is fine for someone else.
  EXPECT_TRUE(policy.check("my-Alice.Smith-is-great", "bob@example.com").ok());
  // Local parts shorter than 3 characters are not checked (too many false hits).
  EXPECT_TRUE(policy.check("al-correct-horse-battery", "al@example.com").ok());
  EXPECT_TRUE(policy.check("alice-correct-horse", "").ok());
}

TEST(PasswordPolicy, EmailWordsCountAgainstStrength) {
  // Not contained literally, but zxcvbn is told about the address.
  EXPECT_LT(PasswordPolicy::score("zorblax99", {"zorblax99"}), PasswordPolicy::score("zorblax99"));
}

TEST(PasswordPolicy, InvalidText) {
  PasswordPolicy policy;
  expect_error(policy.check("\xff\xfe-correct-horse", ""), ErrorCode::kInvalidField, "UTF-8");
  expect_error(policy.check("\xED\xA0\x80-surrogate-horse", ""), ErrorCode::kInvalidField, "UTF-8");
  expect_error(policy.check(std::string("correct\0horse-battery", 21), ""),
               ErrorCode::kInvalidField, "NUL");
}

TEST(PasswordPolicy, MessagesAreDistinct) {
  PasswordPolicy policy;
  const std::string messages[] = {
      policy.check("short", "").error().message,
      policy.check(std::string(200, 'x'), "").error().message,
      policy.check("password1", "").error().message,
      policy.check("zz-carol-correct-horse", "carol@example.com").error().message,
  };
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t j = i + 1; j < 4; ++j) EXPECT_NE(messages[i], messages[j]);
  }
}

TEST(PasswordPolicy, ScoreFromEntropyFollowsZxcvbnThresholds) {
  // guesses = 2^bits; thresholds 1e3, 1e6, 1e8, 1e10.
  EXPECT_EQ(PasswordPolicy::score_from_entropy(0), 0);
  EXPECT_EQ(PasswordPolicy::score_from_entropy(9.9), 0);   // ~955 guesses
  EXPECT_EQ(PasswordPolicy::score_from_entropy(10), 1);    // 1024
  EXPECT_EQ(PasswordPolicy::score_from_entropy(19.9), 1);  // ~978k
  EXPECT_EQ(PasswordPolicy::score_from_entropy(20), 2);    // ~1.05e6
  EXPECT_EQ(PasswordPolicy::score_from_entropy(26.5), 2);  // ~9.5e7
  EXPECT_EQ(PasswordPolicy::score_from_entropy(26.6), 3);  // ~1.02e8
  EXPECT_EQ(PasswordPolicy::score_from_entropy(33.2), 3);  // ~9.9e9
  EXPECT_EQ(PasswordPolicy::score_from_entropy(33.3), 4);  // ~1.06e10
  EXPECT_EQ(PasswordPolicy::score_from_entropy(300), 4);
  EXPECT_EQ(PasswordPolicy::score_from_entropy(std::nan("")), 0);
}

TEST(PasswordPolicy, BadOptionsThrow) {
  EXPECT_THROW(PasswordPolicy(PolicyOptions{0, 128, 2}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy(PolicyOptions{10, 9, 2}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy(PolicyOptions{8, 2000, 2}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy(PolicyOptions{8, 128, 5}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy(PolicyOptions{8, 128, -1}), std::invalid_argument);
  EXPECT_THROW(PasswordPolicy(7), std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::methods::password
