// Subcommands of the meshvault executable. Each Add* registers its options on `app` and
// sets a callback that stores its exit code in *exit_code.
#ifndef CLI_COMMANDS_H_
#define CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace cli {

void AddSplitCommand(CLI::App* app, int* exit_code);
void AddCombineCommand(CLI::App* app, int* exit_code, int argc, char** argv);
void AddCaCommands(CLI::App* app, int* exit_code);
void AddMeshCommands(CLI::App* app, int* exit_code);
void AddVaultCommands(CLI::App* app, int* exit_code);
void AddDevCommand(CLI::App* app, int* exit_code);

// Prints "meshvault <command>: <message>" to stderr and returns kExitUsage.
int Fail(std::string_view command, std::string_view message);

}  // namespace cli

#endif  // CLI_COMMANDS_H_
