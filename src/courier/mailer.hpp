#pragma once
// Renders a transactional e-mail and queues it in the outbox. Call it inside the UnitOfWork of
// the change the mail is about, so that the change and its mail land together or not at all.
//
//   mailer.queue(courier::kVerifyEmail, user.locale, user.email, user.name,
//                {{"link", link}, {"code", code}, {"expires_hours", "24"}});

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

  // The supported locale that best matches an Accept-Language header, else the default.
  std::string negotiate(std::string_view accept_language) const;

 private:
  const TemplateSet& templates_;
  OutboxRepository& outbox_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace latchkey::courier
