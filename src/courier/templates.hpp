#pragma once
// Transactional e-mail templates (mustache, kainjow): each template has a subject, a text/plain
// part and a text/html part, in every supported locale. Built-in texts are compiled into the
// binary; an operator may replace any part from an override directory.
//
//   auto set = TemplateSet::load(cfg.templates_dir, {"Latchkey", "help@example.com",
//                                                    "https://auth.example.com"});
//   Result<Email> mail = set.render(kVerifyEmail, "ko", "kim@example.com", "김민수",
//                                   {{"name", "김민수"}, {"link", url}, {"code", "123456"},
//                                    {"expires_hours", "24"}});
//
// Escaping: in the HTML part every value (template variables and branding) is HTML-escaped,
// even where a template writes {{{var}}} or {{&var}}; in the subject and text parts nothing is
// escaped. The rendered subject is one line (control characters become spaces).
//
// A TemplateSet is immutable after load(): render() may be called from any thread.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "courier/message.hpp"

namespace latchkey::courier {

// Template ids and the variables each takes (besides the branding values). `name` may be empty
// or absent (the greeting then has no name); every other variable is required and non-empty.
// Counts (expires_hours, expires_minutes) are decimal integers; templates also see
// {{#expires_hours_is_one}} for singular/plural wording.
// Choices (change) take one value from a fixed list; templates also see one boolean section per
// value, {{#change_is_<value>}}, of which exactly one is true, so that each value gets its own
// wording without the caller's string reaching the text. Any other value is refused.

// name, link, code, expires_hours
inline constexpr std::string_view kVerifyEmail = "verify_email";
// Sent to the new address: name, link, code, new_email, expires_hours
inline constexpr std::string_view kEmailChangeVerify = "email_change_verify";
// Sent to the old address when a change is requested: name, new_email
inline constexpr std::string_view kEmailChangeNotice = "email_change_notice";
// name, link, expires_minutes
inline constexpr std::string_view kPasswordReset = "password_reset";
// name, time (pre-formatted, e.g. "2025-03-01 14:05 UTC")
inline constexpr std::string_view kPasswordChanged = "password_changed";
// Sent when a signed-in user changes a security setting: name, change (one of
// security_change::kAll), time (pre-formatted, e.g. "2026-12-01 06:40 UTC")
inline constexpr std::string_view kSecurityNotice = "security_notice";

// The values of security_notice's `change`.
namespace security_change {
inline constexpr std::string_view kTotpEnabled = "totp_enabled";
inline constexpr std::string_view kTotpDisabled = "totp_disabled";
inline constexpr std::string_view kRecoveryCodesRegenerated = "recovery_codes_regenerated";
inline constexpr std::string_view kRecoveryCodeUsed = "recovery_code_used";
inline constexpr std::string_view kPhoneVerified = "phone_verified";
inline constexpr std::string_view kPhoneRemoved = "phone_removed";
inline constexpr std::string_view kAll[] = {
    kTotpEnabled,      kTotpDisabled,  kRecoveryCodesRegenerated,
    kRecoveryCodeUsed, kPhoneVerified, kPhoneRemoved};
}  // namespace security_change

// Values available in every template as {{product_name}}, {{support_email}}, {{public_url}}.
// An empty support_email is absent: templates show their contact line inside
// {{#support_email}}...{{/support_email}}.
struct Branding {
  std::string product_name = "Latchkey";
  std::string support_email;
  std::string public_url;  // absolute http(s) URL of the web app; a trailing '/' is dropped
};

class TemplateSet {
 public:
  // Built-in templates, then overrides from `override_dir` when it is non-empty:
  //   <dir>/<locale>/<template_id>.subject.mustache | .txt.mustache | .html.mustache
  // Each file present replaces that one part (an empty .html.mustache makes the mail text-only).
  // Files and directories whose names start with '.' are ignored.
  //
  // Throws std::runtime_error naming the file or setting (start-up failure) when: the directory
  // is missing; it holds an unknown locale, an unknown template id or part, or any other file;
  // a template does not parse, is not UTF-8, uses partials ({{> x}}) or a variable that the
  // template does not have; a subject or text template is blank; branding.product_name is empty
  // or branding.public_url is not an absolute http(s) URL; default_locale is not supported.
  static TemplateSet load(const std::string& override_dir, Branding branding,
                          std::string default_locale = "en");

  // Renders template `id` in `locale` (a tag such as "ko-KR"; an unsupported or empty one falls
  // back to the default locale). `values` are the template variables. Errors (kInvalidField,
  // with `field` set): unknown id (field "template_id"); a missing, unknown, non-UTF-8 or
  // malformed variable, or a choice outside its list (field = the variable name).
  Result<Email> render(std::string_view id, std::string_view locale, std::string to,
                       std::string to_name, const std::map<std::string, std::string>& values) const;

  // Supported locales, e.g. {"en", "ko"}.
  std::vector<std::string> locales() const;
  const std::string& default_locale() const { return default_locale_; }

  // Template ids, sorted.
  std::vector<std::string> template_ids() const;

 private:
  struct Parts {
    std::string subject;
    std::string text;
    std::string html;  // empty: a text-only mail
  };
  struct Template {
    std::vector<std::string> variables;  // besides branding
    std::map<std::string, Parts, std::less<>> by_locale;
  };

  TemplateSet() = default;

  Branding branding_;
  std::string default_locale_;
  std::map<std::string, Template, std::less<>> templates_;
};

// Picks the best supported locale from an Accept-Language header value (RFC 9110: q-values
// honoured, q=0 excludes, ties keep header order; "ko-KR" matches "ko"; "*" and malformed
// entries are ignored), else `fallback`.
//   negotiate_locale("ko-KR,ko;q=0.9,en;q=0.8", {"en", "ko"}, "en") == "ko"
std::string negotiate_locale(std::string_view accept_language,
                             const std::vector<std::string>& supported, std::string_view fallback);

// Normalises a stored or user-given locale tag ("ko", "KO-kr", "ko_KR") to the supported locale
// it names, or "" when it names none (or is malformed).
std::string supported_locale(std::string_view tag, const std::vector<std::string>& supported);

}  // namespace latchkey::courier
