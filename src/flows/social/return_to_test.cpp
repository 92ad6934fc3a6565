#include "flows/social/return_to.hpp"

#include <gtest/gtest.h>

namespace latchkey::flows {
namespace {

const std::vector<std::string> kAllowed = {"https://app.example.com/", "http://localhost:5173/app"};

TEST(ReturnTo, UnderAnAllowedPrefix) {
  EXPECT_TRUE(return_to_allowed("https://app.example.com/", kAllowed));
  EXPECT_TRUE(return_to_allowed("https://app.example.com/settings?tab=1#x", kAllowed));
  EXPECT_TRUE(return_to_allowed("https://APP.example.com:443/x", kAllowed));
  EXPECT_TRUE(return_to_allowed("http://localhost:5173/app", kAllowed));
  EXPECT_TRUE(return_to_allowed("http://localhost:5173/app/profile", kAllowed));
  EXPECT_TRUE(return_to_allowed("http://localhost:5173/app?x=1", kAllowed));
}

TEST(ReturnTo, LookalikesAndTricksFail) {
  for (const char* url : {
           "https://app.example.com.evil.com/",
           "https://app.example.com@evil.com/",
           "https://evil.com/https://app.example.com/",
           "http://app.example.com/",  // scheme differs
           "https://app.example.com:8443/",
           "//app.example.com/",
           "https://app.example.com\\@evil.com/",
           "https://app.example.com/ x",
           "http://localhost:5173/application",
           "http://localhost:5173/app/../admin",
           "http://localhost:5173/app/%2e%2e/admin",
           "http://localhost:5173/app%2F..%2Fadmin",
           "javascript:alert(1)",
           "",
       }) {
    EXPECT_FALSE(return_to_allowed(url, kAllowed)) << url;
  }
}

}  // namespace
}  // namespace latchkey::flows
