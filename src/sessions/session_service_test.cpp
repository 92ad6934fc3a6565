#include "sessions/session_service.hpp"

#include <gtest/gtest.h>

#include "kv/memory_key_value.hpp"
#include "sessions/successor_seal.hpp"
#include "testing/fakes.hpp"

namespace latchkey::sessions {
namespace {

using namespace std::chrono_literals;

class SessionServiceTest : public ::testing::Test {
 protected:
  SessionServiceTest()
      : kv_(clock_),
        revocations_(kv_, 660s, clock_),
        service_(repo_, users_, uow_, minter_, revocations_, audit_, clock_, random_,
                 SessionOptions{30 * 24h, 90 * 24h, 10s}) {
    user_.id = "0190aaaa-0000-7000-8000-000000000001";
    user_.email = "jane@example.com";
    user_.state = identity::AccountState::kActive;
    user_.roles = {"user"};
    EXPECT_TRUE(users_.create(user_));
  }

  FakeClock clock_;
  SeededRandom random_;
  testing::FakeUserRepository users_;
  testing::FakeSessionRepository repo_;
  testing::FakeUnitOfWork uow_;
  testing::FakeMinter minter_;
  testing::RecordingAudit audit_;
  kv::MemoryKeyValue kv_;
  RevocationList revocations_;
  SessionService service_;
  identity::User user_;
  ClientInfo client_{"203.0.113.7", "test-agent"};
};

TEST_F(SessionServiceTest, StartIssuesOpaque256BitRefreshToken) {
  auto t = service_.start(user_, {"pwd"}, client_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->refresh_token.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(minter_.last.amr, std::vector<std::string>{"pwd"});
  EXPECT_EQ(minter_.last.session_id, t->session_id);
  auto stored = repo_.find_refresh(sha256_hex(t->refresh_token));
  ASSERT_TRUE(stored && *stored);  // stored only by hash
  EXPECT_FALSE(repo_.find_refresh(t->refresh_token).value().has_value());
}

TEST_F(SessionServiceTest, StartRecordsItsEventWithTheSessionInOneUnitOfWork) {
  auto t = service_.start(user_, {"pwd"}, client_, sign_in_event(user_, client_, "password"));
  ASSERT_TRUE(t);
  EXPECT_EQ(uow_.runs, 1);
  ASSERT_EQ(audit_.count("login"), 1u);
  const auto& e = audit_.events.back();
  EXPECT_EQ(e.outcome, "success");
  EXPECT_EQ(e.actor_id, user_.id);
  EXPECT_EQ(e.subject_id, user_.id);
  EXPECT_EQ(e.ip, client_.ip);
  EXPECT_EQ(e.user_agent, client_.user_agent);
  EXPECT_EQ(e.details.value("session_id", ""), t->session_id);
  EXPECT_EQ(e.details.value("method", ""), "password");
  EXPECT_TRUE(repo_.find(t->session_id).value().has_value());
}

TEST_F(SessionServiceTest, StartWhoseUnitOfWorkFailsStoresNothingAndIssuesNoTokens) {
  uow_.fail_next = 1;
  auto t = service_.start(user_, {"pwd"}, client_, sign_in_event(user_, client_, "password"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(audit_.count("login"), 0u);
  EXPECT_TRUE(repo_.list_active(user_.id, clock_.now()).value().empty());
  EXPECT_EQ(minter_.count, 0);
}

TEST_F(SessionServiceTest, RefreshRotates) {
  auto first = service_.start(user_, {"pwd"}, client_);
  ASSERT_TRUE(first);
  auto second = service_.refresh(first->refresh_token, client_);
  ASSERT_TRUE(second);
  EXPECT_NE(second->refresh_token, first->refresh_token);
  EXPECT_EQ(second->session_id, first->session_id);
  auto third = service_.refresh(second->refresh_token, client_);
  ASSERT_TRUE(third);
  EXPECT_NE(third->refresh_token, second->refresh_token);
}

// The session's last use is written when the client's IP or user agent changed, or when the
// recorded one is kTouchInterval old; a refresh in between writes no session row.
TEST_F(SessionServiceTest, RefreshRecordsTheLastUseAtMostOncePerIntervalUnlessTheClientChanged) {
  auto tokens = service_.start(user_, {"pwd"}, client_);
  ASSERT_TRUE(tokens);
  const auto started = clock_.now();
  auto last_use = [&] { return repo_.find(tokens->session_id).value().value(); };
  auto refresh = [&](const ClientInfo& client) {
    auto next = service_.refresh(tokens->refresh_token, client);
    ASSERT_TRUE(next) << code_id(next.error().code);
    tokens = std::move(next);
  };

  clock_.advance(SessionService::kTouchInterval - 1s);
  refresh(client_);
  EXPECT_EQ(last_use().last_used_at, started);  // same client, too soon: left alone

  clock_.advance(1s);
  refresh(client_);
  EXPECT_EQ(last_use().last_used_at, clock_.now());  // the interval has passed
  const auto touched = clock_.now();

  clock_.advance(5s);
  refresh(ClientInfo{"198.51.100.20", client_.user_agent});  // another IP: recorded at once
  EXPECT_EQ(last_use().last_used_at, clock_.now());
  EXPECT_EQ(last_use().ip, "198.51.100.20");
  EXPECT_NE(last_use().last_used_at, touched);

  clock_.advance(5s);
  refresh(ClientInfo{"198.51.100.20", "another-agent/2.0"});  // another user agent: likewise
  EXPECT_EQ(last_use().last_used_at, clock_.now());
  EXPECT_EQ(last_use().user_agent, "another-agent/2.0");
  const auto agent_changed = clock_.now();

  clock_.advance(5s);
  refresh(ClientInfo{"198.51.100.20", "another-agent/2.0"});
  EXPECT_EQ(last_use().last_used_at, agent_changed);
}

TEST_F(SessionServiceTest, ConcurrentRefreshWithinGraceGetsSameSuccessor) {
  auto first = service_.start(user_, {"pwd"}, client_);
  auto a = service_.refresh(first->refresh_token, client_);
  ASSERT_TRUE(a);
  clock_.advance(5s);
  auto b = service_.refresh(first->refresh_token, client_);
  ASSERT_TRUE(b) << code_id(b.error().code);
  EXPECT_EQ(b->refresh_token, a->refresh_token);
  EXPECT_FALSE(revocations_.is_revoked(first->session_id));
}

TEST_F(SessionServiceTest, ReuseAfterGraceRevokesWholeFamily) {
  auto first = service_.start(user_, {"pwd"}, client_);
  auto a = service_.refresh(first->refresh_token, client_);
  ASSERT_TRUE(a);
  clock_.advance(11s);
  auto replay = service_.refresh(first->refresh_token, client_);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kRefreshTokenReused);
  EXPECT_TRUE(audit_.saw("refresh.reuse_detected", "failure"));
  EXPECT_TRUE(revocations_.is_revoked(first->session_id));
  // The legitimate holder's newer token is dead too: the whole family ended.
  auto after = service_.refresh(a->refresh_token, client_);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kInvalidRefreshToken);
}

TEST_F(SessionServiceTest, GraceDoesNotApplyOnceSuccessorWasRotated) {
  auto first = service_.start(user_, {"pwd"}, client_);
  auto a = service_.refresh(first->refresh_token, client_);
  auto b = service_.refresh(a->refresh_token, client_);
  ASSERT_TRUE(b);
  auto replay = service_.refresh(first->refresh_token, client_);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kRefreshTokenReused);
}

TEST_F(SessionServiceTest, UnknownExpiredAndOversizedTokensAreRefused) {
  EXPECT_EQ(service_.refresh("nope", client_).error().code, ErrorCode::kInvalidRefreshToken);
  EXPECT_EQ(service_.refresh("", client_).error().code, ErrorCode::kInvalidRefreshToken);
  EXPECT_EQ(service_.refresh(std::string(10000, 'a'), client_).error().code,
            ErrorCode::kInvalidRefreshToken);
  auto first = service_.start(user_, {"pwd"}, client_);
  clock_.advance(31 * 24h);
  EXPECT_EQ(service_.refresh(first->refresh_token, client_).error().code,
            ErrorCode::kInvalidRefreshToken);
}

TEST_F(SessionServiceTest, DisabledUserCannotRefresh) {
  auto first = service_.start(user_, {"pwd"}, client_);
  ASSERT_TRUE(users_.set_state(user_.id, identity::AccountState::kDisabled, clock_.now()));
  auto r = service_.refresh(first->refresh_token, client_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAccountDisabled);
  EXPECT_TRUE(revocations_.is_revoked(first->session_id));
}

TEST_F(SessionServiceTest, LogoutRevokesAndPublishes) {
  auto first = service_.start(user_, {"pwd"}, client_);
  ASSERT_TRUE(service_.end(first->session_id, "logout"));
  EXPECT_TRUE(revocations_.is_revoked(first->session_id));
  EXPECT_EQ(service_.refresh(first->refresh_token, client_).error().code,
            ErrorCode::kInvalidRefreshToken);
  // The revocation lasts until the access tokens have expired, then is forgotten.
  clock_.advance(661s);
  EXPECT_FALSE(revocations_.is_revoked(first->session_id));
}

TEST_F(SessionServiceTest, EndAllKeepsTheCurrentSession) {
  auto a = service_.start(user_, {"pwd"}, client_);
  auto b = service_.start(user_, {"pwd"}, client_);
  auto c = service_.start(user_, {"pwd"}, client_);
  auto n = service_.end_all(user_.id, "password_change", a->session_id);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(revocations_.is_revoked(a->session_id));
  EXPECT_TRUE(revocations_.is_revoked(b->session_id));
  EXPECT_TRUE(revocations_.is_revoked(c->session_id));
  EXPECT_EQ(service_.list(user_.id)->size(), 1u);
}

TEST_F(SessionServiceTest, EndOwnRefusesOtherUsersSessions) {
  auto mine = service_.start(user_, {"pwd"}, client_);
  identity::User other = user_;
  other.id = "0190aaaa-0000-7000-8000-000000000002";
  other.email = "other@example.com";
  ASSERT_TRUE(users_.create(other));
  auto theirs = service_.start(other, {"pwd"}, client_);
  auto st = service_.end_own(user_.id, theirs->session_id);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(revocations_.is_revoked(theirs->session_id));
  EXPECT_TRUE(service_.end_own(user_.id, mine->session_id));
}

TEST(SuccessorSeal, OnlyTheOldTokenOpensIt) {
  SeededRandom random;
  auto sealed = seal_successor("next-token", "old-token", random);
  EXPECT_EQ(open_successor(sealed, "old-token"), "next-token");
  EXPECT_FALSE(open_successor(sealed, "other-token"));
  EXPECT_FALSE(open_successor("garbage", "old-token"));
}

}  // namespace
}  // namespace latchkey::sessions
