#include "methods/sms_code/sms_codes.hpp"

#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "kv/memory_key_value.hpp"

namespace latchkey::methods {
namespace {

using namespace std::chrono_literals;

class SmsCodesTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  SeededRandom random_;
  kv::MemoryKeyValue kv_{clock_};
  SmsCodes codes_{kv_, random_, std::vector<std::uint8_t>(32, 9), {300s, 5, 60s}};
  const std::string phone_ = "+821012345678";
};

TEST_F(SmsCodesTest, RightCodeWorksOnce) {
  auto code = codes_.issue("verify_phone", phone_);
  ASSERT_TRUE(code);
  EXPECT_EQ(code->size(), 6u);
  EXPECT_TRUE(codes_.verify("verify_phone", phone_, *code));
  EXPECT_EQ(codes_.verify("verify_phone", phone_, *code).error().code, ErrorCode::kInvalidCode);
}

TEST_F(SmsCodesTest, CodesAreBoundToPurposeAndNumber) {
  auto code = codes_.issue("verify_phone", phone_);
  ASSERT_TRUE(code);
  EXPECT_EQ(codes_.verify("sms_login", phone_, *code).error().code, ErrorCode::kInvalidCode);
  EXPECT_EQ(codes_.verify("verify_phone", "+821099999999", *code).error().code,
            ErrorCode::kInvalidCode);
  EXPECT_TRUE(codes_.verify("verify_phone", phone_, *code));
}

TEST_F(SmsCodesTest, SixthTryIsRefusedEvenWithTheRightCode) {
  auto code = codes_.issue("sms_login", phone_);
  ASSERT_TRUE(code);
  const std::string wrong = *code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(codes_.verify("sms_login", phone_, wrong).error().code, ErrorCode::kInvalidCode);
  }
  EXPECT_EQ(codes_.verify("sms_login", phone_, wrong).error().code,
            ErrorCode::kCodeAttemptsExceeded);
  EXPECT_EQ(codes_.verify("sms_login", phone_, *code).error().code,
            ErrorCode::kCodeAttemptsExceeded);
}

TEST_F(SmsCodesTest, CooldownThenANewCodeReplacesTheOldOne) {
  auto first = codes_.issue("sms_login", phone_);
  ASSERT_TRUE(first);
  auto again = codes_.issue("sms_login", phone_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kRateLimited);
  ASSERT_TRUE(again.error().retry_after);
  EXPECT_LE(*again.error().retry_after, 60);
  clock_.advance(61s);
  auto second = codes_.issue("sms_login", phone_);
  ASSERT_TRUE(second);
  if (*second != *first) {
    EXPECT_EQ(codes_.verify("sms_login", phone_, *first).error().code, ErrorCode::kInvalidCode);
  }
  EXPECT_TRUE(codes_.verify("sms_login", phone_, *second));
}

TEST_F(SmsCodesTest, CodesExpire) {
  auto code = codes_.issue("sms_login", phone_);
  ASSERT_TRUE(code);
  clock_.advance(301s);
  EXPECT_EQ(codes_.verify("sms_login", phone_, *code).error().code, ErrorCode::kInvalidCode);
}

TEST_F(SmsCodesTest, NothingIssuedIsInvalidAndKeysHoldNoNumber) {
  EXPECT_EQ(codes_.verify("sms_login", phone_, "123456").error().code, ErrorCode::kInvalidCode);
  ASSERT_TRUE(codes_.issue("sms_login", phone_));
  EXPECT_FALSE(kv_.get("sms:code:sms_login:" + phone_).value().has_value());
}

}  // namespace
}  // namespace latchkey::methods
