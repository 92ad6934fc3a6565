#include "notes.hpp"

#include <gtest/gtest.h>

#include <set>

namespace notes {
namespace {

template <typename T>
const T& ok(const Outcome<T>& o) {
  if (const auto* e = std::get_if<ApiError>(&o)) {
    ADD_FAILURE() << "unexpected " << code_of(e->problem) << ": " << e->detail;
    static const T empty{};
    return empty;
  }
  return std::get<T>(o);
}

template <typename T>
Problem problem(const Outcome<T>& o) {
  const auto* e = std::get_if<ApiError>(&o);
  if (e == nullptr) {
    ADD_FAILURE() << "expected a refusal";
    return Problem::kInternal;
  }
  return e->problem;
}

class NoteBookTest : public ::testing::Test {
 protected:
  latchkey::FakeClock clock_{1'700'000'000};
  latchkey::SeededRandom random_{7};
  NoteBook book_{
      clock_, random_, {.max_title_chars = 10, .max_body_bytes = 20, .max_notes_per_user = 3}};
  Caller alice_{.sub = "alice", .roles = {"user"}};
  Caller bob_{.sub = "bob", .roles = {"user"}};
  Caller admin_{.sub = "root", .roles = {"user", "admin"}};
};

TEST_F(NoteBookTest, CreatesNotesOwnedByTheCaller) {
  const Note n = ok(book_.create(alice_, {.title = "Groceries", .body = "milk"}));
  EXPECT_EQ(n.owner, "alice");
  EXPECT_EQ(n.title, "Groceries");
  EXPECT_EQ(n.body, "milk");
  EXPECT_EQ(n.created_at, clock_.now());
  EXPECT_EQ(n.id.size(), 32u);
  EXPECT_EQ(n.id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ok(book_.get(alice_, n.id)).title, "Groceries");
}

TEST_F(NoteBookTest, CallersSeeOnlyTheirOwnNotes) {
  const Note a = ok(book_.create(alice_, {.title = "a1", .body = ""}));
  ok(book_.create(bob_, {.title = "b1", .body = ""}));
  clock_.advance(std::chrono::seconds(1));
  ok(book_.create(alice_, {.title = "a2", .body = ""}));
  const auto mine = ok(book_.list(alice_, false));
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].title, "a1");  // oldest first
  EXPECT_EQ(mine[1].title, "a2");
  // Another user's note is "not found", never "forbidden": its existence is not revealed.
  EXPECT_EQ(problem(book_.get(bob_, a.id)), Problem::kNotFound);
  EXPECT_EQ(problem(book_.remove(bob_, a.id)), Problem::kNotFound);
  EXPECT_EQ(problem(book_.get(alice_, "no-such-id")), Problem::kNotFound);
  EXPECT_EQ(book_.size(), 3u);
}

TEST_F(NoteBookTest, OnlyAdminsListEveryonesNotes) {
  ok(book_.create(alice_, {.title = "a", .body = ""}));
  ok(book_.create(bob_, {.title = "b", .body = ""}));
  EXPECT_EQ(problem(book_.list(alice_, true)), Problem::kForbidden);
  EXPECT_EQ(ok(book_.list(admin_, true)).size(), 2u);
  EXPECT_EQ(ok(book_.list(admin_, false)).size(), 0u);  // the admin's own notes
  // Admins list everything, but read and delete by id only their own.
  const auto all = ok(book_.list(admin_, true));
  EXPECT_EQ(problem(book_.get(admin_, all[0].id)), Problem::kNotFound);
}

TEST_F(NoteBookTest, DeletesOnlyOnce) {
  const Note n = ok(book_.create(alice_, {.title = "t", .body = ""}));
  ok(book_.remove(alice_, n.id));
  EXPECT_EQ(problem(book_.remove(alice_, n.id)), Problem::kNotFound);
  EXPECT_EQ(problem(book_.get(alice_, n.id)), Problem::kNotFound);
  EXPECT_EQ(book_.size(), 0u);
}

TEST_F(NoteBookTest, ValidatesTitleAndBody) {
  EXPECT_EQ(problem(book_.create(alice_, {.title = "", .body = ""})), Problem::kInvalidRequest);
  EXPECT_EQ(problem(book_.create(alice_, {.title = "12345678901", .body = ""})),
            Problem::kInvalidRequest);
  // Ten Hangul syllables are ten characters (30 bytes): allowed.
  ok(book_.create(alice_, {.title = "가나다라마바사아자차", .body = ""}));
  EXPECT_EQ(problem(book_.create(alice_, {.title = "t", .body = std::string(21, 'x')})),
            Problem::kInvalidRequest);
  EXPECT_EQ(problem(book_.create(alice_, {.title = "bad \xff", .body = ""})),
            Problem::kInvalidRequest);
  EXPECT_EQ(problem(book_.create(alice_, {.title = "t", .body = "\xc0\xaf"})),
            Problem::kInvalidRequest);
  EXPECT_EQ(book_.size(), 1u);
}

TEST_F(NoteBookTest, PerUserLimitFreesUpOnDelete) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(ok(book_.create(alice_, {.title = "t", .body = ""})).id);
  EXPECT_EQ(problem(book_.create(alice_, {.title = "t", .body = ""})), Problem::kTooManyNotes);
  ok(book_.create(bob_, {.title = "t", .body = ""}));  // the limit is per user
  ok(book_.remove(alice_, ids[0]));
  ok(book_.create(alice_, {.title = "t", .body = ""}));
  EXPECT_EQ(book_.size(), 4u);  // three of alice, one of bob
}

TEST_F(NoteBookTest, IdsAreUnique) {
  NoteBook big(clock_, random_, {});
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.insert(ok(big.create(alice_, {.title = "t", .body = ""})).id);
  EXPECT_EQ(ids.size(), 200u);
}

}  // namespace
}  // namespace notes
