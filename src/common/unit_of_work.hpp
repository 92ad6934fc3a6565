#pragma once
// A unit of work: several repository calls that must land together or not at all (sign-up writes
// the user, its verification secret and the outbox message; a refresh reads the token and
// rotates it). Domain code states the boundary; store/ implements it with a database
// transaction that every repository call made on the same thread inside run() joins.
//
//   auto st = uow.run([&]() -> Status {
//     if (auto s = users.create(user); !s) return s;   // an error rolls everything back
//     return outbox.enqueue(message);
//   });
//
// `work` returns an error to roll back; returning {} commits. Business refusals that must still
// commit what was written (e.g. a revocation) are carried out of the lambda by the caller.
// Calls nest: an inner run() joins the outer transaction.

#include <functional>
#include <optional>
#include <utility>

#include "common/result.hpp"

namespace latchkey {

class UnitOfWork {
 public:
  virtual ~UnitOfWork() = default;
  virtual Status run(const std::function<Status()>& work) = 0;
};

// Runs `work` (returning Result<T>) as one unit of work; an error result rolls back.
template <typename T, typename F>
Result<T> in_unit_of_work(UnitOfWork& uow, F&& work) {
  std::optional<Result<T>> out;
  auto st = uow.run([&]() -> Status {
    out.emplace(work());
    if (!*out) return out->error();
    return {};
  });
  if (!st) return st.error();
  return std::move(*out);
}

}  // namespace latchkey
