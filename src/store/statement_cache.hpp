#pragma once
// Statements kept prepared on one connection, for the statements the hot paths run again and
// again on SQLite's connections: a refresh is eight of them on the writer, under the write lock
// (preparing them each time was a fifth of the time it held that lock), and preparing a login's
// statements each time was a sixth of its worker thread's CPU. Database keeps one cache per
// SQLite connection (Database::statements_for). Not for use outside store/; repositories reach
// it through with_prepared() in sql_support.hpp.
//
// An entry is a query object Q that owns the variables it binds (SOCI binds use() and into() by
// address) and a soci::statement `st` that its constructor Q(soci::session&, const std::string&)
// prepares. Entries are keyed by Q's type and the query text, and never move once made.
// SQLite connections only. Not thread-safe: the connection's holder is its only user (the
// write lock for the writer, the Lease for a pooled connection).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>

namespace soci {
class session;
class statement;
}  // namespace soci

namespace latchkey::store {

class StatementCache {
 public:
  // The entry of type Q for `query`, prepared on `sql` if it is not there yet (throws what the
  // preparation throws, and then keeps nothing).
  template <typename Q>
  Q& get(soci::session& sql, std::string_view query) {
    auto& of_type = entries_[std::type_index(typeid(Q))];
    auto it = of_type.find(query);
    if (it == of_type.end()) {
      auto made = std::make_shared<Q>(sql, std::string(query));
      it = of_type.emplace(std::string(query), std::move(made)).first;
    }
    return *static_cast<Q*>(it->second.get());
  }

  // Forgets (finalises) the entry, e.g. after it failed midway.
  template <typename Q>
  void drop(std::string_view query) {
    auto of_type = entries_.find(std::type_index(typeid(Q)));
    if (of_type == entries_.end()) return;
    auto it = of_type->second.find(query);
    if (it != of_type->second.end()) of_type->second.erase(it);
  }

  // Forgets every entry (before the connection closes or reconnects).
  void clear() noexcept { entries_.clear(); }

  // Ends the statement's current execution (SQLite: sqlite3_reset), so that a kept SELECT does
  // not hold its read snapshot open until its next use.
  static void finish(soci::statement& st);

 private:
  std::unordered_map<std::type_index, std::map<std::string, std::shared_ptr<void>, std::less<>>>
      entries_;
};

}  // namespace latchkey::store
