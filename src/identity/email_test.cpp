#include "identity/email.hpp"

#include <gtest/gtest.h>

namespace latchkey::identity {
namespace {

TEST(NormalizeEmail, TrimsAndLowercasesDomainOnly) {
  auto r = normalize_email("  Jane.Doe+tag@Example.COM \t");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "Jane.Doe+tag@example.com");
}

TEST(NormalizeEmail, RejectsMalformed) {
  for (const char* bad :
       {"", "plain", "@example.com", "a@", "a@b", "a..b@example.com", ".a@example.com",
        "a.@example.com", "a b@example.com", "a@exa_mple.com", "a@-example.com", "a@example-.com",
        "a@1.2.3.4", "a@example..com", "한국@example.com", "a\"b@example.com"}) {
    auto r = normalize_email(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidEmail) << bad;
    EXPECT_EQ(r.error().field, "email");
  }
  std::string nul("a\0b@example.com", 15);
  EXPECT_FALSE(normalize_email(nul));
}

TEST(NormalizeEmail, LengthLimits) {
  EXPECT_TRUE(normalize_email(std::string(64, 'a') + "@example.com"));
  EXPECT_FALSE(normalize_email(std::string(65, 'a') + "@example.com"));
  EXPECT_FALSE(normalize_email("a@" + std::string(250, 'b') + ".com"));
}

TEST(NormalizeEmail, LocalPart) {
  EXPECT_EQ(local_part("jane@example.com"), "jane");
}

}  // namespace
}  // namespace latchkey::identity
