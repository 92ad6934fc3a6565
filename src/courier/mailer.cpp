#include "courier/mailer.hpp"

#include "common/ids.hpp"

namespace latchkey::courier {

Mailer::Mailer(const TemplateSet& templates, OutboxRepository& outbox, const Clock& clock,
               Random& random)
    : templates_(templates), outbox_(outbox), clock_(clock), random_(random) {}

Result<std::string> Mailer::queue(std::string_view template_id, std::string_view locale,
                                  const std::string& to, const std::string& to_name,
                                  const std::map<std::string, std::string>& values) {
  // Accounts made by SMS sign-up have a placeholder address under the reserved .invalid TLD
  // (RFC 2606): there is nobody to mail.
  if (to.ends_with(".invalid")) return std::string();
  std::map<std::string, std::string> vars = values;
  if (!vars.contains("name")) vars["name"] = to_name;
  auto email = templates_.render(template_id, locale, to, to_name, vars);
  if (!email) {
    // A template and its caller disagree: a bug, not the client's fault.
    return Error::internal("mail template " + std::string(template_id) + ": " +
                           email.error().message + " (" + email.error().field + ")");
  }
  OutboxMessage m;
  m.email = std::move(*email);
  return enqueue(std::move(m));
}

Result<std::string> Mailer::queue_sms(const std::string& to, std::string text,
                                      std::string template_id) {
  OutboxMessage m;
  m.channel = std::string(kChannelSms);
  m.sms = {to, std::move(text), std::move(template_id)};
  return enqueue(std::move(m));
}

Result<std::string> Mailer::enqueue(OutboxMessage m) {
  m.id = new_uuid_v7(clock_, random_);
  m.status = OutboxStatus::kQueued;
  m.created_at = m.next_attempt_at = clock_.now();
  if (auto st = outbox_.enqueue(m); !st) return st.error();
  if (on_queued_) on_queued_();
  return m.id;
}

std::string Mailer::negotiate(std::string_view accept_language) const {
  return negotiate_locale(accept_language, templates_.locales(), templates_.default_locale());
}

}  // namespace latchkey::courier
