#include "flows/social/social_flow.hpp"

#include <gtest/gtest.h>

#include "common/encoding.hpp"
#include "common/ids.hpp"
#include "kv/memory_key_value.hpp"
#include "testing/fakes.hpp"
#include "testing/social_fakes.hpp"

namespace latchkey::flows {
namespace {

using namespace std::chrono_literals;

constexpr const char* kReturn = "https://app.example.com/home";

// The flow over a GitHub-kind provider whose endpoints answer from a scripted network.
class SocialFlowTest : public ::testing::Test {
 protected:
  SocialFlowTest()
      : kv_(clock_),
        revocations_(kv_, 660s, clock_),
        sessions_(session_repo_, users_, uow_, minter_, revocations_, audit_, clock_, random_, {}),
        github_({"github",
                 "github",
                 "",
                 "cid",
                 "sec",
                 "",
                 {},
                 "https://gh.test/authorize",
                 "https://gh.test/token",
                 "https://gh.test/user"},
                http_, clock_),
        naver_({"naver",
                "naver",
                "",
                "cid",
                "sec",
                "",
                {},
                "https://nv.test/authorize",
                "https://nv.test/token",
                "https://nv.test/me"},
               http_, clock_) {
    http_.on("https://gh.test/token", 200, R"({"access_token":"gho_1"})");
    github_user(42, "octo@example.com", true);
  }

  SocialFlow make(bool signup = true, int ip_cap = 300) {
    return SocialFlow(
        {&github_, &naver_}, identities_, users_, uow_, kv_, sessions_, nullptr, audit_, clock_,
        random_,
        {"https://auth.example.com", {"https://app.example.com/"}, signup, true, 600s, ip_cap});
  }

  void github_user(int id, const std::string& email, bool verified) {
    http_.on("https://gh.test/user", 200, nlohmann::json{{"id", id}, {"login", "octo"}}.dump());
    http_.on("https://gh.test/user/emails", 200,
             nlohmann::json::array({{{"email", email}, {"verified", verified}, {"primary", true}}})
                 .dump());
  }

  std::string add_user(const std::string& email, bool verified, std::string hash = "") {
    identity::User u;
    u.id = new_uuid_v7(clock_, random_);
    u.email = email;
    u.state = identity::AccountState::kActive;
    u.email_verified = verified;
    u.password_hash = std::move(hash);
    u.roles = {"user"};
    EXPECT_TRUE(users_.create(u));
    return u.id;
  }

  // Starts on `flow` and returns {state, binding}.
  std::pair<std::string, std::string> begin(SocialFlow& flow,
                                            const std::string& provider = "github",
                                            const std::string& link_user = "") {
    auto s = flow.start(provider, kReturn, "198.51.100.7", link_user);
    EXPECT_TRUE(s) << s.error().message;
    auto query = parse_query(s->redirect_url.substr(s->redirect_url.find('?') + 1));
    return {query->at("state"), s->binding};
  }

  SocialOutcome finish(SocialFlow& flow, const std::string& state, const std::string& binding,
                       const std::string& provider = "github") {
    return flow.callback(provider, {{{"state", state}, {"code", "c1"}}, binding, {"1.2.3.4", "t"}});
  }

  static std::string error_of(const SocialOutcome& o) {
    return o.error ? std::string(code_id(o.error->code)) : "";
  }

