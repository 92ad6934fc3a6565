// latchkey-notes: a per-user notes API that trusts Latchkey's access tokens. main only wires the
// pieces together; see README.md.
#include <cstdio>
#include <exception>

#include "access.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "config.hpp"
#include "latchkey_client.hpp"
#include "notes.hpp"
#include "routes.hpp"
#include "server.hpp"
#include "tokens/verify.hpp"

int main(int argc, char** argv) {
  auto parsed = notes::parse_config(argc, argv);
  if (!parsed.config) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  const notes::Config& config = *parsed.config;
  latchkey::log::init(config.log_level, config.log_json);
  try {
    latchkey::SystemClock clock;
    latchkey::OsRandom random;
    notes::LatchkeyClient client({.jwks_url = config.jwks_url,
                                  .check_url = config.check_url,
                                  .ca_file = config.ca_file,
                                  .timeout = config.timeout});
    latchkey::tokens::JwksCache keys(
        [&client] { return client.fetch_jwks(); }, clock,
        {.max_age = config.jwks_max_age, .min_refetch_interval = config.jwks_min_refetch});
    std::optional<notes::RevocationChecker> revocations;
    if (config.revocation_check) {
      revocations.emplace([&client](std::string_view token) { return client.check(token); }, clock,
                          notes::RevocationOptions{.ttl = config.check_cache_ttl});
    }
    const notes::Authenticator auth(
        keys, revocations ? &*revocations : nullptr,
        {.issuer = config.issuer, .audience = config.audience, .leeway = config.leeway});
    notes::NoteBook book(clock, random, {});
    // /readyz also fetches the keys when they are missing (rate-limited), so a probe loads them.
    notes::RouteDeps deps{auth, book, [&keys] { return keys.prefetch(); }};

    // Warm the key cache; Latchkey may start after us, so a failure is only a warning (requests
    // get 503 until a later fetch works, /readyz says not ready).
    if (auto st = keys.refresh(); !st) {
      latchkey::log::warn("JWKS not loaded yet",
                          {{"url", config.jwks_url}, {"error", keys.state().last_error}});
    }

    notes::Server server({.address = config.listen_host,
                          .port = config.listen_port,
                          .io_threads = config.io_threads,
                          .workers = config.workers},
                         [&deps](const notes::Request& req) { return notes::handle(req, deps); });
    server.bind();
    server.run([&] {
      latchkey::log::info("listening", {{"address", config.listen_host},
                                        {"port", server.port()},
                                        {"issuer", config.issuer},
                                        {"audience", config.audience},
                                        {"revocation_check", config.revocation_check}});
    });
    latchkey::log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    latchkey::log::error("start-up failed", {{"error", e.what()}});
    return 1;
  }
}
