#pragma once
// A broken invariant in a fuzz target: say which and abort, so libFuzzer keeps the input.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace latchkey::fuzz {

[[noreturn]] inline void fail(std::string_view what, std::string_view why) {
  std::fprintf(stderr, "fuzz invariant broken (%.*s): %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(why.size()), why.data());
  std::abort();
}

}  // namespace latchkey::fuzz
