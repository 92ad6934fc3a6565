#include "tokens/key_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/sealed_box.hpp"
#include "tokens/jose.hpp"

namespace latchkey::tokens {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// In-memory KeyRepository shared by several KeyRing "replicas" in a test.
class FakeKeyRepository final : public KeyRepository {
 public:
  Result<std::vector<StoredKey>> list() override {
    if (fail_next_list) {
      fail_next_list = false;
      return Error::make(ErrorCode::kUnavailable, "database down");
    }
    auto out = rows;
    std::stable_sort(out.begin(), out.end(), [](const StoredKey& a, const StoredKey& b) {
      return a.created_at < b.created_at;
    });
    return out;
  }
  Status insert(const StoredKey& key) override {
    rows.push_back(key);
    return {};
  }
  Status retire(const std::string& kid, TimePoint at) override {
    for (auto& r : rows) {
      if (r.kid == kid) {
        r.retired_at = at;
        return {};
      }
    }
    return Error::make(ErrorCode::kNotFound, "no such key");
  }
  Status remove(const std::string& kid) override {
    auto it =
        std::find_if(rows.begin(), rows.end(), [&](const StoredKey& r) { return r.kid == kid; });
    if (it == rows.end()) return Error::make(ErrorCode::kNotFound, "no such key");
    rows.erase(it);
    return {};
  }
  const StoredKey* find(const std::string& kid) const {
    for (const auto& r : rows) {
      if (r.kid == kid) return &r;
    }
    return nullptr;
  }

  std::vector<StoredKey> rows;
  bool fail_next_list = false;
};

Bytes master(std::uint8_t fill) {
  return Bytes(kMasterKeyBytes, fill);
}

std::vector<std::string> jwks_kids(const KeySnapshot& snap) {
  std::vector<std::string> kids;
  auto doc = nlohmann::json::parse(snap.jwks_json);
  for (const auto& k : doc["keys"]) kids.push_back(k["kid"].get<std::string>());
  return kids;
}

class KeyRingTest : public ::testing::Test {
 protected:
  KeyRingOptions options() const {
    return {.alg = Alg::kES256, .access_token_ttl = minutes(15), .leeway = seconds(30)};
  }
  FakeKeyRepository repo_;
  FakeClock clock_{1'800'000'000};
  SeededRandom random_{7};
};

TEST_F(KeyRingTest, FirstLoadGeneratesAKeyThatSignsAtOnce) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  ASSERT_EQ(repo_.rows.size(), 1u);
  const StoredKey& row = repo_.rows[0];
  EXPECT_EQ(row.alg, "ES256");
  EXPECT_EQ(row.signs_from, clock_.now());
  EXPECT_EQ(row.created_at, clock_.now());
  EXPECT_FALSE(row.retired_at);
  // The private key is sealed: not the PKCS#8 bytes, and it opens only with the master key.
  auto snap = ring.snapshot();
  ASSERT_TRUE(snap->signing);
  EXPECT_EQ(snap->signing->kid(), row.kid);
  auto opened = open_box(master(1), row.private_sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, snap->signing->to_pkcs8());
  EXPECT_FALSE(open_box(master(2), row.private_sealed));
  EXPECT_EQ(row.public_jwk, snap->signing->public_key().to_jwk().dump());
  EXPECT_EQ(jwks_kids(*snap), std::vector<std::string>{row.kid});
  EXPECT_NE(snap->keys.find(row.kid), nullptr);

  // A second replica loads the same key instead of generating another.
  KeyRing replica(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(replica.load());
  EXPECT_EQ(repo_.rows.size(), 1u);
  EXPECT_EQ(replica.snapshot()->signing->kid(), row.kid);
}

TEST_F(KeyRingTest, RotatePublishesBeforeSigning) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  const std::string old_kid = ring.snapshot()->signing->kid();
  const TimePoint t0 = clock_.now();

  auto next = ring.rotate(std::nullopt, hours(1));
  ASSERT_TRUE(next);
  auto snap = ring.snapshot();
  EXPECT_EQ(snap->signing->kid(), old_kid);    // still signing with the old key
  EXPECT_NE(snap->keys.find(*next), nullptr);  // but the next key is published
  EXPECT_EQ(jwks_kids(*snap), (std::vector<std::string>{old_kid, *next}));
  EXPECT_EQ(repo_.find(old_kid)->retired_at, t0 + hours(1));
  EXPECT_EQ(repo_.find(*next)->signs_from, t0 + hours(1));

  auto infos = ring.list();
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[0].state, KeyState::kActive);
  EXPECT_EQ(infos[1].state, KeyState::kNext);
  EXPECT_EQ(to_string(infos[1].state), "next");

  clock_.advance(hours(1) - seconds(1));
  EXPECT_EQ(ring.snapshot()->signing->kid(), old_kid);
  clock_.advance(seconds(1));  // the switch happens on time, without refresh()
  EXPECT_EQ(ring.snapshot()->signing->kid(), *next);
  infos = ring.list();
  EXPECT_EQ(infos[0].state, KeyState::kRetired);
  EXPECT_EQ(infos[1].state, KeyState::kActive);
}

