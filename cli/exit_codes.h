// Exit codes of the meshvault executable (docs/cli.md).
#ifndef CLI_EXIT_CODES_H_
#define CLI_EXIT_CODES_H_

namespace cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;   // bad arguments or input, or a local error
inline constexpr int kExitRemote = 2;  // the cluster or a remote node failed

}  // namespace cli

#endif  // CLI_EXIT_CODES_H_
