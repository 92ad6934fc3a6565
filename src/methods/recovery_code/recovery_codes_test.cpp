#include "methods/recovery_code/recovery_codes.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>

#include "common/encoding.hpp"

namespace latchkey::methods::recovery_code {
namespace {

std::vector<std::uint8_t> key_of(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(RecoveryCodes, AlphabetHasNoLookAlikes) {
  EXPECT_EQ(kRecoveryCodeAlphabet.size(), 31u);
  for (char c : std::string_view("0Oo1Il|iIL")) {
    EXPECT_EQ(kRecoveryCodeAlphabet.find(c), std::string_view::npos) << c;
  }
  EXPECT_EQ(std::set<char>(kRecoveryCodeAlphabet.begin(), kRecoveryCodeAlphabet.end()).size(),
            kRecoveryCodeAlphabet.size());
}

TEST(RecoveryCodes, TenDistinctCodesInDisplayForm) {
  SeededRandom random(1);
  auto codes = new_recovery_codes(random);
  ASSERT_EQ(codes.size(), 10u);
  const std::regex shape(
      "[23456789abcdefghjkmnpqrstuvwxyz]{5}-[23456789abcdefghjkmnpqrstuvwxyz]{5}");
  for (const auto& c : codes) EXPECT_TRUE(std::regex_match(c, shape)) << c;
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
}

TEST(RecoveryCodes, ComeFromTheInjectedRandom) {
  SeededRandom a(7), b(7), c(8);
  const auto first = new_recovery_codes(a);
  EXPECT_EQ(first, new_recovery_codes(b));
  EXPECT_NE(first, new_recovery_codes(c));
  EXPECT_NE(first, new_recovery_codes(a));  // fresh draws each time
}

TEST(RecoveryCodes, CountIsBounded) {
  SeededRandom random;
  EXPECT_EQ(new_recovery_codes(random, 1).size(), 1u);
  EXPECT_EQ(new_recovery_codes(random, 100).size(), 100u);
  EXPECT_THROW(new_recovery_codes(random, 0), std::invalid_argument);
  EXPECT_THROW(new_recovery_codes(random, -1), std::invalid_argument);
  EXPECT_THROW(new_recovery_codes(random, 101), std::invalid_argument);
}

TEST(RecoveryCodes, EverySymbolIsUsedRoughlyEvenly) {
  SeededRandom random(99);
  std::map<char, int> counts;
  int total = 0;
  for (int round = 0; round < 31; ++round) {
    for (const auto& code : new_recovery_codes(random, 100)) {
      for (char ch : code) {
        if (ch == '-') continue;
        ++counts[ch];
        ++total;
      }
    }
  }
  ASSERT_EQ(total, 31000);
  EXPECT_EQ(counts.size(), kRecoveryCodeAlphabet.size());
  for (auto [ch, n] : counts) {
    // Expected 1000 each; a fair source stays well within +/- 20 %.
    EXPECT_GT(n, 800) << ch;
    EXPECT_LT(n, 1200) << ch;
  }
}

// Always zero bytes: every symbol is the first of the alphabet.
class ConstantRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = 0;
  }
};

// Zero bytes for the first two codes (so they are equal), then varying bytes.
class RepeatingRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    // uniform() draws 4 bytes per symbol (zero is never rejected), 10 symbols per code.
    for (auto& b : out) {
      const int code_index = calls_ / 10;
      b = code_index < 2 ? 0 : static_cast<std::uint8_t>(calls_);
    }
    ++calls_;
  }

 private:
  int calls_ = 0;
};

TEST(RecoveryCodes, DuplicatesWithinASetAreRedrawn) {
  ConstantRandom constant;
  EXPECT_EQ(new_recovery_codes(constant, 1), std::vector<std::string>{"22222-22222"});
  RepeatingRandom repeating;
  auto codes = new_recovery_codes(repeating, 3);
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(codes[0], "22222-22222");
  EXPECT_NE(codes[1], "22222-22222");
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), 3u);
}

