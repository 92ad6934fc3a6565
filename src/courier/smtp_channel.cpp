#include "courier/smtp_channel.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "common/random.hpp"
#include "courier/curl_support.hpp"
#include "courier/mime.hpp"

namespace latchkey::courier {
namespace {

[[noreturn]] void bad(const std::string& msg) {
  throw std::invalid_argument(msg);
}

// Reads the URL with curl's own parser (parse_url), so what we check is what curl will use.
// Only the scheme, host and credentials matter here: the HTTP rules of the SMS channels
// (https only, loopback exception) do not apply to SMTP.
// Returns true for smtps:// (implicit TLS).
bool check_url(const std::string& url) {
  const auto parts = parse_url(url);
  if (!parts) {
    bad("smtp.url is not a valid URL (want smtp://host:port or smtps://host:port): " +
        parts.error().log_detail);
  }
  if (parts->scheme != "smtp" && parts->scheme != "smtps") {
    bad("smtp.url must start with smtp:// or smtps://");
  }
  if (parts->has_credentials) {
    bad("smtp.url must not contain credentials: use smtp.user and smtp.password");
  }
  return parts->scheme == "smtps";
}

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t nitems, void* userdata) {
  auto* up = static_cast<Upload*>(userdata);
  const std::size_t n = std::min(size * nitems, up->data.size() - up->pos);
  std::memcpy(buffer, up->data.data() + up->pos, n);
  up->pos += n;
  return n;
}

Error failure(ErrorCode code, std::string message, CURLcode rc, const char* errbuf, long reply) {
  return Error{
      code,
      std::move(message),
      {},
      {},
      "smtp: " + curl_error_detail(rc, errbuf) + "; smtp reply code " + std::to_string(reply)};
}

}  // namespace

SmtpChannel::SmtpChannel(SmtpOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  init_curl_once();
  implicit_tls_ = check_url(options_.url);
  const auto& st = options_.starttls;
  if (st != "required" && st != "opportunistic" && st != "off") {
    bad("smtp.starttls must be required, opportunistic or off");
  }
  if (!options_.password.empty() && options_.user.empty()) {
    bad("smtp.password is set but smtp.user is empty");
  }
  if (!implicit_tls_ && st == "off" && !options_.user.empty()) {
    bad("smtp.starttls = off would send smtp.password in clear text: use required or smtps://");
  }
  if (!check_address(options_.from_address).ok()) {
    bad("smtp.from_address is not a valid e-mail address");
  }
  if (options_.connect_timeout.count() <= 0 || options_.timeout.count() <= 0) {
    bad("smtp.connect_timeout and smtp.timeout must be positive");
  }
  if (!options_.ca_file.empty() && !std::ifstream(options_.ca_file).good()) {
    bad("smtp.ca_file cannot be read: " + options_.ca_file);
  }
}

Status SmtpChannel::send(const Email& email, const std::string& message_id) {
  OsRandom random;
  const Result<std::string> composed =
      compose_email(email, message_id, options_.from_address, options_.from_name, clock_.now(),
                    random, "smtp: recipient rejected before sending");
  if (!composed) return composed.error();
  const std::string& message = *composed;
  Upload upload{message};

  CurlEasy h(curl_easy_init());
  if (!h) return Error::internal("smtp: curl_easy_init failed");
  CurlSlist rcpt(curl_slist_append(nullptr, ("<" + email.to + ">").c_str()));
  if (!rcpt) return Error::internal("smtp: curl_slist_append failed");
  const std::string mail_from = "<" + options_.from_address + ">";

  char errbuf[CURL_ERROR_SIZE] = {};
  CurlOptions set(h.get());
  // TLS is always verified (set_transfer_basics); only smtp:// and smtps:// are spoken.
  set_transfer_basics(set, options_.url, "smtp,smtps", errbuf);
  if (!options_.ca_file.empty()) set(CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!implicit_tls_) {
    const long level = options_.starttls == "required"        ? CURLUSESSL_ALL
                       : options_.starttls == "opportunistic" ? CURLUSESSL_TRY
                                                              : CURLUSESSL_NONE;
    set(CURLOPT_USE_SSL, level);
  }
  if (!options_.user.empty()) {
    set(CURLOPT_USERNAME, options_.user.c_str());
    set(CURLOPT_PASSWORD, options_.password.c_str());
  }
  set(CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout.count()));
  set(CURLOPT_TIMEOUT, static_cast<long>(options_.timeout.count()));
  set(CURLOPT_MAIL_FROM, mail_from.c_str());
  set(CURLOPT_MAIL_RCPT, rcpt.get());
  set(CURLOPT_UPLOAD, 1L);
  set(CURLOPT_READFUNCTION, &read_upload);
  set(CURLOPT_READDATA, &upload);
  set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  if (set.code() != CURLE_OK) {
    return failure(ErrorCode::kInternal, "e-mail delivery failed", set.code(), errbuf, 0);
  }

  const CURLcode rc = curl_easy_perform(h.get());
  long reply = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &reply);
  if (rc == CURLE_OK) return {};
  // The server's own verdict decides when there is one: 4xx try again, 5xx never.
  if (reply >= 400 && reply < 500) {
    return failure(ErrorCode::kUnavailable, "mail server is unavailable", rc, errbuf, reply);
  }
  if (reply >= 500 && reply < 600) {
    return failure(ErrorCode::kInternal, "mail server refused the message", rc, errbuf, reply);
  }
  // No reply code decided it: a transport failure a retry may fix, else a local or
  // configuration problem (bad option, unsupported protocol, unreadable CA file).
  if (transient_curl_error(rc)) {
    return failure(ErrorCode::kUnavailable, "mail server is unavailable", rc, errbuf, reply);
  }
  return failure(ErrorCode::kInternal, "e-mail delivery failed", rc, errbuf, reply);
}

}  // namespace latchkey::courier