TEST_F(KeyRingTest, RetiredKeyStaysInJwksUntilItsTokensExpire) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  const std::string old_kid = ring.snapshot()->signing->kid();
  auto next = ring.rotate(std::nullopt, seconds(0));  // immediate switch
  ASSERT_TRUE(next);
  EXPECT_EQ(ring.snapshot()->signing->kid(), *next);

  // A token the old key signed just before retiring is still verifiable until ttl + leeway.
  clock_.advance(minutes(15) + seconds(29));
  EXPECT_NE(ring.snapshot()->keys.find(old_kid), nullptr);
  clock_.advance(seconds(1));
  auto snap = ring.snapshot();
  EXPECT_EQ(snap->keys.find(old_kid), nullptr);
  EXPECT_EQ(jwks_kids(*snap), std::vector<std::string>{*next});
  // ...and the next refresh removes it from the repository.
  EXPECT_NE(repo_.find(old_kid), nullptr);
  ASSERT_TRUE(ring.refresh());
  EXPECT_EQ(repo_.find(old_kid), nullptr);
  EXPECT_EQ(ring.list().size(), 1u);
}

TEST_F(KeyRingTest, RotateCanChangeTheAlgorithm) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  auto next = ring.rotate(Alg::kEdDSA, seconds(0));
  ASSERT_TRUE(next);
  EXPECT_EQ(ring.snapshot()->signing->alg(), Alg::kEdDSA);
  EXPECT_EQ(repo_.find(*next)->alg, "EdDSA");
}

TEST_F(KeyRingTest, RefreshSeesOtherReplicasRotation) {
  KeyRing a(repo_, clock_, random_, master(1), options());
  KeyRing b(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(a.load());
  ASSERT_TRUE(b.load());
  auto next = a.rotate(std::nullopt, minutes(5));
  ASSERT_TRUE(next);
  EXPECT_EQ(b.snapshot()->keys.find(*next), nullptr);
  ASSERT_TRUE(b.refresh());
  EXPECT_NE(b.snapshot()->keys.find(*next), nullptr);
  clock_.advance(minutes(5));
  EXPECT_EQ(b.snapshot()->signing->kid(), *next);
}

TEST_F(KeyRingTest, WrongMasterKeyIsAClearErrorNotACrash) {
  {
    KeyRing ring(repo_, clock_, random_, master(1), options());
    ASSERT_TRUE(ring.load());
  }
  KeyRing wrong(repo_, clock_, random_, master(9), options());
  Status s = wrong.load();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("cannot unseal"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("master key"), std::string::npos);
  EXPECT_FALSE(wrong.snapshot()->signing);
  EXPECT_EQ(repo_.rows.size(), 1u);  // it did not "fix" things by generating a key
  EXPECT_FALSE(wrong.rotate(std::nullopt, seconds(0)));
  EXPECT_EQ(repo_.rows.size(), 1u);

  EXPECT_THROW(KeyRing(repo_, clock_, random_, Bytes(16, 1), options()), std::invalid_argument);
}

TEST_F(KeyRingTest, TamperedRowsAreRefused) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  FakeKeyRepository copy = repo_;
  // Public JWK swapped for another key's: refused (a verifier would trust the wrong key).
  copy.rows[0].public_jwk =
      generate_signing_key(Alg::kES256, copy.rows[0].kid).public_key().to_jwk().dump();
  KeyRing r1(copy, clock_, random_, master(1), options());
  EXPECT_FALSE(r1.load());
  // Sealed text altered: refused.
  copy = repo_;
  copy.rows[0].private_sealed[10] = copy.rows[0].private_sealed[10] == 'A' ? 'B' : 'A';
  KeyRing r2(copy, clock_, random_, master(1), options());
  EXPECT_FALSE(r2.load());
}

TEST_F(KeyRingTest, RepositoryFailureKeepsTheLastSnapshot) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  const std::string kid = ring.snapshot()->signing->kid();
  repo_.fail_next_list = true;
  Status s = ring.refresh();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(ring.snapshot()->signing->kid(), kid);
}

TEST_F(KeyRingTest, SnapshotKeysVerifyWhatTheSigningKeySigns) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  auto snap = ring.snapshot();
  const std::int64_t now = to_unix(clock_.now());
  std::string token = sign_compact(
      *snap->signing, {{"typ", "at+jwt"}},
      {{"iss", "i"}, {"aud", "a"}, {"sub", "s"}, {"exp", now + 60}, {"iat", now}, {"jti", "j"}});
  auto jwks = parse_jwks(snap->jwks_json);
  ASSERT_TRUE(jwks);
  VerifyOptions opt{.issuer = "i", .audience = "a", .now = now};
  EXPECT_EQ(verify_jwt(token, *jwks, opt, nullptr), VerifyStatus::kOk);
  EXPECT_EQ(verify_jwt(token, snap->keys, opt, nullptr), VerifyStatus::kOk);
}

TEST_F(KeyRingTest, SnapshotsStayUsableWhileRotating) {
  KeyRing ring(repo_, clock_, random_, master(1), options());
  ASSERT_TRUE(ring.load());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        auto snap = ring.snapshot();
        if (!snap->signing || snap->keys.find(snap->signing->kid()) == nullptr) ++failures;
      }
    });
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.rotate(Alg::kEdDSA, seconds(0)));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(KeySealing, SealedFormatIsNonceThenCiphertext) {
  SeededRandom random(1);
  const Bytes key = master(3);
  const Bytes secret = {1, 2, 3, 4, 5};
  std::string sealed = seal_box(key, secret, random);
  auto raw = base64_decode(sealed);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 24u + 16u + secret.size());
  EXPECT_EQ(open_box(key, sealed), secret);
  EXPECT_NE(seal_box(key, secret, random), sealed);  // fresh nonce every time
  EXPECT_FALSE(open_box(key, "not base64!"));
  EXPECT_FALSE(open_box(key, base64_encode(Bytes(10, 0))));
}

}  // namespace
}  // namespace latchkey::tokens
