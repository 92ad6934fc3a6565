#pragma once
// The `latchkey` command line: serve, migrate, keys list|rotate,
// user create|list|set-role|disable, config check.

namespace latchkey::app {

int run_cli(int argc, char** argv);

}  // namespace latchkey::app