  FakeClock clock_;
  SeededRandom random_;
  kv::MemoryKeyValue kv_;
  testing::FakeUserRepository users_;
  testing::FakeSessionRepository session_repo_;
  testing::FakeUnitOfWork uow_;
  testing::FakeMinter minter_;
  testing::RecordingAudit audit_;
  testing::FakeIdentityRepository identities_;
  testing::FakeHttpClient http_;
  sessions::RevocationList revocations_;
  sessions::SessionService sessions_;
  methods::social::Provider github_;
  methods::social::Provider naver_;
};

TEST_F(SocialFlowTest, FirstLoginCreatesAVerifiedUserAndSignsIn) {
  auto flow = make();
  auto [state, binding] = begin(flow);
  auto out = finish(flow, state, binding);
  ASSERT_FALSE(out.error) << error_of(out) << " " << out.error->log_detail;
  ASSERT_TRUE(out.tokens);
  EXPECT_EQ(out.return_to, kReturn);
  EXPECT_EQ(minter_.last.amr, std::vector<std::string>{"fed"});
  auto user = users_.find_by_email("octo@example.com");
  ASSERT_TRUE(*user);
  EXPECT_TRUE((*user)->email_verified);
  EXPECT_TRUE((*user)->password_hash.empty());
  ASSERT_EQ(identities_.rows.size(), 1u);
  EXPECT_EQ(identities_.rows[0].subject, "42");
  // Signing in again finds the same account.
  auto [s2, b2] = begin(flow);
  auto again = finish(flow, s2, b2);
  ASSERT_TRUE(again.tokens);
  EXPECT_EQ(users_.size(), 1u);
}

TEST_F(SocialFlowTest, StateIsSingleUseBoundToTheBrowserAndTheProvider) {
  auto flow = make();
  auto [state, binding] = begin(flow);
  EXPECT_EQ(error_of(finish(flow, state, "another-browser")), "social_state_invalid");
  EXPECT_EQ(error_of(finish(flow, state, binding, "naver")), "social_state_invalid");
  EXPECT_EQ(error_of(flow.callback("github", {{{"code", "c"}}, binding, {}})),
            "social_state_invalid");
  ASSERT_FALSE(finish(flow, state, binding).error);
  EXPECT_EQ(error_of(finish(flow, state, binding)), "social_state_invalid");  // replay
  // Expired.
  auto [s2, b2] = begin(flow);
  clock_.advance(601s);
  EXPECT_EQ(error_of(finish(flow, s2, b2)), "social_state_invalid");
}

TEST_F(SocialFlowTest, CancelAtTheProvider) {
  auto flow = make();
  auto [state, binding] = begin(flow);
  auto out = flow.callback("github", {{{"state", state}, {"error", "access_denied"}}, binding, {}});
  EXPECT_EQ(error_of(out), "social_cancelled");
  EXPECT_EQ(users_.size(), 0u);
}

TEST_F(SocialFlowTest, BadReturnToAndUnknownProvider) {
  auto flow = make();
  auto bad = flow.start("github", "https://app.example.com.evil.com/", "198.51.100.7");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidReturnTo);
  auto unknown = flow.start("myspace", kReturn, "198.51.100.7");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(SocialFlowTest, AutoLinksOnlyWhenBothSidesVerified) {
  const auto id = add_user("octo@example.com", /*verified=*/true);
  auto flow = make();
  auto [state, binding] = begin(flow);
  auto out = finish(flow, state, binding);
  ASSERT_TRUE(out.tokens) << error_of(out);
  EXPECT_EQ(out.tokens->user_id, id);
  ASSERT_EQ(identities_.rows.size(), 1u);
  EXPECT_EQ(identities_.rows[0].user_id, id);
  EXPECT_EQ(users_.size(), 1u);
}

TEST_F(SocialFlowTest, UnverifiedLocalAccountNeedsAnExplicitLink) {
  add_user("octo@example.com", /*verified=*/false);
  auto flow = make();
  auto [state, binding] = begin(flow);
  EXPECT_EQ(error_of(finish(flow, state, binding)), "social_link_required");
  EXPECT_TRUE(identities_.rows.empty());
  EXPECT_EQ(users_.size(), 1u);
}

TEST_F(SocialFlowTest, UnverifiedProviderAddressNeedsAnExplicitLink) {
  add_user("octo@example.com", /*verified=*/true);
  github_user(42, "octo@example.com", /*verified=*/false);
  auto flow = make();
  auto [state, binding] = begin(flow);
  EXPECT_EQ(error_of(finish(flow, state, binding)), "social_link_required");
  EXPECT_TRUE(identities_.rows.empty());
  EXPECT_EQ(users_.size(), 1u);
}

TEST_F(SocialFlowTest, UnverifiedProviderAddressIsNotGivenToANewAccount) {
  github_user(42, "someone@example.com", /*verified=*/false);
  auto flow = make();
  auto [state, binding] = begin(flow);
  ASSERT_TRUE(finish(flow, state, binding).tokens);
  EXPECT_FALSE(*users_.find_by_email("someone@example.com"));
  auto user = users_.find_by_id(identities_.rows.at(0).user_id);
  EXPECT_TRUE((*user)->email.ends_with("@social.invalid"));
  EXPECT_FALSE((*user)->email_verified);
}

TEST_F(SocialFlowTest, SignupClosed) {
  auto flow = make(/*signup=*/false);
  auto [state, binding] = begin(flow);
  EXPECT_EQ(error_of(finish(flow, state, binding)), "social_signup_closed");
  EXPECT_EQ(users_.size(), 0u);
  EXPECT_TRUE(identities_.rows.empty());
}

TEST_F(SocialFlowTest, LinkModeAttachesToTheUserAndRefusesAnotherUsersIdentity) {
  const auto alice = add_user("alice@example.com", true, "hash");
  const auto bob = add_user("bob@example.com", true, "hash");
  auto flow = make();
  auto [state, binding] = begin(flow, "github", alice);
  auto out = finish(flow, state, binding);
  EXPECT_TRUE(out.link);
  ASSERT_FALSE(out.error) << error_of(out);
  EXPECT_FALSE(out.tokens);
  ASSERT_EQ(identities_.rows.size(), 1u);
  EXPECT_EQ(identities_.rows[0].user_id, alice);
  auto [s2, b2] = begin(flow, "github", bob);
  auto taken = finish(flow, s2, b2);
  EXPECT_TRUE(taken.link);
  EXPECT_EQ(error_of(taken), "identity_already_linked");
  EXPECT_EQ(identities_.rows.size(), 1u);
  EXPECT_EQ(audit_.count("social.linked"), 1u);  // the refused second link is not a link
}

TEST_F(SocialFlowTest, UnlinkKeepsALoginMethodAndHidesOtherUsersIdentities) {
  auto flow = make();
  auto [state, binding] = begin(flow);
  ASSERT_TRUE(finish(flow, state, binding).tokens);
  const auto identity = identities_.rows.at(0);
  const auto other = add_user("other@example.com", true, "hash");
  auto idor = flow.unlink(other, identity.id, {});
  ASSERT_FALSE(idor);
  EXPECT_EQ(idor.error().code, ErrorCode::kNotFound);
  auto last = flow.unlink(identity.user_id, identity.id, {});
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, ErrorCode::kLastLoginMethod);
  ASSERT_TRUE(users_.set_password_hash(identity.user_id, "$argon2id$x", clock_.now()));
  EXPECT_EQ(audit_.count("social.unlinked"), 0u);  // refusals are not unlinks
  EXPECT_TRUE(flow.unlink(identity.user_id, identity.id, {}));
  EXPECT_TRUE(identities_.rows.empty());
  EXPECT_EQ(audit_.count("social.unlinked"), 1u);
}

TEST_F(SocialFlowTest, ProviderDownIsAProviderError) {
  http_.on("https://gh.test/token", 503, "");
  auto flow = make();
  auto [state, binding] = begin(flow);
  EXPECT_EQ(error_of(finish(flow, state, binding)), "social_provider_error");
  EXPECT_EQ(users_.size(), 0u);
}

TEST_F(SocialFlowTest, StartsPerClientIpAreCapped) {
  auto flow = make(true, /*ip_cap=*/2);
  ASSERT_TRUE(flow.start("github", kReturn, "203.0.113.9"));
  ASSERT_TRUE(flow.start("github", kReturn, "203.0.113.9"));
  auto third = flow.start("github", kReturn, "203.0.113.9");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kRateLimited);
  EXPECT_GT(third.error().retry_after.value_or(0), 0);
  EXPECT_TRUE(flow.start("github", kReturn, "203.0.113.10"));  // another client
  clock_.advance(3601s);
  EXPECT_TRUE(flow.start("github", kReturn, "203.0.113.9"));
}

TEST_F(SocialFlowTest, DisabledAccount) {
  const auto id = add_user("octo@example.com", true);
  ASSERT_TRUE(users_.set_state(id, identity::AccountState::kDisabled, clock_.now()));
  auto flow = make();
  auto [state, binding] = begin(flow);
  EXPECT_EQ(error_of(finish(flow, state, binding)), "account_disabled");
}

}  // namespace
}  // namespace latchkey::flows
