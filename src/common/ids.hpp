#pragma once
// Identifiers: UUIDv7 (RFC 9562) strings, time-ordered so that database indexes stay local and
// listings have a stable order.

#include <string>

#include "common/clock.hpp"
#include "common/random.hpp"

namespace latchkey {

std::string new_uuid_v7(const Clock& clock, Random& random);
bool is_uuid(std::string_view s);

}  // namespace latchkey
