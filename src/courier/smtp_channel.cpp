#include "courier/smtp_channel.hpp"

#include <curl/curl.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "common/random.hpp"
#include "courier/mime.hpp"

namespace latchkey::courier {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStr {
  char* p = nullptr;
  ~CurlStr() { curl_free(p); }
};

[[noreturn]] void bad(const std::string& msg) {
  throw std::invalid_argument(msg);
}

// Reads the URL with curl's own parser, so what we check is what curl will use.
// Returns true for smtps:// (implicit TLS).
bool check_url(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) throw std::runtime_error("curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    bad("smtp.url is not a valid URL (want smtp://host:port or smtps://host:port)");
  }
  CurlStr scheme, host, user, password;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0) != CURLUE_OK ||
      (std::strcmp(scheme.p, "smtp") != 0 && std::strcmp(scheme.p, "smtps") != 0)) {
    bad("smtp.url must start with smtp:// or smtps://");
  }
  if (curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK || *host.p == '\0') {
    bad("smtp.url has no host");
  }
  if (curl_url_get(u.get(), CURLUPART_USER, &user.p, 0) == CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_PASSWORD, &password.p, 0) == CURLUE_OK) {
    bad("smtp.url must not contain credentials: use smtp.user and smtp.password");
  }
  return std::strcmp(scheme.p, "smtps") == 0;
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

// Failures a later attempt may fix. Anything else without an SMTP reply code is a local or
// configuration problem (bad option, unsupported protocol, unreadable CA file): permanent.
bool transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:  // STARTTLS required but not offered (or refused)
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_AGAIN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return true;
    default:
      return false;
  }
}

Error failure(ErrorCode code, std::string message, CURLcode rc, const char* errbuf, long reply) {
  std::string detail = "smtp: curl error " + std::to_string(static_cast<int>(rc)) + " (" +
                       curl_easy_strerror(rc) + ")";
  if (*errbuf) detail += ": " + std::string(errbuf);
  detail += "; smtp reply code " + std::to_string(reply);
  return Error{code, std::move(message), {}, {}, std::move(detail)};
}

}  // namespace

SmtpChannel::SmtpChannel(SmtpOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  global_init();
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
  if (Status s = check_address(email.to); !s.ok()) {
    Error e = s.error();
    e.field = "to";
    e.log_detail = "smtp: recipient rejected before sending: " + e.message;
    return e;
  }

  OsRandom random;
  const MimeHeaders headers{options_.from_address, options_.from_name,
                            message_id_for(message_id, options_.from_address), clock_.now(),
                            "=_lk_" + random.token(24)};
  const std::string message = build_mime(email, headers);
  Upload upload{message};

  std::unique_ptr<CURL, EasyDeleter> h(curl_easy_init());
  if (!h) return Error::internal("smtp: curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(
      curl_slist_append(nullptr, ("<" + email.to + ">").c_str()));
  if (!rcpt) return Error::internal("smtp: curl_slist_append failed");
  const std::string mail_from = "<" + options_.from_address + ">";

  char errbuf[CURL_ERROR_SIZE] = {};
  CURLcode rc = CURLE_OK;
  const auto set = [&](CURLoption opt, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(h.get(), opt, value);
  };
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_URL, options_.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // Security invariant: the peer certificate and host name are always verified.
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
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
  if (rc != CURLE_OK) {
    return failure(ErrorCode::kInternal, "e-mail delivery failed", rc, errbuf, 0);
  }

  rc = curl_easy_perform(h.get());
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
  if (transient(rc)) {
    return failure(ErrorCode::kUnavailable, "mail server is unavailable", rc, errbuf, reply);
  }
  return failure(ErrorCode::kInternal, "e-mail delivery failed", rc, errbuf, reply);
}

}  // namespace latchkey::courier
