#include "methods/totp/totp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "common/encoding.hpp"

namespace latchkey::methods::totp {
namespace {

using std::chrono::seconds;

std::vector<std::uint8_t> rfc_secret() {
  const std::string s = "12345678901234567890";
  return {s.begin(), s.end()};
}

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

// RFC 6238 appendix B, the SHA-1 rows (8 digits, 30 s steps).
TEST(TotpCode, Rfc6238AppendixBSha1) {
  const TotpParams p{.digits = 8};
  const struct {
    std::int64_t time;
    const char* code;
  } vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(totp_code_at_step(rfc_secret(), v.time / 30, p), v.code) << v.time;
    EXPECT_EQ(totp_code(rfc_secret(), from_unix(v.time), p), v.code) << v.time;
    auto step = totp_verify(rfc_secret(), v.code, from_unix(v.time), std::nullopt, p);
    ASSERT_TRUE(step) << v.time;
    EXPECT_EQ(*step, v.time / 30);
  }
  // 20000000000 (the year 2603) is past what a nanosecond system_clock TimePoint holds, so this
  // row is checked through its time step only.
  EXPECT_EQ(totp_code_at_step(rfc_secret(), 20000000000 / 30, p), "65353130");
}

TEST(TotpCode, SixDigitsAreTheLowDigitsZeroPadded) {
  // 07081804 -> 081804: a leading zero must survive.
  EXPECT_EQ(totp_code(rfc_secret(), from_unix(1111111109)), "081804");
  EXPECT_EQ(totp_code(rfc_secret(), from_unix(59)), "287082");
}

TEST(TotpCode, StepBoundaries) {
  EXPECT_EQ(totp_step(from_unix(0)), 0);
  EXPECT_EQ(totp_step(from_unix(29)), 0);
  EXPECT_EQ(totp_step(from_unix(30)), 1);
  EXPECT_EQ(totp_step(from_unix(-1)), -1);
  EXPECT_EQ(totp_step(from_unix(120), {.period = seconds(60)}), 2);
  // Sub-second precision is truncated to the second, not rounded.
  EXPECT_EQ(totp_step(from_unix(29) + std::chrono::milliseconds(999)), 0);
  EXPECT_EQ(totp_code(rfc_secret(), from_unix(30)), totp_code(rfc_secret(), from_unix(59)));
  EXPECT_EQ(totp_code(rfc_secret(), from_unix(59)), totp_code_at_step(rfc_secret(), 1));
  EXPECT_EQ(totp_code(rfc_secret(), from_unix(1234567890)),
            totp_code_at_step(rfc_secret(), 1234567890 / 30));
  EXPECT_NE(totp_code(rfc_secret(), from_unix(59)), totp_code(rfc_secret(), from_unix(60)));
}

TEST(TotpCode, RefusesBadArguments) {
  EXPECT_THROW(totp_code({}, from_unix(59)), std::invalid_argument);
  EXPECT_THROW(totp_code(rfc_secret(), from_unix(-1)), std::invalid_argument);
  EXPECT_THROW(totp_code_at_step(rfc_secret(), -1), std::invalid_argument);
  EXPECT_THROW(totp_code_at_step(rfc_secret(), std::numeric_limits<std::int64_t>::max() / 10),
               std::invalid_argument);
  EXPECT_THROW(totp_code_at_step({}, 1), std::invalid_argument);
  EXPECT_THROW(totp_code(rfc_secret(), from_unix(59), {.digits = 5}), std::invalid_argument);
  EXPECT_THROW(totp_code(rfc_secret(), from_unix(59), {.digits = 9}), std::invalid_argument);
  EXPECT_THROW(totp_code(rfc_secret(), from_unix(59), {.period = seconds(0)}),
               std::invalid_argument);
  EXPECT_THROW(totp_code(rfc_secret(), from_unix(59), {.period = seconds(3601)}),
               std::invalid_argument);
  EXPECT_THROW(validate({.window = -1}), std::invalid_argument);
  EXPECT_THROW(validate({.window = 11}), std::invalid_argument);
  EXPECT_NO_THROW(validate({}));
  EXPECT_NO_THROW(validate({.digits = 8, .period = seconds(60), .window = 0}));
}

TEST(NewTotpSecret, TwentyRandomBytes) {
  SeededRandom r1(1), r2(1), r3(2);
  auto a = new_totp_secret(r1);
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(a, new_totp_secret(r2));  // comes from the injected Random only
  EXPECT_NE(a, new_totp_secret(r3));
  EXPECT_NE(a, new_totp_secret(r1));        // and draws fresh bytes each time
  EXPECT_EQ(base32_encode(a).size(), 32u);  // 160 bits = 32 base32 symbols, no padding
}

// --- verification ---------------------------------------------------------------------------

class TotpVerify : public ::testing::Test {
 protected:
  const std::vector<std::uint8_t> secret = bytes_of("an example secret...");
  const std::int64_t now_s = 1'700'000'015;  // in the middle of step 56666667
  const TimePoint now = from_unix(now_s);
  const std::int64_t step = now_s / 30;
  std::string code_at_step(std::int64_t s, TotpParams p = {}) {
    return totp_code_at_step(secret, s, p);
  }
};

TEST_F(TotpVerify, AcceptsTheCurrentCodeAndReturnsItsStep) {
  auto r = totp_verify(secret, code_at_step(step), now, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, step);
}

TEST_F(TotpVerify, WindowEdges) {
  // window = 1 (default): one step either side.
  EXPECT_EQ(totp_verify(secret, code_at_step(step - 1), now, std::nullopt), step - 1);
  EXPECT_EQ(totp_verify(secret, code_at_step(step + 1), now, std::nullopt), step + 1);
  EXPECT_FALSE(totp_verify(secret, code_at_step(step - 2), now, std::nullopt));
  EXPECT_FALSE(totp_verify(secret, code_at_step(step + 2), now, std::nullopt));

  // window = 0: only the current step.
  const TotpParams w0{.window = 0};
  EXPECT_EQ(totp_verify(secret, code_at_step(step), now, std::nullopt, w0), step);
  EXPECT_FALSE(totp_verify(secret, code_at_step(step - 1), now, std::nullopt, w0));
  EXPECT_FALSE(totp_verify(secret, code_at_step(step + 1), now, std::nullopt, w0));

  // window = 2.
  const TotpParams w2{.window = 2};
  EXPECT_EQ(totp_verify(secret, code_at_step(step - 2), now, std::nullopt, w2), step - 2);
  EXPECT_EQ(totp_verify(secret, code_at_step(step + 2), now, std::nullopt, w2), step + 2);
  EXPECT_FALSE(totp_verify(secret, code_at_step(step - 3), now, std::nullopt, w2));
  EXPECT_FALSE(totp_verify(secret, code_at_step(step + 3), now, std::nullopt, w2));
}

TEST_F(TotpVerify, WindowIsMeasuredFromTheStepOfNow) {
  // The last second of a step and the first second of the next one.
  const std::int64_t boundary = (step + 1) * 30;
  const std::string early = code_at_step(step - 1);
  EXPECT_TRUE(totp_verify(secret, early, from_unix(boundary - 1), std::nullopt));
  EXPECT_FALSE(totp_verify(secret, early, from_unix(boundary), std::nullopt));
}

TEST_F(TotpVerify, NearTheEpochSkipsNegativeSteps) {
  const TimePoint t = from_unix(5);  // step 0; step -1 does not exist
  EXPECT_EQ(totp_verify(secret, totp_code(secret, t), t, std::nullopt), 0);
  EXPECT_EQ(totp_verify(secret, code_at_step(1), t, std::nullopt), 1);
  EXPECT_FALSE(totp_verify(secret, "000000", from_unix(-100), std::nullopt));
}

TEST_F(TotpVerify, ReplayIsRefused) {
  const std::string code = code_at_step(step);
  auto first = totp_verify(secret, code, now, std::nullopt);
  ASSERT_EQ(first, step);
  // The caller stored `step`: the same code is refused for the rest of its window...
  EXPECT_FALSE(totp_verify(secret, code, now, first));
  EXPECT_FALSE(totp_verify(secret, code, now + seconds(30), first));
  // ...and so is an older code that is still inside the window.
  EXPECT_FALSE(totp_verify(secret, code_at_step(step - 1), now, first));
  // The next step's code is fresh.
  EXPECT_EQ(totp_verify(secret, code_at_step(step + 1), now, first), step + 1);
  // A last step in the future (the user already used the +1 code) blocks the current one.
  EXPECT_FALSE(totp_verify(secret, code, now, step + 1));
  // A last step from long ago does not.
  EXPECT_EQ(totp_verify(secret, code, now, step - 100), step);
}

TEST_F(TotpVerify, ACodeValidForTwoStepsReturnsTheEarliestFresh) {
  // Found by search: with this secret, steps 58995737 and 58995738 share the code 440881.
  const std::int64_t a = 58995737;
  ASSERT_EQ(code_at_step(a), "440881");
  ASSERT_EQ(code_at_step(a + 1), "440881");
  const TimePoint t = from_unix((a + 1) * 30 + 10);  // window covers a, a + 1, a + 2
  EXPECT_EQ(totp_verify(secret, "440881", t, std::nullopt), a);
  EXPECT_EQ(totp_verify(secret, "440881", t, a - 1), a);
  EXPECT_EQ(totp_verify(secret, "440881", t, a), a + 1);
  EXPECT_FALSE(totp_verify(secret, "440881", t, a + 1));
}

TEST_F(TotpVerify, RefusesMalformedCodes) {
  const std::string good = code_at_step(step);
  ASSERT_TRUE(totp_verify(secret, good, now, std::nullopt));
  const std::string bad[] = {
      "",
      good.substr(0, 5),
      good + "0",
      " " + good,
      good + " ",
      good.substr(0, 3) + " " + good.substr(3),
      good.substr(0, 3) + "-" + good.substr(3),
      "12345a",
      "+12345",
      "-12345",
      "\xef\xbc\x91\xef\xbc\x92",  // full-width digits
      std::string(good.data(), 5) + std::string(1, '\0'),
  };
  for (const auto& c : bad) {
    EXPECT_FALSE(totp_verify(secret, c, now, std::nullopt)) << '"' << c << '"';
  }
  // 8-digit params refuse the 6-digit code, and the other way round.
  EXPECT_FALSE(totp_verify(secret, good, now, std::nullopt, {.digits = 8}));
  const std::string eight = code_at_step(step, {.digits = 8});
  EXPECT_FALSE(totp_verify(secret, eight, now, std::nullopt));
  EXPECT_EQ(totp_verify(secret, eight, now, std::nullopt, {.digits = 8}), step);
}

TEST_F(TotpVerify, WrongSecretOrCodeIsRefused) {
  const std::string good = code_at_step(step);
  std::string wrong = good;
  wrong[5] = wrong[5] == '9' ? '0' : static_cast<char>(wrong[5] + 1);
  EXPECT_FALSE(totp_verify(secret, wrong, now, std::nullopt));
  EXPECT_FALSE(totp_verify(bytes_of("another secret......"), good, now, std::nullopt));
  EXPECT_THROW((void)totp_verify({}, good, now, std::nullopt), std::invalid_argument);
}

TEST_F(TotpVerify, OtherPeriods) {
  const TotpParams p{.period = seconds(60)};
  const std::int64_t s60 = now_s / 60;
  EXPECT_EQ(totp_verify(secret, code_at_step(s60, p), now, std::nullopt, p), s60);
  EXPECT_FALSE(totp_verify(secret, code_at_step(step), now, std::nullopt, p));
}

// --- cross-check against the oathtool CLI ---------------------------------------------------

bool have_oathtool() {
  return std::system("command -v oathtool >/dev/null 2>&1") == 0;
}

std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("popen failed");
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(TotpOathtool, MatchesTheCliForRandomSecretsAndTimes) {
  if (!have_oathtool()) GTEST_SKIP() << "oathtool is not installed (apt-get install oathtool)";
  SeededRandom random(6238);
  for (int i = 0; i < 20; ++i) {
    // Secrets of 10..40 bytes, times up to ~2100, and each supported digit count / two periods.
    auto secret = random.bytes(10 + random.uniform(31));
    const std::int64_t t = random.uniform(4'000'000'000u);
    const TotpParams p{.digits = 6 + static_cast<int>(random.uniform(3)),
                       .period = seconds(i % 2 == 0 ? 30 : 60)};
    // Only base32 symbols and digits reach the shell.
    const std::string cmd = "oathtool --totp -b -d " + std::to_string(p.digits) + " -s " +
                            std::to_string(p.period.count()) + "s --now=@" + std::to_string(t) +
                            " " + base32_encode(secret) + " 2>&1";
    const std::string expected = run(cmd);
    ASSERT_EQ(expected.size(), static_cast<std::size_t>(p.digits)) << cmd << " -> " << expected;
    EXPECT_EQ(totp_code(secret, from_unix(t), p), expected) << cmd;
    EXPECT_EQ(totp_verify(secret, expected, from_unix(t), std::nullopt, p), t / p.period.count())
        << cmd;
  }
}

// --- base32 ----------------------------------------------------------------------------------

TEST(Base32, Rfc4648TestVectors) {
  // RFC 4648 section 10, without the padding (which base32_decode still accepts).
  const struct {
    const char* plain;
    const char* encoded;
    const char* padded;
  } vectors[] = {
      {"", "", ""},
      {"f", "MY", "MY======"},
      {"fo", "MZXQ", "MZXQ===="},
      {"foo", "MZXW6", "MZXW6==="},
      {"foob", "MZXW6YQ", "MZXW6YQ="},
      {"fooba", "MZXW6YTB", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(base32_encode(as_bytes(v.plain)), v.encoded) << v.plain;
    auto d = base32_decode(v.encoded);
    ASSERT_TRUE(d) << v.encoded;
    EXPECT_EQ(to_string(*d), v.plain);
    auto dp = base32_decode(v.padded);
    ASSERT_TRUE(dp) << v.padded;
    EXPECT_EQ(to_string(*dp), v.plain);
  }
  EXPECT_EQ(base32_encode(rfc_secret()), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Base32, RoundTripsEveryLength) {
  SeededRandom random(4648);
  for (std::size_t n = 0; n <= 64; ++n) {
    auto data = random.bytes(n);
    const std::string text = base32_encode(data);
    EXPECT_EQ(text.size(), (n * 8 + 4) / 5);
    EXPECT_EQ(text.find('='), std::string::npos);
    auto back = base32_decode(text);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, data) << n;
  }
}

TEST(Base32, ToleratesCaseAndSeparators) {
  const std::vector<std::uint8_t> expected = rfc_secret();
  for (const char* text :
       {"gezdgnbvgy3tqojqgezdgnbvgy3tqojq", "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
        "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq", " GEZDgnbvGY3TqojqGEZDGNBVGY3TQOJQ\t",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ=="}) {
    auto d = base32_decode(text);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(*d, expected) << text;
  }
}

TEST(Base32, RefusesInvalidInput) {
  for (const char* text : {
           "MZXW1",       // '1' is not base32
           "MZXW8",       // nor is '8'
           "MZXW0",       // nor '0'
           "MZ+W6",       // nor '+'
           "M",           // 1 symbol: no byte string encodes to this
           "MZX",         // 3 symbols
           "MZXW6Y",      // 6 symbols
           "MZXW6YTBM",   // 8 + 1
           "MZ=XQ",       // data after padding
           "MZ\nXQ",      // newlines are not tolerated
           "MZ\xc3\xa9",  // non-ASCII
           "MZ======A",
       }) {
    EXPECT_FALSE(base32_decode(text)) << text;
  }
  // Non-zero trailing bits: "MZ" is "f", "M3" would carry stray bits.
  EXPECT_TRUE(base32_decode("MY"));
  EXPECT_FALSE(base32_decode("MZ"));
  EXPECT_FALSE(base32_decode("MZXR"));
  EXPECT_FALSE(base32_decode("MZXW7"));
  EXPECT_FALSE(base32_decode(std::string_view("MY\0", 3)));
}

// --- otpauth URI -------------------------------------------------------------------------------

TEST(OtpauthUri, KeyUriFormat) {
  EXPECT_EQ(otpauth_uri("Latchkey", "jane@example.com", rfc_secret()),
            "otpauth://totp/Latchkey:jane%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=Latchkey&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauth_uri("Acme", "bob", bytes_of("f"), {.digits = 8, .period = seconds(60)}),
            "otpauth://totp/Acme:bob?secret=MY&issuer=Acme&algorithm=SHA1&digits=8&period=60");
}

TEST(OtpauthUri, PercentEncodesIssuerAndAccount) {
  const std::string uri =
      otpauth_uri("Acme: Corp & Co/\xed\x95\x9c", "j.d+x_~-@example.com?a=b#c", bytes_of("f"));
  EXPECT_EQ(uri,
            "otpauth://totp/Acme%3A%20Corp%20%26%20Co%2F%ED%95%9C:"
            "j.d%2Bx_~-%40example.com%3Fa%3Db%23c?secret=MY"
            "&issuer=Acme%3A%20Corp%20%26%20Co%2F%ED%95%9C&algorithm=SHA1&digits=6&period=30");
  // Exactly one ':' after the scheme: the label separator.
  const std::string label = uri.substr(15, uri.find('?') - 15);
  EXPECT_EQ(std::count(label.begin(), label.end(), ':'), 1);
  // No raw space, '+', '&', '#' or non-ASCII byte anywhere.
  for (char c : uri) {
    EXPECT_TRUE(c > 0x20 && c < 0x7f && c != '+' && c != '#') << uri;
  }
}

TEST(OtpauthUri, RefusesProgrammingErrors) {
  EXPECT_THROW(otpauth_uri("", "a", bytes_of("f")), std::invalid_argument);
  EXPECT_THROW(otpauth_uri("Acme", "", bytes_of("f")), std::invalid_argument);
  EXPECT_THROW(otpauth_uri("Acme", "a", {}), std::invalid_argument);
  EXPECT_THROW(otpauth_uri("Ac\xff", "a", bytes_of("f")), std::invalid_argument);
  EXPECT_THROW(otpauth_uri("Acme", "\xc0\x80", bytes_of("f")), std::invalid_argument);
  EXPECT_THROW(otpauth_uri("Acme", "a", bytes_of("f"), {.digits = 4}), std::invalid_argument);
}

TEST(OtpauthUri, SecretRoundTripsThroughTheUri) {
  SeededRandom random(7);
  auto secret = new_totp_secret(random);
  const std::string uri = otpauth_uri("Latchkey", "a@b.example", secret);
  const auto start = uri.find("secret=") + 7;
  const auto end = uri.find('&', start);
  auto back = base32_decode(uri.substr(start, end - start));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, secret);
}

}  // namespace
}  // namespace latchkey::methods::totp
