// Parses the command line and runs a sub-command; everything else lives in app/.
#include "app/cli.hpp"

int main(int argc, char** argv) {
  return latchkey::app::run_cli(argc, argv);
}
