#include "methods/password/hasher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace latchkey::methods::password {
namespace {

using Verdict = PasswordHasher::Verdict;

// Small parameters keep the tests fast; production uses the OWASP defaults.
constexpr Argon2Params kFast{8192, 1};

class HasherTest : public ::testing::Test {
 protected:
  SeededRandom random_{7};
  PasswordHasher hasher_{random_, kFast};
};

TEST_F(HasherTest, HashIsArgon2idPhcWithConfiguredParams) {
  const std::string h = hasher_.hash("correct horse battery staple");
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=8192,t=1,p=1$")) << h;
  EXPECT_TRUE(hasher_.understands(h));
}

TEST_F(HasherTest, RoundTrip) {
  const std::string h = hasher_.hash("correct horse battery staple");
  EXPECT_EQ(hasher_.verify("correct horse battery staple", h), Verdict::kMatch);
  EXPECT_EQ(hasher_.verify("correct horse battery stapl", h), Verdict::kMismatch);
  EXPECT_EQ(hasher_.verify("Correct horse battery staple", h), Verdict::kMismatch);
  EXPECT_EQ(hasher_.verify("", h), Verdict::kMismatch);
}

TEST_F(HasherTest, SaltsDiffer) {
  EXPECT_NE(hasher_.hash("same password"), hasher_.hash("same password"));
}

TEST_F(HasherTest, PasswordsAreBytes) {
  const std::string korean = "\xEB\x82\x98\xEC\x9D\x98 \xEB\xB9\x84\xEB\xB0\x80";  // "나의 비밀"
  const std::string with_nul("ab\0cd", 5);
  const std::string h1 = hasher_.hash(korean);
  const std::string h2 = hasher_.hash(with_nul);
  const std::string h3 = hasher_.hash("");
  EXPECT_EQ(hasher_.verify(korean, h1), Verdict::kMatch);
  EXPECT_EQ(hasher_.verify(with_nul, h2), Verdict::kMatch);
  EXPECT_EQ(hasher_.verify("ab", h2), Verdict::kMismatch);  // not cut at the NUL
  EXPECT_EQ(hasher_.verify("", h3), Verdict::kMatch);
}

TEST_F(HasherTest, NeedsRehashWhenParamsChange) {
  const std::string h = hasher_.hash("pa55word-of-old");
  PasswordHasher more_iterations(random_, Argon2Params{8192, 2});
  PasswordHasher more_memory(random_, Argon2Params{16384, 1});
  EXPECT_EQ(more_iterations.verify("pa55word-of-old", h), Verdict::kMatchNeedsRehash);
  EXPECT_EQ(more_memory.verify("pa55word-of-old", h), Verdict::kMatchNeedsRehash);
  EXPECT_EQ(more_memory.verify("wrong", h), Verdict::kMismatch);
  // After the upgrade the new hash matches plainly.
  EXPECT_EQ(more_memory.verify("pa55word-of-old", more_memory.hash("pa55word-of-old")),
            Verdict::kMatch);
}

// Vectors from the Argon2 reference implementation's tests (P-H-C/phc-winner-argon2 test.c).
TEST_F(HasherTest, Argon2idReferenceVector) {
  const std::string v =
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  PasswordHasher same_params(random_, Argon2Params{256, 2});
  EXPECT_EQ(same_params.verify("password", v), Verdict::kMatch);
  EXPECT_EQ(same_params.verify("passwore", v), Verdict::kMismatch);
  EXPECT_EQ(hasher_.verify("password", v), Verdict::kMatchNeedsRehash);
}

TEST_F(HasherTest, Argon2iAcceptedAndRehashed) {
  const std::string v =
      "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA";
  EXPECT_TRUE(hasher_.understands(v));
  EXPECT_EQ(hasher_.verify("password", v), Verdict::kMatchNeedsRehash);
  EXPECT_EQ(hasher_.verify("differentpassword", v), Verdict::kMismatch);
  // argon2i with exactly our parameters still gets upgraded to argon2id.
  PasswordHasher same_params(random_, Argon2Params{65536, 2});
  EXPECT_EQ(same_params.verify("password", v), Verdict::kMatchNeedsRehash);
}

// bcrypt vectors from Openwall's crypt_blowfish (wrapper.c) test list, as also used by PHP and
// Bouncy Castle. Each was checked against libcrypt's crypt_r before being written here.
TEST_F(HasherTest, BcryptVectorsMatchAndNeedRehash) {
  struct Vector {
    std::string password;
    std::string hash;
  };
  const Vector vectors[] = {
      {"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
      {"U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"},
      {"\xa3", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"},
      {"\xa3", "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"},
      {"\xa3", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq"},
      {"\xff\xff\xa3", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"},
      {"\xff\xff\xa3", "$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"},
      {"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 "
       "are ignored",
       "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.hash);
    EXPECT_TRUE(hasher_.understands(v.hash));
    EXPECT_EQ(hasher_.verify(v.password, v.hash), Verdict::kMatchNeedsRehash);
    // bcrypt reads at most 72 bytes: a longer password matches whatever follows them.
    const Verdict longer = hasher_.verify(v.password + "x", v.hash);
    EXPECT_EQ(longer, v.password.size() < 72 ? Verdict::kMismatch : Verdict::kMatchNeedsRehash);
    EXPECT_EQ(hasher_.verify(v.password.substr(1), v.hash), Verdict::kMismatch);
  }
  // $2a$ and $2y$ differ for 8-bit input with the sign-extension bug: not interchangeable.
  EXPECT_EQ(hasher_.verify("\xff\xff\xa3",
                           "$2a$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"),
            Verdict::kMismatch);
}

// "password" at cost 4 with an all-dots salt, computed with libcrypt's crypt_r.
TEST_F(HasherTest, BcryptOfPassword) {
  const std::string h = "$2b$04$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm";
  EXPECT_EQ(hasher_.verify("password", h), Verdict::kMatchNeedsRehash);
  EXPECT_EQ(hasher_.verify("Password", h), Verdict::kMismatch);
  // A NUL would end the C string that crypt() reads: never a match.
  EXPECT_EQ(hasher_.verify(std::string("password\0junk", 13), h), Verdict::kMismatch);
}

TEST_F(HasherTest, MalformedHashesAreMismatches) {
  const std::string good =
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  const std::string bad[] = {
      "",
      "password",
      "$argon2id$",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$",
      "$argon2id$v=19$m=256,t=2,p=1$$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4$",
      "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=banana,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=99999999999,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/"
      "4",
      "$argon2id$v=19$m=0,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=256,t=2,p=1$c29t!XNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$Hl6uH5u2Bx9QA6LiWdqzkzCZD0dw6Y9V6nhuB1z0zgs",
      " " + good,
      good + " ",
      good + std::string(1, '\0'),
      std::string(good).insert(20, 1, '\0'),
      "$2b$04$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjh",    // short
      "$2b$04$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhmm",  // long
      "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",   // buggy variant
      "$2c$04$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm",
      "$2b$03$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm",  // cost too low
      "$2b$4$.......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm",
      "$2b$04$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjh!",
      "$1$saltsalt$hash",
      "$6$rounds=5000$salt$hash",
      std::string(10000, '$'),
  };
  for (const auto& h : bad) {
    SCOPED_TRACE(h);
    EXPECT_FALSE(hasher_.understands(h));
    EXPECT_EQ(hasher_.verify("password", h), Verdict::kMismatch);
  }
  // Well-shaped, so understood, but the hash part is wrong or of another length.
  for (const std::string h :
       {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/5",
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4x",
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi",
        "$2b$04$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhn"}) {
    SCOPED_TRACE(h);
    EXPECT_TRUE(hasher_.understands(h));
    EXPECT_EQ(hasher_.verify("password", h), Verdict::kMismatch);
  }
}

// Work limits: a stored hash that asks for hours of CPU or gigabytes of memory is refused without
// being run (if it were run, this test would time out).
TEST_F(HasherTest, ExcessiveWorkIsRefusedWithoutRunning) {
  const std::string expensive[] = {
      "$2b$31$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm",
      "$2b$17$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm",
      "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
      "$argon2id$v=19$m=256,t=4000000000,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/"
      "4",
  };
  const auto start = std::chrono::steady_clock::now();
  for (const auto& h : expensive) {
    SCOPED_TRACE(h);
    EXPECT_FALSE(hasher_.understands(h));
    EXPECT_EQ(hasher_.verify("password", h), Verdict::kMismatch);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Within the limits, the same shapes are understood.
  EXPECT_TRUE(hasher_.understands("$2b$16$......................LAtw7/ohmmBAhnXqmkuIz83Rl5Qdjhm"));
  EXPECT_TRUE(hasher_.understands(
      "$argon2id$v=19$m=262144,t=16,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"));
}

TEST_F(HasherTest, OverlongPasswordsAreRefused) {
  const std::string at_limit(PasswordHasher::kMaxPasswordBytes, 'a');
  const std::string over_limit(PasswordHasher::kMaxPasswordBytes + 1, 'a');
  const std::string h = hasher_.hash(at_limit);
  EXPECT_EQ(hasher_.verify(at_limit, h), Verdict::kMatch);
  EXPECT_EQ(hasher_.verify(over_limit, h), Verdict::kMismatch);
  EXPECT_THROW((void)hasher_.hash(over_limit), std::length_error);
}

TEST_F(HasherTest, DummyHashCostsAsMuchAsARealOne) {
  // dummy_verify() checks against this hash, so it does the same argon2id work as verify()
  // of a hash made with the current parameters.
  EXPECT_TRUE(hasher_.dummy_hash().starts_with("$argon2id$v=19$m=8192,t=1,p=1$"))
      << hasher_.dummy_hash();
  EXPECT_TRUE(hasher_.understands(hasher_.dummy_hash()));
  EXPECT_EQ(hasher_.verify("", hasher_.dummy_hash()), Verdict::kMismatch);
  hasher_.dummy_verify("guess");

  PasswordHasher defaults(random_);
  EXPECT_TRUE(defaults.dummy_hash().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"))
      << defaults.dummy_hash();
}

TEST(HasherParams, OutOfRangeParamsThrow) {
  SeededRandom random;
  EXPECT_THROW(PasswordHasher(random, Argon2Params{8192, 0}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(random, Argon2Params{4, 1}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(random, Argon2Params{~std::uint64_t{0}, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::methods::password
