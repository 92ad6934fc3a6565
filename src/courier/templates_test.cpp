#include "courier/templates.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "common/encoding.hpp"

namespace latchkey::courier {
namespace {

namespace fs = std::filesystem;
using Values = std::map<std::string, std::string>;

Branding test_branding() {
  return Branding{"Latchkey", "help@example.com", "https://auth.example.com/"};
}

Values verify_values(std::string name = "Kim") {
  return {{"name", std::move(name)},
          {"link", "https://auth.example.com/verify?token=abc&x=1"},
          {"code", "123456"},
          {"expires_hours", "24"}};
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A temporary override directory, removed at the end of the test.
class OverrideDir {
 public:
  OverrideDir() {
    std::string tmpl = (fs::temp_directory_path() / "latchkey-templates-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~OverrideDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  OverrideDir(const OverrideDir&) = delete;
  OverrideDir& operator=(const OverrideDir&) = delete;

  void write(const std::string& relative, const std::string& content) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// Expects load() to throw a std::runtime_error whose message contains `needle`.
void expect_load_error(const OverrideDir& dir, std::string_view needle) {
  try {
    (void)TemplateSet::load(dir.path(), test_branding());
    ADD_FAILURE() << "load() did not throw; wanted an error containing " << needle;
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), needle)) << e.what();
  }
}

TEST(TemplateSet, BuiltinsLoad) {
  const auto set = TemplateSet::load("", test_branding());
  EXPECT_EQ(set.locales(), (std::vector<std::string>{"en", "ko"}));
  EXPECT_EQ(set.default_locale(), "en");
  EXPECT_EQ(
      set.template_ids(),
      (std::vector<std::string>{"email_change_notice", "email_change_verify", "password_changed",
                                "password_reset", "security_notice", "verify_email"}));
}

TEST(TemplateSet, VerifyEmailEnglish) {
  const auto set = TemplateSet::load("", test_branding());
  auto mail = set.render(kVerifyEmail, "en", "kim@example.com", "Kim", verify_values());
  ASSERT_TRUE(mail) << mail.error().log_detail;
  EXPECT_EQ(mail->to, "kim@example.com");
  EXPECT_EQ(mail->to_name, "Kim");
  EXPECT_EQ(mail->template_id, "verify_email");
  EXPECT_EQ(mail->subject, "Confirm your e-mail for Latchkey");

  EXPECT_TRUE(mail->text.starts_with("Hi Kim,\n\nThanks for signing up for Latchkey."))
      << mail->text;
  EXPECT_TRUE(contains(mail->text, "\n\nhttps://auth.example.com/verify?token=abc&x=1\n\n"));
  EXPECT_TRUE(contains(mail->text, "\n    123456\n"));
  EXPECT_TRUE(contains(mail->text, "The link and the code expire in 24 hours.\n"));
  EXPECT_TRUE(contains(mail->text, "If you did not sign up for Latchkey, you can ignore this"));
  EXPECT_TRUE(mail->text.ends_with("\nLatchkey\nhttps://auth.example.com\n")) << mail->text;

  EXPECT_TRUE(mail->html.starts_with("<!DOCTYPE html>\n<html lang=\"en\""));
  EXPECT_TRUE(contains(mail->html, "<title>Confirm your e-mail for Latchkey</title>"));
  EXPECT_TRUE(contains(mail->html, "<p style=\"margin:0 0 16px;\">Hi Kim,</p>"));
  EXPECT_TRUE(
      contains(mail->html, "<a href=\"https://auth.example.com/verify?token=abc&amp;x=1\""));
  EXPECT_TRUE(contains(mail->html, ">Confirm e-mail address</a>"));
  EXPECT_TRUE(contains(mail->html, ">https://auth.example.com/verify?token=abc&amp;x=1</a>"));
  EXPECT_TRUE(contains(mail->html, ">123456</p>"));
  EXPECT_TRUE(contains(mail->html, "mailto:help@example.com"));
  EXPECT_FALSE(contains(mail->html, "{{"));
  EXPECT_FALSE(contains(mail->html, "<img"));
  EXPECT_FALSE(contains(mail->html, "<link"));
}

TEST(TemplateSet, VerifyEmailKorean) {
  const auto set = TemplateSet::load("", test_branding());
  auto mail = set.render(kVerifyEmail, "ko", "kim@example.com", "김민수", verify_values("김민수"));
  ASSERT_TRUE(mail) << mail.error().log_detail;
  EXPECT_EQ(mail->subject, "Latchkey 이메일 주소 확인");
  EXPECT_TRUE(
      mail->text.starts_with("김민수님, 안녕하세요.\n\nLatchkey에 가입해 주셔서 감사합니다."))
      << mail->text;
  EXPECT_TRUE(contains(mail->text, "\n    123456\n"));
  EXPECT_TRUE(contains(mail->text, "링크와 인증 코드는 24시간 동안 유효합니다."));
  EXPECT_TRUE(contains(mail->text, "가입하신 적이 없다면 이 메일을 무시하셔도 됩니다."));
  EXPECT_TRUE(mail->html.starts_with("<!DOCTYPE html>\n<html lang=\"ko\""));
  EXPECT_TRUE(contains(mail->html, ">이메일 주소 확인</a>"));
  EXPECT_TRUE(contains(mail->html, "김민수님, 안녕하세요."));
  EXPECT_TRUE(contains(mail->html, "help@example.com</a> 주소로 보내 주십시오."));
  EXPECT_TRUE(is_valid_utf8(mail->subject));
  EXPECT_TRUE(is_valid_utf8(mail->text));
  EXPECT_TRUE(is_valid_utf8(mail->html));
}

TEST(TemplateSet, EveryTemplateRendersInEveryLocale) {
  const auto set = TemplateSet::load("", test_branding());
  const std::map<std::string, Values> values{
      {"verify_email",
       {{"name", "Kim"},
        {"link", "https://auth.example.com/v?t=1"},
        {"code", "123456"},
        {"expires_hours", "48"}}},
      {"email_change_verify",
       {{"name", "Kim"},
        {"link", "https://auth.example.com/l"},
        {"code", "654321"},
        {"new_email", "new@example.com"},
        {"expires_hours", "24"}}},
      {"email_change_notice", {{"name", "Kim"}, {"new_email", "new@example.com"}}},
      {"password_reset",
       {{"name", "Kim"}, {"link", "https://auth.example.com/r"}, {"expires_minutes", "30"}}},
      {"password_changed", {{"name", "Kim"}, {"time", "2025-03-01 14:05 UTC"}}},
      {"security_notice",
       {{"name", "Kim"}, {"change", "phone_removed"}, {"time", "2026-12-01 06:40 UTC"}}},
  };
  ASSERT_EQ(values.size(), set.template_ids().size());
  for (const auto& locale : set.locales()) {
    for (const auto& [id, vals] : values) {
      SCOPED_TRACE(locale + "/" + id);
      auto mail = set.render(id, locale, "kim@example.com", "", vals);
      ASSERT_TRUE(mail) << mail.error().log_detail;
      EXPECT_FALSE(mail->subject.empty());
      EXPECT_FALSE(contains(mail->subject, "\n"));
      EXPECT_TRUE(contains(mail->html, "<html lang=\"" + locale + "\""));
      for (const auto& [name, value] : vals) {
        if (name == "change") {  // selects a sentence; never shown as it is
          EXPECT_FALSE(contains(mail->text, value));
          EXPECT_FALSE(contains(mail->html, value));
        } else if (name == "name" && locale == "ko") {
          EXPECT_TRUE(contains(mail->text, "Kim님, 안녕하세요."));
        } else {
          EXPECT_TRUE(contains(mail->text, value)) << name;
          EXPECT_TRUE(contains(mail->html, value)) << name;
        }
      }
      if (vals.contains("link")) {
        EXPECT_TRUE(contains(mail->html, "<a href=\"" + vals.at("link") + "\""));
      }
      for (const std::string* part : {&mail->subject, &mail->text, &mail->html}) {
        EXPECT_FALSE(contains(*part, "{{")) << *part;
        EXPECT_FALSE(contains(*part, "}}")) << *part;
        EXPECT_TRUE(is_valid_utf8(*part));
      }
    }
  }
}

TEST(TemplateSet, SecurityNoticesLinkToForgotPassword) {
  const auto set = TemplateSet::load("", test_branding());
  auto notice = set.render(kEmailChangeNotice, "en", "old@example.com", "",
                           {{"name", "Kim"}, {"new_email", "new@example.com"}});
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->subject, "Your Latchkey e-mail address is being changed");
  EXPECT_TRUE(contains(notice->text, "\n    new@example.com\n"));
  EXPECT_TRUE(contains(notice->text, "If this wasn't you, someone may know your password."));
  EXPECT_TRUE(contains(notice->text, "\nhttps://auth.example.com/forgot-password\n"));
  EXPECT_TRUE(notice->text.ends_with(
      "\nhttps://auth.example.com/forgot-password\n\n"
      "Then contact us at help@example.com so that we can help you secure your\naccount.\n\n"
      "Latchkey\nhttps://auth.example.com\n"))
      << notice->text;
  EXPECT_TRUE(contains(notice->html, "<a href=\"https://auth.example.com/forgot-password\""));

  auto changed = set.render(kPasswordChanged, "ko", "kim@example.com", "",
                            {{"name", "김민수"}, {"time", "2025-03-01 14:05 KST"}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->subject, "Latchkey 비밀번호가 변경되었습니다");
  EXPECT_TRUE(contains(changed->text, "변경 일시: 2025-03-01 14:05 KST"));
  EXPECT_TRUE(contains(changed->text, "\nhttps://auth.example.com/forgot-password\n"));
  EXPECT_TRUE(contains(changed->text, "help@example.com 주소로 연락해 주시면"));
}

Values notice_values(std::string_view change, std::string name = "Kim") {
  return {
      {"name", std::move(name)}, {"change", std::string(change)}, {"time", "2026-12-01 06:40 UTC"}};
}

// The wording of each kind of security change: subject, sentence (as in the text part).
struct ChangeWording {
  std::string_view change;
  std::string en_subject;
  std::string en_sentence;
  std::string ko_subject;
  std::string ko_sentence;
};

const std::vector<ChangeWording>& change_wordings() {
  static const std::vector<ChangeWording> wordings{
      {security_change::kTotpEnabled,
       "Two-step verification was turned on for your Latchkey account",
       "Two-step verification with an authenticator app was turned on for your\n"
       "Latchkey account.",
       "Latchkey 2단계 인증이 사용 설정되었습니다",
       "Latchkey 계정에 인증 앱을 이용한 2단계 인증이 사용 설정되었습니다."},
      {security_change::kTotpDisabled,
       "Two-step verification was turned off for your Latchkey account",
       "Two-step verification with an authenticator app was turned off for your\n"
       "Latchkey account.",
       "Latchkey 2단계 인증이 사용 중지되었습니다",
       "Latchkey 계정에서 인증 앱을 이용한 2단계 인증이 사용 중지되었습니다."},
      {security_change::kRecoveryCodesRegenerated,
       "New recovery codes were created for your Latchkey account",
       "New recovery codes were created for your Latchkey account, and\n"
       "the old codes no longer work.",
       "Latchkey 복구 코드가 새로 발급되었습니다",
       "Latchkey 계정의 복구 코드가 새로 발급되어 이전 복구 코드는 더 이상\n"
       "사용할 수 없습니다."},
      {security_change::kRecoveryCodeUsed,
       "A recovery code was used to sign in to your Latchkey account",
       "A recovery code was used to sign in to your Latchkey account.",
       "Latchkey 로그인에 복구 코드가 사용되었습니다",
       "Latchkey 계정에 로그인하는 데 복구 코드가 사용되었습니다."},
      {security_change::kPhoneVerified, "A phone number was added to your Latchkey account",
       "A phone number was verified and added to your Latchkey account.",
       "Latchkey 계정에 전화번호가 등록되었습니다",
       "인증된 전화번호가 Latchkey 계정에 등록되었습니다."},
      {security_change::kPhoneRemoved, "A phone number was removed from your Latchkey account",
       "A phone number was removed from your Latchkey account.",
       "Latchkey 계정에서 전화번호가 삭제되었습니다",
       "Latchkey 계정에서 전화번호가 삭제되었습니다."},
  };
  return wordings;
}

std::string one_line_of(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

TEST(TemplateSet, SecurityNoticeSaysWhatChangedInEachLocale) {
  const auto set = TemplateSet::load("", test_branding());
  ASSERT_EQ(change_wordings().size(), std::size(security_change::kAll));
  for (const auto& w : change_wordings()) {
    for (const std::string locale : {"en", "ko"}) {
      SCOPED_TRACE(locale + "/" + std::string(w.change));
      const bool en = locale == "en";
      auto mail =
          set.render(kSecurityNotice, locale, "kim@example.com", "Kim", notice_values(w.change));
      ASSERT_TRUE(mail) << mail.error().log_detail;
      EXPECT_EQ(mail->template_id, "security_notice");
      EXPECT_EQ(mail->subject, en ? w.en_subject : w.ko_subject);
      const std::string& sentence = en ? w.en_sentence : w.ko_sentence;
      const std::string greeting = en ? "Hi Kim,\n\n" : "Kim님, 안녕하세요.\n\n";
      EXPECT_TRUE(mail->text.starts_with(greeting + sentence + "\n\n")) << mail->text;
      EXPECT_TRUE(
          contains(mail->html, "<p style=\"margin:0 0 16px;\">" + one_line_of(sentence) + "</p>"))
          << mail->html;
      EXPECT_TRUE(contains(mail->html, "<title>" + mail->subject + "</title>"));
      // Only this kind's sentence, none of the others.
      for (const auto& other : change_wordings()) {
        if (other.change == w.change) continue;
        const std::string& other_sentence = en ? other.en_sentence : other.ko_sentence;
        EXPECT_FALSE(contains(mail->text, other_sentence)) << other.change;
        EXPECT_FALSE(contains(mail->html, one_line_of(other_sentence))) << other.change;
      }
      // When, and what to do if it wasn't you.
      if (en) {
        EXPECT_TRUE(contains(mail->text, "\nThis happened on 2026-12-01 06:40 UTC.\n"));
        EXPECT_TRUE(contains(mail->text, "\nIf this wasn't you, someone else may have access"));
        EXPECT_TRUE(contains(mail->text, "Then contact us at help@example.com so that"));
        EXPECT_TRUE(contains(mail->html, "This happened on 2026-12-01 06:40 UTC."));
      } else {
        EXPECT_TRUE(contains(mail->text, "\n일시: 2026-12-01 06:40 UTC\n"));
        EXPECT_TRUE(contains(mail->text, "\n본인이 하신 것이 아니라면 다른 사람이"));
        EXPECT_TRUE(contains(mail->text, "그다음 help@example.com 주소로 연락해 주시면"));
        EXPECT_TRUE(contains(mail->html, "일시: 2026-12-01 06:40 UTC"));
      }
      EXPECT_TRUE(contains(mail->text, "\n\nhttps://auth.example.com/forgot-password\n\n"));
      EXPECT_TRUE(contains(mail->html, "<a href=\"https://auth.example.com/forgot-password\""));
      EXPECT_TRUE(
          contains(mail->html, "<a href=\"mailto:help@example.com\" style=\"color:#1d4ed8;\">"));
      EXPECT_FALSE(contains(mail->text, "\n\n\n")) << mail->text;
      EXPECT_FALSE(contains(mail->text, w.change));
      for (const std::string* part : {&mail->subject, &mail->text, &mail->html}) {
        EXPECT_FALSE(contains(*part, "{{")) << *part;
        EXPECT_TRUE(is_valid_utf8(*part));
      }
    }
  }
}

TEST(TemplateSet, SecurityNoticeWithoutNameOrSupportEmail) {
  Branding branding = test_branding();
  branding.support_email.clear();
  const auto set = TemplateSet::load("", branding);
  Values values = notice_values(security_change::kRecoveryCodeUsed);
  values.erase("name");
  auto en = set.render(kSecurityNotice, "en", "a@example.com", "", values);
  ASSERT_TRUE(en) << en.error().log_detail;
  EXPECT_TRUE(en->text.starts_with("Hi,\n\nA recovery code was used")) << en->text;
  EXPECT_TRUE(
      en->text.ends_with("Reset\nyour password now:\n\nhttps://auth.example.com/forgot-password\n\n"
                         "Latchkey\nhttps://auth.example.com\n"))
      << en->text;
  EXPECT_FALSE(contains(en->html, "mailto:"));
  EXPECT_FALSE(contains(en->html, "contact us"));
  auto ko = set.render(kSecurityNotice, "ko-KR", "a@example.com", "", values);
  ASSERT_TRUE(ko);
  EXPECT_TRUE(ko->text.starts_with("안녕하세요.\n\nLatchkey 계정에 로그인하는 데")) << ko->text;
  EXPECT_FALSE(contains(ko->text, "연락해 주시면"));
  EXPECT_FALSE(contains(ko->html, "mailto:"));
}

TEST(TemplateSet, SecurityNoticeRefusesUnknownChange) {
  const auto set = TemplateSet::load("", test_branding());
  for (const std::string bad :
       {"", "TOTP_ENABLED", " totp_enabled", "totp_enabled ", "totp", "password_changed",
        "change_is_totp_enabled", "<b>totp_enabled</b>", "totp_enabled\n", "{{name}}"}) {
    SCOPED_TRACE(bad);
    auto mail = set.render(kSecurityNotice, "en", "a@example.com", "", notice_values(bad));
    ASSERT_FALSE(mail);
    EXPECT_EQ(mail.error().code, ErrorCode::kInvalidField);
    EXPECT_EQ(mail.error().field, "change");
  }
  Values missing = notice_values(security_change::kTotpEnabled);
  missing.erase("change");
  auto r1 = set.render(kSecurityNotice, "ko", "a@example.com", "", missing);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().field, "change");
  // The sections are computed, not variables a caller may pass.
  Values section = notice_values(security_change::kTotpEnabled);
  section["change_is_totp_disabled"] = "1";
  auto r2 = set.render(kSecurityNotice, "en", "a@example.com", "", section);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().field, "change_is_totp_disabled");
  Values no_time = notice_values(security_change::kTotpEnabled);
  no_time.erase("time");
  auto r3 = set.render(kSecurityNotice, "en", "a@example.com", "", no_time);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().field, "time");
}

TEST(TemplateSet, SecurityNoticeHostileNameEscapedInHtml) {
  const auto set = TemplateSet::load("", test_branding());
  const std::string hostile = "<img src=x onerror=alert(1)>\"'&";
  for (const std::string locale : {"en", "ko"}) {
    auto mail = set.render(kSecurityNotice, locale, "a@example.com", hostile,
                           notice_values(security_change::kPhoneVerified, hostile));
    ASSERT_TRUE(mail) << mail.error().log_detail;
    EXPECT_TRUE(contains(mail->html, "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
    EXPECT_FALSE(contains(mail->html, "<img"));
    EXPECT_TRUE(contains(mail->text, hostile));
  }
}

TEST(TemplateSet, SecurityNoticeOverrideUsesChangeSections) {
  OverrideDir dir;
  dir.write("en/security_notice.subject.mustache",
            "{{#change_is_phone_removed}}Phone removed{{/change_is_phone_removed}}"
            "{{^change_is_phone_removed}}Security change ({{change}}){{/change_is_phone_removed}}");
  dir.write("ko/security_notice.html.mustache",
            "<p>{{#change_is_totp_enabled}}OTP 켜짐{{/change_is_totp_enabled}}"
            "{{#change_is_totp_disabled}}OTP 꺼짐{{/change_is_totp_disabled}} {{name}}</p>");
  const auto set = TemplateSet::load(dir.path(), test_branding());
  auto removed = set.render(kSecurityNotice, "en", "a@example.com", "",
                            notice_values(security_change::kPhoneRemoved));
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->subject, "Phone removed");
  // The built-in text part is kept.
  EXPECT_TRUE(contains(removed->text, "A phone number was removed from your Latchkey account."));
  auto other = set.render(kSecurityNotice, "en", "a@example.com", "",
                          notice_values(security_change::kTotpEnabled));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->subject, "Security change (totp_enabled)");
  auto ko = set.render(kSecurityNotice, "ko", "a@example.com", "",
                       notice_values(security_change::kTotpDisabled, "<b>"));
  ASSERT_TRUE(ko);
  EXPECT_EQ(ko->html, "<p>OTP 꺼짐 &lt;b&gt;</p>");
  auto unknown = set.render(kSecurityNotice, "ko", "a@example.com", "", notice_values("totp_on"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "change");

  {
    OverrideDir bad;
    bad.write("en/security_notice.txt.mustache",
              "{{#change_is_sms_enabled}}x{{/change_is_sms_enabled}}\n");
    expect_load_error(bad, "unknown variable \"change_is_sms_enabled\" at line 1");
  }
  {
    OverrideDir bad;  // the sections belong to security_notice only
    bad.write("en/password_changed.txt.mustache",
              "{{#change_is_totp_enabled}}x{{/change_is_totp_enabled}}\n");
    expect_load_error(bad, "unknown variable \"change_is_totp_enabled\"");
  }
}

TEST(TemplateSet, SupportLineHiddenWithoutSupportEmail) {
  Branding branding = test_branding();
  branding.support_email.clear();
  const auto set = TemplateSet::load("", branding);
  auto mail = set.render(kPasswordChanged, "en", "kim@example.com", "",
                         {{"name", "Kim"}, {"time", "1 March 2025, 14:05 UTC"}});
  ASSERT_TRUE(mail);
  EXPECT_FALSE(contains(mail->text, "contact us"));
  EXPECT_FALSE(contains(mail->html, "contact us"));
  EXPECT_FALSE(contains(mail->html, "mailto:"));
  EXPECT_TRUE(mail->text.ends_with(
      "If this wasn't you, reset your password now:\n\n"
      "https://auth.example.com/forgot-password\n\nLatchkey\nhttps://auth.example.com\n"))
      << mail->text;
}

TEST(TemplateSet, GreetingWithoutName) {
  const auto set = TemplateSet::load("", test_branding());
  auto en = set.render(kVerifyEmail, "en", "a@example.com", "", verify_values(""));
  ASSERT_TRUE(en);
  EXPECT_TRUE(en->text.starts_with("Hi,\n\n")) << en->text;
  Values without_name = verify_values();
  without_name.erase("name");
  auto ko = set.render(kVerifyEmail, "ko", "a@example.com", "", without_name);
  ASSERT_TRUE(ko);
  EXPECT_TRUE(ko->text.starts_with("안녕하세요.\n\n")) << ko->text;
  EXPECT_FALSE(contains(ko->html, "님,"));
}

TEST(TemplateSet, SingularAndPluralCounts) {
  const auto set = TemplateSet::load("", test_branding());
  Values values = verify_values();
  values["expires_hours"] = "1";
  auto one = set.render(kVerifyEmail, "en", "a@example.com", "", values);
  ASSERT_TRUE(one);
  EXPECT_TRUE(contains(one->text, "expire in 1 hour.\n"));
  EXPECT_TRUE(contains(one->html, "expire in 1 hour."));
  auto reset = set.render(kPasswordReset, "en", "a@example.com", "",
                          {{"link", "https://x.example/r"}, {"expires_minutes", "15"}});
  ASSERT_TRUE(reset);
  EXPECT_TRUE(contains(reset->text, "The link expires in 15 minutes.\n"));
  EXPECT_EQ(reset->subject, "Reset your Latchkey password");
}

TEST(TemplateSet, HostileNameEscapedInHtmlOnly) {
  const auto set = TemplateSet::load("", test_branding());
  const std::string hostile = "<script>\"&";
  auto mail = set.render(kVerifyEmail, "en", "a@example.com", hostile, verify_values(hostile));
  ASSERT_TRUE(mail);
  EXPECT_TRUE(contains(mail->html, "Hi &lt;script&gt;&quot;&amp;,"));
  EXPECT_FALSE(contains(mail->html, "<script"));
  EXPECT_TRUE(mail->text.starts_with("Hi <script>\"&,\n")) << mail->text;
}

TEST(TemplateSet, BrandingEscapedInHtmlOnly) {
  Branding branding = test_branding();
  branding.product_name = "Tom & Jerry's <Auth>";
  const auto set = TemplateSet::load("", branding);
  auto mail = set.render(kVerifyEmail, "en", "a@example.com", "", verify_values());
  ASSERT_TRUE(mail);
  EXPECT_EQ(mail->subject, "Confirm your e-mail for Tom & Jerry's <Auth>");
  EXPECT_TRUE(contains(mail->text, "signing up for Tom & Jerry's <Auth>."));
  EXPECT_TRUE(contains(mail->html,
                       "<title>Confirm your e-mail for Tom &amp; Jerry&#39;s "
                       "&lt;Auth&gt;</title>"));
  EXPECT_FALSE(contains(mail->html, "<Auth>"));
}

TEST(TemplateSet, OverrideTripleMustacheStillEscapedInHtml) {
  OverrideDir dir;
  dir.write("en/verify_email.html.mustache",
            "<p>{{{name}}} {{&name}} {{name}}</p><a href=\"{{{link}}}\">x</a>");
  const auto set = TemplateSet::load(dir.path(), test_branding());
  auto mail = set.render(kVerifyEmail, "en", "a@example.com", "", verify_values("<b>"));
  ASSERT_TRUE(mail);
  EXPECT_EQ(mail->html,
            "<p>&lt;b&gt; &lt;b&gt; &lt;b&gt;</p>"
            "<a href=\"https://auth.example.com/verify?token=abc&amp;x=1\">x</a>");
}

TEST(TemplateSet, SubjectIsOneLine) {
  OverrideDir dir;
  dir.write("en/verify_email.subject.mustache", "Hello {{name}}\t, welcome to {{product_name}}\n");
  const auto set = TemplateSet::load(dir.path(), test_branding());
  auto mail = set.render(kVerifyEmail, "en", "a@example.com", "",
                         verify_values("Kim\r\nBcc: evil@example.com\r\n\r\nbody"));
  ASSERT_TRUE(mail);
  EXPECT_EQ(mail->subject, "Hello Kim Bcc: evil@example.com body , welcome to Latchkey");
  // The text part keeps the value as given.
  EXPECT_TRUE(contains(mail->text, "Hi Kim\r\nBcc: evil@example.com\r\n\r\nbody,"));
}

TEST(TemplateSet, OverrideReplacesOnePartAndKeepsTheOthers) {
  OverrideDir dir;
  dir.write("en/verify_email.txt.mustache", "Your code is {{code}}.\n{{product_name}}\n");
  dir.write(".git/HEAD", "ignored");
  dir.write("en/.verify_email.txt.mustache.swp", "ignored");
  const auto builtin = TemplateSet::load("", test_branding());
  const auto custom = TemplateSet::load(dir.path(), test_branding());

  auto before = builtin.render(kVerifyEmail, "en", "a@example.com", "", verify_values());
  auto after = custom.render(kVerifyEmail, "en", "a@example.com", "", verify_values());
  ASSERT_TRUE(before);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->text, "Your code is 123456.\nLatchkey\n");
  EXPECT_EQ(after->subject, before->subject);
  EXPECT_EQ(after->html, before->html);

  // Other locales and templates are untouched.
  auto ko_before = builtin.render(kVerifyEmail, "ko", "a@example.com", "", verify_values());
  auto ko_after = custom.render(kVerifyEmail, "ko", "a@example.com", "", verify_values());
  ASSERT_TRUE(ko_before);
  ASSERT_TRUE(ko_after);
  EXPECT_EQ(ko_after->text, ko_before->text);
}

TEST(TemplateSet, EmptyHtmlOverrideMakesTextOnlyMail) {
  OverrideDir dir;
  dir.write("ko/password_reset.html.mustache", "\n");
  const auto set = TemplateSet::load(dir.path(), test_branding());
  auto mail = set.render(kPasswordReset, "ko", "a@example.com", "",
                         {{"link", "https://x.example/r"}, {"expires_minutes", "30"}});
  ASSERT_TRUE(mail);
  EXPECT_TRUE(mail->html.empty());
  EXPECT_TRUE(contains(mail->text, "이 링크는 30분 동안 유효합니다."));
}

TEST(TemplateSet, BrokenOverridesFailAtLoad) {
  {
    OverrideDir dir;
    dir.write("en/verify_email.html.mustache", "<p>{{#name}}Hi {{name}}</p>\n");
    expect_load_error(dir, "verify_email.html.mustache: Unclosed section \"name\"");
  }
  {
    OverrideDir dir;
    dir.write("ko/password_reset.txt.mustache", "line one\n{{link}\n");
    expect_load_error(dir, "password_reset.txt.mustache: Unclosed tag");
  }
  {
    OverrideDir dir;
    dir.write("fr/verify_email.txt.mustache", "Bonjour");
    expect_load_error(dir, "unknown locale \"fr\"");
  }
  {
    OverrideDir dir;
    dir.write("en/welcome.txt.mustache", "Welcome");
    expect_load_error(dir, "unknown template id \"welcome\"");
  }
  {
    OverrideDir dir;
    dir.write("en/verify_email.text.mustache", "wrong part name");
    expect_load_error(dir, "verify_email.text.mustache: expected files named");
  }
  {
    OverrideDir dir;
    dir.write("README.md", "notes");
    expect_load_error(dir, "README.md: expected only locale directories");
  }
  {
    OverrideDir dir;
    dir.write("en/verify_email.txt.mustache", "Open {{url}} now");
    expect_load_error(dir, "verify_email.txt.mustache: unknown variable \"url\" at line 1");
  }
  {
    OverrideDir dir;
    dir.write("en/password_changed.txt.mustache", "ok\n{{link}}\n");  // not a variable here
    expect_load_error(dir, "unknown variable \"link\" at line 2");
  }
  {
    OverrideDir dir;
    dir.write("en/verify_email.html.mustache", "{{> name}}");
    expect_load_error(dir, "partials");
  }
  {
    OverrideDir dir;
    dir.write("en/verify_email.subject.mustache", "  \n");
    expect_load_error(dir, "the subject is empty");
  }
  {
    OverrideDir dir;
    dir.write("en/verify_email.txt.mustache", "bad \xff byte {{link}}");
    expect_load_error(dir, "not valid UTF-8");
  }
}

TEST(TemplateSet, EmptyOverrideDirectoryIsFine) {
  OverrideDir dir;
  EXPECT_NO_THROW((void)TemplateSet::load(dir.path(), test_branding()));
}

TEST(TemplateSet, CustomDelimitersAndCommentsInOverrides) {
  OverrideDir dir;
  dir.write("en/verify_email.txt.mustache", "{{! a comment }}{{=<% %>=}}Code <% code %>, {{x}}\n");
  const auto set = TemplateSet::load(dir.path(), test_branding());
  auto mail = set.render(kVerifyEmail, "en", "a@example.com", "", verify_values());
  ASSERT_TRUE(mail);
  EXPECT_EQ(mail->text, "Code 123456, {{x}}\n");

  OverrideDir bad;
  bad.write("en/verify_email.txt.mustache", "{{=<% %>=}}Code <% kode %>\n");
  expect_load_error(bad, "unknown variable \"kode\"");
}

TEST(TemplateSet, BadConfigurationFailsAtLoad) {
  EXPECT_THROW((void)TemplateSet::load("/nonexistent/latchkey-templates", test_branding()),
               std::runtime_error);
  EXPECT_THROW((void)TemplateSet::load("", test_branding(), "fr"), std::runtime_error);
  Branding no_url = test_branding();
  no_url.public_url = "";
  EXPECT_THROW((void)TemplateSet::load("", no_url), std::runtime_error);
  Branding relative = test_branding();
  relative.public_url = "auth.example.com";
  EXPECT_THROW((void)TemplateSet::load("", relative), std::runtime_error);
  Branding no_name = test_branding();
  no_name.product_name = " ";
  EXPECT_THROW((void)TemplateSet::load("", no_name), std::runtime_error);
  Branding newline = test_branding();
  newline.product_name = "Latchkey\r\nBcc: x@example.com";
  EXPECT_THROW((void)TemplateSet::load("", newline), std::runtime_error);
}

TEST(TemplateSet, DefaultLocaleAndFallback) {
  const auto set = TemplateSet::load("", test_branding(), "ko-KR");
  EXPECT_EQ(set.default_locale(), "ko");
  auto fr = set.render(kVerifyEmail, "fr", "a@example.com", "", verify_values());
  ASSERT_TRUE(fr);
  EXPECT_EQ(fr->subject, "Latchkey 이메일 주소 확인");
  auto en_us = set.render(kVerifyEmail, "en-US", "a@example.com", "", verify_values());
  ASSERT_TRUE(en_us);
  EXPECT_EQ(en_us->subject, "Confirm your e-mail for Latchkey");
  auto empty = set.render(kVerifyEmail, "", "a@example.com", "", verify_values());
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->subject, "Latchkey 이메일 주소 확인");
}

