#pragma once
// The notes server's configuration: flags, each with an environment variable (NOTES_*), flags
// winning. Validated once at start-up; a bad value fails with a message naming the flag.

#include <chrono>
#include <optional>
#include <string>

namespace notes {

struct Config {
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8081;
  std::string latchkey_url{};  // base URL of Latchkey as this server reaches it
  std::string jwks_url{};      // default <latchkey_url>/.well-known/jwks.json
  std::string check_url{};     // default <latchkey_url>/api/auth/check; empty: no check
  std::string issuer{};        // default latchkey_url
  std::string audience = "latchkey";
  std::string ca_file{};
  bool revocation_check = true;
  std::chrono::milliseconds check_cache_ttl{1000};
  std::chrono::seconds jwks_max_age{300};
  std::chrono::seconds jwks_min_refetch{30};
  std::chrono::milliseconds timeout{2000};
  std::chrono::seconds leeway{30};
  int io_threads = 1;
  int workers = 8;
  std::string log_level = "info";
  bool log_json = true;
};

struct ParsedConfig {
  std::optional<Config> config;  // nullopt: exit with exit_code (help, or an error)
  int exit_code = 0;
  std::string message;  // help text or the error, for the terminal
};

// argv[0] is the program name. Environment variables are read with getenv.
ParsedConfig parse_config(int argc, const char* const* argv);

// "127.0.0.1:8081", "[::1]:8081", "0.0.0.0:0" -> host and port; nullopt when malformed.
std::optional<std::pair<std::string, unsigned short>> parse_listen(const std::string& text);

}  // namespace notes
