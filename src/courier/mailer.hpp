#pragma once
// Renders a transactional e-mail and queues it in the outbox. Call it inside the UnitOfWork of
// the change the mail is about, so that the change and its mail land together or not at all.
//
//   mailer.queue(courier::kVerifyEmail, user.locale, user.email, user.name,
//                {{"link", link}, {"code", code}, {"expires_hours", "24"}});

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "courier/outbox.hpp"
#include "courier/templates.hpp"

namespace latchkey::courier {

class Mailer {
 public:
  Mailer(const TemplateSet& templates, OutboxRepository& outbox, const Clock& clock,
         Random& random);

  // `locale` may be empty or unsupported: the templates' default is used. Returns the outbox id.
  Result<std::string> queue(std::string_view template_id, std::string_view locale,
                            const std::string& to, const std::string& to_name,
                            const std::map<std::string, std::string>& values);

  // Queues a text message (already rendered: one-time codes are short and have no template
  // files). Returns the outbox id.
  Result<std::string> queue_sms(const std::string& to, std::string text, std::string template_id);

  // Called after each message is queued (the dispatcher's wake(), so mail goes out without
  // waiting for its next poll). Set once at start-up.
  void on_queued(std::function<void()> hook) { on_queued_ = std::move(hook); }

  // The supported locale that best matches an Accept-Language header, else the default.
  std::string negotiate(std::string_view accept_language) const;

 private:
  // Gives the message its id and due time, queues it, and wakes the dispatcher.
  Result<std::string> enqueue(OutboxMessage m);

  const TemplateSet& templates_;
  OutboxRepository& outbox_;
  const Clock& clock_;
  Random& random_;
  std::function<void()> on_queued_;
};

}  // namespace latchkey::courier
