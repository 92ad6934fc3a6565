#include "http_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "app/cli.hpp"
#include "config/config.hpp"
#include "invariant.hpp"

namespace latchkey::fuzz {
namespace {

constexpr const char* kAdminEmail = "operator@fuzz.example";
constexpr const char* kAdminPassword = "Fuzzing-Admin-Passphrase-7391!";

std::string make_workdir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "latchkey-fuzz.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::filesystem::path dir(tmpl);
  std::filesystem::create_directories(dir / "web" / "assets");
  std::ofstream(dir / "web" / "index.html") << "<!doctype html><title>app</title>";
  std::ofstream(dir / "web" / "assets" / "app.js") << "console.log('app');";
  std::ofstream(dir / "secret.txt") << "outside the web root";
  return tmpl;
}

void set_environment(const std::string& dir) {
  const std::pair<const char*, std::string> vars[] = {
      {"LATCHKEY_DATABASE_URL", "sqlite://" + dir + "/fuzz.db"},
      {"LATCHKEY_KEYS_MASTER_KEY", std::string(64, 'a')},
      {"LATCHKEY_KEYS_ALGORITHM", "EdDSA"},
      {"LATCHKEY_SERVER_WEB_ROOT", dir + "/web"},
      {"LATCHKEY_SERVER_PUBLIC_URL", "http://localhost:8080"},
      {"LATCHKEY_SERVER_WORKER_THREADS", "2"},
      {"LATCHKEY_MAIL_LOG_DIR", dir + "/mail"},
      {"LATCHKEY_SMS_LOG_DIR", dir + "/sms"},
      {"LATCHKEY_PASSWORD_ARGON2_MEMORY_KIB", "8"},
      {"LATCHKEY_PASSWORD_ARGON2_ITERATIONS", "1"},
      {"LATCHKEY_SIGNUP_REQUIRE_EMAIL_VERIFICATION", "false"},
      {"LATCHKEY_SIGNUP_PHONE_ENABLED", "true"},
      {"LATCHKEY_SECURITY_COOKIE_SECURE", "false"},
      {"LATCHKEY_SECURITY_LOGIN_FREE_ATTEMPTS", "1000"},
      {"LATCHKEY_SECURITY_LOGIN_IP_FREE_ATTEMPTS", "100000"},
      {"LATCHKEY_LOG_LEVEL", "error"},
  };
  for (const auto& [name, value] : vars) ::setenv(name, value.c_str(), 1);
}

// `latchkey user create --admin --password-stdin`, in process (it also sets up logging).
void create_admin() {
  std::istringstream password(std::string(kAdminPassword) + "\n");
  auto* saved = std::cin.rdbuf(password.rdbuf());
  const char* argv[] = {"latchkey",  "user",    "create",           "--email",
                        kAdminEmail, "--admin", "--password-stdin", nullptr};
  std::ostringstream out;
  auto* saved_out = std::cout.rdbuf(out.rdbuf());
  const int rc = app::run_cli(7, const_cast<char**>(argv));
  std::cout.rdbuf(saved_out);
  std::cin.rdbuf(saved);
  if (rc != 0) throw std::runtime_error("fuzz setup: user create failed: " + out.str());
}

http::Request json_request(http::Verb verb, std::string target, const nlohmann::json& body) {
  http::Request req{verb, target, 11};
  req.set(http::Field::host, "localhost:8080");
  req.set(http::Field::content_type, "application/json");
  req.body() = body.dump();
  req.prepare_payload();
  return req;
}

}  // namespace

Application& application() {
  static Application* app = [] {
    auto* a = new Application();  // lives until exit
    const std::string dir = make_workdir();
    set_environment(dir);
    create_admin();
    const config::Config config = config::load({std::nullopt, config::process_environment(), {}});
    static std::promise<void> stop;
    std::promise<http::Pipeline*> ready;
    auto pipeline = ready.get_future();
    static std::thread runner([config, &ready] {
      app::with_application(config, [&ready](http::Pipeline& p) {
        ready.set_value(&p);
        stop.get_future().wait();  // every service stays alive until exit
        return 0;
      });
    });
    // At exit, stop the application (workers, mail dispatcher, housekeeping) before the
    // libraries' own static objects go away under its threads.
    std::atexit([] {
      stop.set_value();
      runner.join();
    });
    a->pipeline_ = pipeline.get();
    a->login();
    return a;
  }();
  return *app;
}

http::Response Application::send(http::Request request) {
  std::promise<http::Response> answer;
  auto response = answer.get_future();
  pipeline_->handle(std::move(request), "127.0.0.1",
                    [&answer](http::Response&& res) { answer.set_value(std::move(res)); });
  return response.get();
}

http::Response Application::reject(const Error& error) {
  return pipeline_->reject(error, "127.0.0.1");
}

void Application::login() {
  auto res = send(json_request(http::Verb::post, "/api/auth/login",
                               {{"email", kAdminEmail}, {"password", kAdminPassword}}));
  if (res.result() != http::HttpStatus::ok) {
    bearer_.clear();  // the fuzzer ended the admin's account: admin routes answer 401 from now on
    return;
  }
  bearer_ = "Bearer " + nlohmann::json::parse(res.body()).at("access_token").get<std::string>();
  if (admin_id_.empty()) {
    http::Request me{http::Verb::get, "/api/me", 11};
    me.set(http::Field::authorization, bearer_);
    admin_id_ = nlohmann::json::parse(send(std::move(me)).body()).at("id").get<std::string>();
  }
}

void check_response(std::string_view what, const http::Response& res) {
  const unsigned status = res.result_int();
  if (status < 100 || status > 599) fail(what, "status out of range");
  if (status >= 500 && status != 503) fail(what, "server error " + std::to_string(status));
  if (status == 503 && res[http::Field::retry_after].empty()) fail(what, "503 without Retry-After");
  for (const auto& field : res) {
    for (char c : field.value()) {
      if (c == '\r' || c == '\n' || c == '\0') {
        fail(what, "control character in header " + std::string(field.name_string()));
      }
    }
  }
  if (status >= 400 && status != 404 && status != 405 && !res.body().empty()) {
    if (res[http::Field::content_type] != "application/problem+json") {
      fail(what, "error without problem+json: " + std::string(res[http::Field::content_type]));
    }
    const auto body = nlohmann::json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("code") || !body["code"].is_string()) {
      fail(what, "problem without code: " + res.body());
    }
  }
}

}  // namespace latchkey::fuzz