TEST(TemplateSet, RenderErrors) {
  const auto set = TemplateSet::load("", test_branding());
  auto unknown = set.render("welcome", "en", "a@example.com", "", {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(unknown.error().field, "template_id");

  Values missing = verify_values();
  missing.erase("link");
  auto r1 = set.render(kVerifyEmail, "en", "a@example.com", "", missing);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, ErrorCode::kInvalidField);
  EXPECT_EQ(r1.error().field, "link");

  Values empty_code = verify_values();
  empty_code["code"] = "";
  auto r2 = set.render(kVerifyEmail, "en", "a@example.com", "", empty_code);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().field, "code");

  Values extra = verify_values();
  extra["expires_hour"] = "24";
  auto r3 = set.render(kVerifyEmail, "en", "a@example.com", "", extra);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().field, "expires_hour");

  Values not_number = verify_values();
  not_number["expires_hours"] = "a day";
  auto r4 = set.render(kVerifyEmail, "en", "a@example.com", "", not_number);
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.error().field, "expires_hours");

  auto r5 = set.render(kVerifyEmail, "en", "a@example.com", "", verify_values("bad \xc3("));
  ASSERT_FALSE(r5);
  EXPECT_EQ(r5.error().field, "name");

  Values branding_key = verify_values();
  branding_key["product_name"] = "Evil";
  auto r6 = set.render(kVerifyEmail, "en", "a@example.com", "", branding_key);
  ASSERT_FALSE(r6);
  EXPECT_EQ(r6.error().field, "product_name");
}

