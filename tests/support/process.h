// Runs a child process with given stdin and collects its exit code, stdout and stderr, with a
// deadline after which it is killed. For tests that drive the meshvault executable.
#ifndef TESTS_SUPPORT_PROCESS_H_
#define TESTS_SUPPORT_PROCESS_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
  bool timed_out = false;
};

// argv[0] is the program path. `env` entries ("NAME=value") are added to a clean environment
// holding only PATH and HOME.
ProcessResult RunProcess(const std::vector<std::string>& argv, std::string_view input = {},
                         const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Path of the meshvault executable under test.
std::string MeshvaultPath();

}  // namespace testing

#endif  // TESTS_SUPPORT_PROCESS_H_
