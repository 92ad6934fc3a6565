#include "store/statement_cache.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

namespace latchkey::store {

void StatementCache::finish(soci::statement& st) {
  // Entries live only on SQLite connections.
  auto* sqlite = static_cast<soci::sqlite3_statement_backend*>(st.get_backend());
  if (sqlite->stmt_ != nullptr) sqlite_api::sqlite3_reset(sqlite->stmt_);
}

}  // namespace latchkey::store