TEST(NormalizeRecoveryCode, AcceptsWhatPeopleType) {
  EXPECT_EQ(normalize_recovery_code("abcde-fghjk"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("ABCDE-FGHJK"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("abcdefghjk"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("  abcde fghjk\t"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("ab-cd-ef-gh-jk"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("aBcDe--FgHjK"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code("23456-789ab"), "23456789ab");
}

TEST(NormalizeRecoveryCode, EveryGeneratedCodeNormalizes) {
  SeededRandom random(3);
  for (const auto& code : new_recovery_codes(random, 100)) {
    std::string bare = code;
    bare.erase(5, 1);
    EXPECT_EQ(normalize_recovery_code(code), bare);
    std::string upper = code;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(normalize_recovery_code(upper), bare);
  }
}

TEST(NormalizeRecoveryCode, MalformedIsEmpty) {
  for (std::string_view bad : {
           "", "-----",
           "abcde-fghj",    // 9 symbols
           "abcde-fghjkm",  // 11 symbols
           "abcde-fghj0",   // zero
           "abcde-fghjo",   // o
           "abcde-fghjO",   // O
           "abcde-fghj1",   // one
           "abcde-fghji",   // i
           "abcde-fghjI",   // I
           "abcde-fghjl",   // l
           "abcde-fghjL",   // L (lower-cases to l)
           "abcde_fghjk",   // other separators are not ignored
           "abcde.fghjk",
           "abcde\nfghjk",  // newline is not a space
           "abcde-fgh\xc3\xa9k",
           "\xef\xbd\x81\xef\xbd\x82\xef\xbd\x83\xef\xbd\x84\xef\xbd\x85"
           "fghjk",  // full-width
       }) {
    EXPECT_EQ(normalize_recovery_code(bad), "") << '"' << bad << '"';
  }
  EXPECT_EQ(normalize_recovery_code(std::string_view("abcde\0fghjk", 11)), "");
  // Long input is refused outright, even if it is mostly separators.
  EXPECT_EQ(normalize_recovery_code(std::string(54, ' ') + "abcdefghjk"), "abcdefghjk");
  EXPECT_EQ(normalize_recovery_code(std::string(55, ' ') + "abcdefghjk"), "");
}

TEST(RecoveryCodeHash, IsHexHmacSha256OfTheNormalizedCode) {
  // printf '%s' 7kq3mxw2fa | openssl dgst -sha256 -hmac 'server-side recovery key'
  EXPECT_EQ(recovery_code_hash(key_of("server-side recovery key"), "7kq3mxw2fa"),
            "52e5e9b67f8af4d6aa566fb941a247692aaddc454c5d9cbf2f7914470281fd47");
  EXPECT_EQ(recovery_code_hash(key_of("k"), "abcdefghjk"),
            "6660f65c5c204323ed960f33c81255757c9e020b88244935762c51f88c3fa3c0");
}

TEST(RecoveryCodeHash, DependsOnKeyAndCode) {
  const auto k1 = key_of("key one"), k2 = key_of("key two");
  EXPECT_NE(recovery_code_hash(k1, "abcdefghjk"), recovery_code_hash(k2, "abcdefghjk"));
  EXPECT_NE(recovery_code_hash(k1, "abcdefghjk"), recovery_code_hash(k1, "abcdefghjm"));
  // What the user types and what was shown hash alike once normalised.
  EXPECT_EQ(recovery_code_hash(k1, normalize_recovery_code("ABCDE FGHJK")),
            recovery_code_hash(k1, normalize_recovery_code("abcde-fghjk")));
  const std::string h = recovery_code_hash(k1, "abcdefghjk");
  EXPECT_TRUE(std::regex_match(h, std::regex("[0-9a-f]{64}"))) << h;
}

TEST(RecoveryCodeHash, RefusesProgrammingErrors) {
  EXPECT_THROW(recovery_code_hash({}, "abcdefghjk"), std::invalid_argument);
  EXPECT_THROW(recovery_code_hash(key_of("k"), ""), std::invalid_argument);
  EXPECT_THROW(recovery_code_hash(key_of("k"), "abcde-fghjk"), std::invalid_argument);
  EXPECT_THROW(recovery_code_hash(key_of("k"), "ABCDEFGHJK"), std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::methods::recovery_code
