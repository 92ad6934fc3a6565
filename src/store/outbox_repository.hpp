#pragma once
// The SOCI implementation of courier::OutboxRepository (the `outbox` table of migration 0002).
// Belongs with the other factories in store/repositories.hpp; kept here until it moves there.
//
//   auto outbox = store::make_outbox_repository(*db);
//   uow->run([&]() -> Status { ...; return outbox->enqueue(message); });  // joins the unit
//
// Rows: `payload` is the Email as JSON (to, to_name, subject, text, html, template_id), the
// only source read back; `recipient` and `template_id` are copies for operators' queries.
// enqueue() stores the message as queued, without a lease, whatever its status fields say;
// channel (<= 16 bytes), id (<= 36), recipient (<= 320), template_id (<= 64) and every text
// must be valid UTF-8 within those lengths (kInvalidField otherwise); a duplicate id is
// kConflict. claim() owners are 1..64 bytes (kInvalidField otherwise). mark_sent and mark_dead
// keep lease_owner (who finished the message) and clear lease_until; mark_retry clears both.
// last_error is stored as valid UTF-8 (invalid bytes and NULs become '?'), cut to at most 1000
// bytes at a character boundary.
//
// The Database must outlive the repository.

#include <memory>

#include "courier/outbox.hpp"
#include "store/database.hpp"

namespace latchkey::store {

std::unique_ptr<courier::OutboxRepository> make_outbox_repository(Database& db);

}  // namespace latchkey::store