TEST(NegotiateLocale, Cases) {
  const std::vector<std::string> supported{"en", "ko"};
  EXPECT_EQ(negotiate_locale("ko-KR,ko;q=0.9,en;q=0.8", supported, "en"), "ko");
  EXPECT_EQ(negotiate_locale("en-US", supported, "ko"), "en");
  EXPECT_EQ(negotiate_locale("en-US,en;q=0.9", supported, "ko"), "en");
  EXPECT_EQ(negotiate_locale("fr", supported, "en"), "en");
  EXPECT_EQ(negotiate_locale("fr", supported, "ko"), "ko");
  EXPECT_EQ(negotiate_locale("ko;q=0, en", supported, "ko"), "en");
  EXPECT_EQ(negotiate_locale("", supported, "en"), "en");
  EXPECT_EQ(negotiate_locale("*", supported, "ko"), "ko");
  EXPECT_EQ(negotiate_locale("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", supported, "ko"),
            "en");
  EXPECT_EQ(negotiate_locale("en;q=0.5, ko;q=0.8", supported, "en"), "ko");
  EXPECT_EQ(negotiate_locale("en;q=0.8, ko;q=0.8", supported, "ko"), "en");  // header order
  EXPECT_EQ(negotiate_locale("KO-kr", supported, "en"), "ko");
  EXPECT_EQ(negotiate_locale("  ko ; q=1.0 ", supported, "en"), "ko");
  EXPECT_EQ(negotiate_locale("ko;q=0.000, en;q=0.001", supported, "ko"), "en");
  // Garbage: ignored entry by entry.
  EXPECT_EQ(negotiate_locale(";;,,,=,q=1", supported, "en"), "en");
  EXPECT_EQ(negotiate_locale("ko;q=2, en", supported, "ko"), "en");  // q out of range
  EXPECT_EQ(negotiate_locale("ko;q=abc, en;q=0.1", supported, "ko"), "en");
  EXPECT_EQ(negotiate_locale("<script>, ko", supported, "en"), "ko");
  EXPECT_EQ(negotiate_locale("toolongsubtag, en", supported, "ko"), "en");
  EXPECT_EQ(negotiate_locale(std::string(10000, ','), supported, "en"), "en");
  EXPECT_EQ(negotiate_locale("ko-\xed\x95\x9c, ko-", supported, "en"), "en");
  EXPECT_EQ(negotiate_locale("en", {}, "en"), "en");
}

