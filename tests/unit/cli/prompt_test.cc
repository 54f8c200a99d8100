// The hidden prompts, driven through a pseudo-terminal: the secret is read with echo off and
// asked twice; shares go to standard output (a pipe here), never to the terminal.
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "process.h"

namespace {

struct PtyRun {
  std::string terminal;  // everything the program wrote to the terminal
  std::string out;       // its standard output
  int exit_code = -1;
};

// Reads from `fd` until `want` appears in `*acc` or the deadline passes.
bool ReadUntil(int fd, const std::string& want, std::string* acc,
               std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  while (acc->find(want) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return false;
    acc->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Runs meshvault with a terminal as stdin; answers each prompt in turn with `answers`.
PtyRun RunWithTerminal(const std::vector<std::string>& args,
                       const std::vector<std::pair<std::string, std::string>>& answers) {
  int out_pipe[2];
  REQUIRE(pipe(out_pipe) == 0);
  int master = -1;
  const std::string path = testing::MeshvaultPath();
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    close(out_pipe[0]);
    std::vector<char*> argv = {const_cast<char*>(path.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  PtyRun run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (const auto& [prompt, answer] : answers) {
    REQUIRE(ReadUntil(master, prompt, &run.terminal, deadline));
    const std::string line = answer + "\n";
    REQUIRE(write(master, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  }
  ReadUntil(out_pipe[0], "\x01never", &run.out, deadline);  // until EOF
  ReadUntil(master, "\x01never", &run.terminal,
            std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  close(master);
  close(out_pipe[0]);
  return run;
}

}  // namespace

TEST_CASE("split prompts twice with echo off and combine prompts per share", "[cli][tty]") {
  const std::string secret = "typed-secret-42";
  auto split = RunWithTerminal({"split", "-t", "2", "-n", "3"},
                               {{"Secret: ", secret}, {"Secret (again): ", secret}});
  REQUIRE(split.exit_code == 0);
  CHECK(split.terminal.find(secret) == std::string::npos);  // never echoed
  const auto first_end = split.out.find('\n');
  REQUIRE(first_end != std::string::npos);
  const std::string share1 = split.out.substr(0, first_end);
  const std::string share2 =
      split.out.substr(first_end + 1, split.out.find('\n', first_end + 1) - first_end - 1);
  auto combine = RunWithTerminal({"combine"},
                                 {{"Share 1: ", share1}, {"Share 2: ", share2}, {"Share 3: ", ""}});
  CHECK(combine.exit_code == 0);
  CHECK(combine.out == secret);
  CHECK(combine.terminal.find(share1) == std::string::npos);
}

TEST_CASE("split refuses when the two typed entries differ", "[cli][tty]") {
  auto r = RunWithTerminal({"split", "-t", "2", "-n", "3"},
                           {{"Secret: ", "one"}, {"Secret (again): ", "two"}});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.terminal.find("the two entries differ") != std::string::npos);
}
