// meshvault: the command-line front end. Thin: parse, call the libraries, print.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "exit_codes.h"
#include "secret_io.h"

namespace cli {

int Fail(std::string_view command, std::string_view message) {
  std::string line = "meshvault " + std::string(command) + ": " + std::string(message) + "\n";
  (void)WriteAll(STDERR_FILENO, line);
  return kExitUsage;
}

}  // namespace cli

namespace {

int Run(int argc, char** argv) {
  cli::HardenProcess();
  if (!mesh::InitSodium().ok()) {
    std::cerr << "meshvault: libsodium failed to initialise\n";
    return cli::kExitUsage;
  }
  CLI::App app{"meshvault: secret-sharing vault cluster and offline Shamir tool"};
  app.set_version_flag("--version", "meshvault " MESHVAULT_VERSION);
  app.require_subcommand(1);
  int exit_code = cli::kExitOk;
  cli::AddSplitCommand(&app, &exit_code);
  cli::AddCombineCommand(&app, &exit_code, argc, argv);
  cli::AddCaCommands(&app, &exit_code);
  cli::AddMeshCommands(&app, &exit_code);
  cli::AddVaultCommands(&app, &exit_code);
  cli::AddDevCommand(&app, &exit_code);
  if (argc > 1 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::OptionNotFound&) {
      std::cerr << "meshvault: unknown command '" << argv[1] << "' (run meshvault --help)\n";
      return cli::kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help and errors itself; its own exit codes map to ours (0 or 1).
    return app.exit(e) == 0 ? cli::kExitOk : cli::kExitUsage;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc: report, never crash
    std::cerr << "meshvault: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "meshvault: unexpected error\n";
  }
  return cli::kExitUsage;
}
