#include "config.hpp"

#include <CLI/CLI.hpp>

#include <charconv>

namespace notes {

std::optional<std::pair<std::string, unsigned short>> parse_listen(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return std::nullopt;
  }
  return std::make_pair(host, static_cast<unsigned short>(value));
}

ParsedConfig parse_config(int argc, const char* const* argv) {
  CLI::App app{
      "latchkey-notes: an example API server that trusts Latchkey's access tokens.\n"
      "Every flag can also be set by the environment variable shown."};
  Config c;
  std::string listen = "127.0.0.1:8081";
  std::string revocation = "check";
  long long check_cache_ms = 1000;
  long long max_age = 300;
  long long min_refetch = 30;
  long long timeout_ms = 2000;
  long long leeway = 30;
  std::string log_format = "json";

  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->envname("NOTES_LISTEN")
      ->capture_default_str();
  app.add_option("--latchkey-url", c.latchkey_url,
                 "Latchkey's base URL as this server reaches it, e.g. https://id.example.com")
      ->envname("NOTES_LATCHKEY_URL")
      ->required();
  app.add_option("--jwks-url", c.jwks_url, "default: <latchkey-url>/.well-known/jwks.json")
      ->envname("NOTES_JWKS_URL");
  app.add_option("--check-url", c.check_url, "default: <latchkey-url>/api/auth/check")
      ->envname("NOTES_CHECK_URL");
  app.add_option("--issuer", c.issuer, "the iss of Latchkey's tokens; default: <latchkey-url>")
      ->envname("NOTES_ISSUER");
  app.add_option("--audience", c.audience, "the aud of Latchkey's tokens (its tokens.audience)")
      ->envname("NOTES_AUDIENCE")
      ->capture_default_str();
  app.add_option("--ca-file", c.ca_file, "PEM CA bundle to trust for https:// to Latchkey")
      ->envname("NOTES_CA_FILE");
  app.add_option("--revocation-check", revocation,
                 "check: ask /api/auth/check (answers cached --check-cache-ms); none: trust tokens "
                 "until they expire")
      ->envname("NOTES_REVOCATION_CHECK")
      ->check(CLI::IsMember({"check", "none"}))
      ->capture_default_str();
  app.add_option("--check-cache-ms", check_cache_ms,
                 "how long an 'active' answer of /api/auth/check is reused (0: ask every time)")
      ->envname("NOTES_CHECK_CACHE_MS")
      ->check(CLI::Range(0LL, 60'000LL))
      ->capture_default_str();
  app.add_option("--jwks-max-age", max_age, "seconds before cached keys are refetched")
      ->envname("NOTES_JWKS_MAX_AGE")
      ->check(CLI::Range(1LL, 86'400LL))
      ->capture_default_str();
  app.add_option("--jwks-min-refetch", min_refetch,
                 "at most one JWKS fetch per this many seconds (unknown kids, failures)")
      ->envname("NOTES_JWKS_MIN_REFETCH")
      ->check(CLI::Range(1LL, 3'600LL))
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "timeout of each call to Latchkey")
      ->envname("NOTES_TIMEOUT_MS")
      ->check(CLI::Range(100LL, 60'000LL))
      ->capture_default_str();
  app.add_option("--leeway", leeway, "seconds of clock skew allowed on exp/nbf/iat")
      ->envname("NOTES_LEEWAY")
      ->check(CLI::Range(0LL, 300LL))
      ->capture_default_str();
  app.add_option("--io-threads", c.io_threads, "network threads")
      ->envname("NOTES_IO_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--workers", c.workers, "request handler threads")
      ->envname("NOTES_WORKERS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn or error")
      ->envname("NOTES_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "json or text")
      ->envname("NOTES_LOG_FORMAT")
      ->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str();

  ParsedConfig out;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream text;
    out.exit_code = app.exit(e, text, text);
    out.message = text.str();
    return out;
  }
  auto fail = [&](const std::string& message) {
    out.exit_code = 2;
    out.message = message + "\n";
    return out;
  };
  auto endpoint = parse_listen(listen);
  if (!endpoint) return fail("--listen: expected HOST:PORT, got '" + listen + "'");
  c.listen_host = endpoint->first;
  c.listen_port = endpoint->second;
  while (!c.latchkey_url.empty() && c.latchkey_url.back() == '/') c.latchkey_url.pop_back();
  if (c.latchkey_url.rfind("http://", 0) != 0 && c.latchkey_url.rfind("https://", 0) != 0) {
    return fail("--latchkey-url: must start with http:// or https://");
  }
  if (c.jwks_url.empty()) c.jwks_url = c.latchkey_url + "/.well-known/jwks.json";
  c.revocation_check = revocation == "check";
  if (c.check_url.empty() && c.revocation_check) c.check_url = c.latchkey_url + "/api/auth/check";
  if (!c.revocation_check) c.check_url.clear();
  if (c.issuer.empty()) c.issuer = c.latchkey_url;
  if (c.audience.empty()) return fail("--audience: must not be empty");
  c.check_cache_ttl = std::chrono::milliseconds(check_cache_ms);
  c.jwks_max_age = std::chrono::seconds(max_age);
  c.jwks_min_refetch = std::chrono::seconds(min_refetch);
  c.timeout = std::chrono::milliseconds(timeout_ms);
  c.leeway = std::chrono::seconds(leeway);
  c.log_json = log_format == "json";
  out.config = std::move(c);
  return out;
}

}  // namespace notes