TEST(NegotiateLocale, MoreSpecificRangeWins) {
  const std::vector<std::string> supported{"en", "ko", "zh-Hant"};
  EXPECT_EQ(negotiate_locale("zh, en;q=0.5", supported, "ko"), "zh-Hant");
  EXPECT_EQ(negotiate_locale("ko-KR;q=0.9, ko;q=0, en;q=0.1", supported, "ko"), "en");
}

TEST(SupportedLocale, Cases) {
  const std::vector<std::string> supported{"en", "ko"};
  EXPECT_EQ(supported_locale("ko", supported), "ko");
  EXPECT_EQ(supported_locale("KO-kr", supported), "ko");
  EXPECT_EQ(supported_locale("ko_KR", supported), "ko");
  EXPECT_EQ(supported_locale(" en-GB ", supported), "en");
  EXPECT_EQ(supported_locale("fr", supported), "");
  EXPECT_EQ(supported_locale("", supported), "");
  EXPECT_EQ(supported_locale("*", supported), "");
  EXPECT_EQ(supported_locale("k", supported), "");
  EXPECT_EQ(supported_locale("kor", supported), "");
  EXPECT_EQ(supported_locale("ko-", supported), "");
  EXPECT_EQ(supported_locale("1ko", supported), "");
}

}  // namespace
}  // namespace latchkey::courier
