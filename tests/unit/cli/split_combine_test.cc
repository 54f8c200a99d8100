// The meshvault executable, run as a user would: split and combine through pipes, files and
// arguments; exit codes; environment twins; messages that never carry the secret.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "process.h"

using testing::MeshvaultPath;
using testing::RunProcess;

namespace {

testing::ProcessResult Mv(std::vector<std::string> args, std::string_view input = {},
                          std::vector<std::string> env = {}) {
  args.insert(args.begin(), MeshvaultPath());
  auto r = RunProcess(args, input, env);
  REQUIRE_FALSE(r.timed_out);
  return r;
}

bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start && text[start] != '#') out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string TempPath(const std::string& name) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/meshvault-cli-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir + "/" + name;
}

}  // namespace

TEST_CASE("split then combine through pipes, every format", "[cli]") {
  const std::string secret("s3cr3t\n\0binary\xff", 15);
  for (std::string format : {"text", "json", "vault", "vault-hex"}) {
    INFO(format);
    auto split = Mv({"split", "-t", "3", "-n", "5", "--format", format}, secret);
    REQUIRE(split.exit_code == 0);
    CHECK(split.err.empty());
    const auto lines = Lines(split.out);
    REQUIRE(lines.size() == (format == "json" ? 1U : 5U));
    std::string input = format == "json"
                            ? split.out
                            : lines[0] + "\n\n# note\n" + lines[3] + "\n" + lines[4] + "\n";
    auto combine = Mv({"combine"}, input);
    REQUIRE(combine.exit_code == 0);
    CHECK(combine.out == secret);
    CHECK(combine.err.empty());
  }
}

TEST_CASE("combine takes shares from arguments and files, and recover is an alias", "[cli]") {
  auto split = Mv({"split", "-t", "2", "-n", "3"}, "hunter2");
  REQUIRE(split.exit_code == 0);
  const auto lines = Lines(split.out);
  auto from_args = Mv({"combine", lines[0], lines[2]});
  CHECK(from_args.exit_code == 0);
  CHECK(from_args.out == "hunter2");
  const std::string path = TempPath("shares.txt");
  std::ofstream(path) << lines[1] << "\n" << lines[2] << "\n";
  auto from_file = Mv({"recover", "--in", path, "--hex"});
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out == "68756e74657232\n");
  auto b64 = Mv({"combine", "--in", path, "--base64"});
  CHECK(b64.out == "aHVudGVyMg==\n");
  const std::string secret_path = TempPath("secret.bin");
  std::ofstream(secret_path) << "from a file";
  auto split_file = Mv({"split", "-t", "2", "-n", "2", "--in", secret_path});
  REQUIRE(split_file.exit_code == 0);
  CHECK(Mv({"combine"}, split_file.out).out == "from a file");
}

TEST_CASE("every flag has a MESHVAULT_ environment twin", "[cli]") {
  auto split = Mv({"split"}, "env secret",
                  {"MESHVAULT_THRESHOLD=2", "MESHVAULT_SHARES=4",
                   "MESHVAULT_SHARE_FORMAT=vault-hex", "MESHVAULT_MAX_SIZE=64"});
  REQUIRE(split.exit_code == 0);
  const auto lines = Lines(split.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].size() == 2 * (10 + 1));
  auto combine = Mv({"combine"}, lines[1] + "\n" + lines[2] + "\n", {"MESHVAULT_HEX=1"});
  CHECK(combine.out == "656e7620736563726574\n");
  auto too_big = Mv({"split"}, std::string(65, 'x'),
                    {"MESHVAULT_THRESHOLD=2", "MESHVAULT_SHARES=4", "MESHVAULT_MAX_SIZE=64"});
  CHECK(too_big.exit_code == 1);
}

TEST_CASE("usage errors exit 1 with a specific message", "[cli][bad]") {
  struct Case {
    std::vector<std::string> args;
    std::string input;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"split", "-t", "4", "-n", "3"}, "x", "threshold 4 is greater than the share count 3"},
      {{"split", "-t", "1", "-n", "3"}, "x", "threshold 1 is too small"},
      {{"split", "-t", "2", "-n", "256"}, "x", "share count 256 is too large"},
      {{"split", "-t", "2", "-n", "3"}, "", "the secret is empty"},
      {{"split", "-t", "2", "-n", "3", "--format", "xml"}, "x", "unknown --format 'xml'"},
      {{"split", "-t", "2", "-n", "3", "--max-size", "lots"}, "x", "is not a size"},
      {{"split", "-n", "3"}, "x", "threshold is required"},
      {{"split", "-t", "two", "-n", "3"}, "x", "threshold"},
      {{"split", "-t", "2", "-n", "3", "--in", "/nonexistent/file"}, "", "cannot open"},
      {{"combine"}, "", "no shares were given"},
      {{"combine"}, "garbage line\n", "not a valid vault base64 share"},
      {{"combine", "--hex", "--base64"}, "x", "choose one of --hex and --base64"},
      {{"frobnicate"}, "", "frobnicate"},
      {{}, "", "subcommand"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    INFO(joined);
    auto r = Mv(c.args, c.input);
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.err, c.message));
    CHECK(r.out.empty());
  }
}

TEST_CASE("a secret over the limit is refused and --max-size raises it", "[cli][bad]") {
  const std::string big((1 << 20) + 1, 'a');
  auto r = Mv({"split", "-t", "2", "-n", "2"}, big);
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "larger than the limit of 1048576 bytes"));
  auto ok = Mv({"split", "-t", "2", "-n", "2", "--max-size", "2M"}, big);
  REQUIRE(ok.exit_code == 0);
  auto back = Mv({"combine", "--max-size", "2M"}, ok.out);
  CHECK(back.exit_code == 0);
  CHECK(back.out == big);
  auto refused = Mv({"combine"}, ok.out);
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.err, "secret size limit"));
}

TEST_CASE("bad shares: messages name the share and never echo the secret", "[cli][bad]") {
  const std::string secret = "TOPSECRET-value-42";
  auto split = Mv({"split", "-t", "2", "-n", "3"}, secret);
  auto lines = Lines(split.out);
  std::string typo = lines[1];
  typo[30] = typo[30] == 'Q' ? 'R' : 'Q';
  auto r = Mv({"combine"}, lines[0] + "\n" + typo + "\n");
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "line 2: checksum mismatch"));
  CHECK_FALSE(Contains(r.err, secret));
  CHECK_FALSE(Contains(r.err, lines[0]));
  // With a third good share the typo is named as a warning and the secret recovered.
  auto ok = Mv({"combine"}, lines[0] + "\n" + typo + "\n" + lines[2] + "\n");
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == secret);
  CHECK(Contains(ok.err, "warning: line 2: checksum mismatch"));
  // Mixed formats.
  auto vault = Lines(Mv({"split", "-t", "2", "-n", "3", "--format", "vault"}, secret).out);
  auto mixed = Mv({"combine"}, lines[0] + "\n" + vault[1] + "\n");
  CHECK(mixed.exit_code == 1);
  CHECK(Contains(mixed.err, "mixed share formats: line 1 is text; line 2 is vault"));
}

TEST_CASE("--help and --version exit 0", "[cli]") {
  auto help = Mv({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(Contains(help.out, "split"));
  auto split_help = Mv({"split", "--help"});
  CHECK(split_help.exit_code == 0);
  CHECK(Contains(split_help.out, "MESHVAULT_THRESHOLD"));
  auto version = Mv({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(Contains(version.out, "meshvault"));
}

TEST_CASE("combine wipes share arguments from its argv and cannot dump core", "[cli][hygiene]") {
  auto split = Mv({"split", "-t", "2", "-n", "2"}, "argv secret");
  const auto lines = Lines(split.out);
  REQUIRE(lines.size() == 2);
  // combine with both shares as arguments plus --in -: after wiping argv it blocks reading
  // standard input, which we hold open while we look at /proc.
  int in_pipe[2];
  REQUIRE(pipe(in_pipe) == 0);
  const std::string path = MeshvaultPath();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    close(in_pipe[1]);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(path.c_str(), path.c_str(), "combine", "--in", "-", lines[0].c_str(), lines[1].c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in_pipe[0]);
  auto read_file = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  const std::string proc = "/proc/" + std::to_string(pid);
  // Wait (with a deadline) until the process has wiped its arguments.
  std::string cmdline;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    cmdline = read_file(proc + "/cmdline");
    // Until exec, /proc shows the test's own argv: wait for meshvault's, then for the wipe.
    if (cmdline.starts_with(path) && Contains(cmdline, "--in") && !Contains(cmdline, lines[0])) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(cmdline.starts_with(path));
  CHECK(Contains(cmdline, "combine"));
  CHECK_FALSE(Contains(cmdline, lines[0]));
  CHECK_FALSE(Contains(cmdline, lines[1]));
  // "Max core file size   <soft>   <hard>   bytes": both must be 0.
  const std::string limits = read_file(proc + "/limits");
  const size_t at = limits.find("Max core file size");
  REQUIRE(at != std::string::npos);
  std::istringstream core_line(limits.substr(at + 18, limits.find('\n', at) - at - 18));
  std::string soft, hard;
  core_line >> soft >> hard;
  CHECK(soft == "0");
  CHECK(hard == "0");
  close(in_pipe[1]);  // empty stdin: combine finishes with the argument shares
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("combine refuses each kind of bad share set with exit 1", "[cli][bad]") {
  const auto a = Lines(Mv({"split", "-t", "3", "-n", "5"}, "one secret").out);
  const auto b = Lines(Mv({"split", "-t", "3", "-n", "5"}, "two secret").out);
  REQUIRE(a.size() == 5);
  std::string truncated = a[2].substr(0, a[2].size() - 12);
  struct Case {
    std::vector<std::string> lines;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{a[0], a[1]}, "need 3 shares of set"},
      {{a[0], a[1], a[0]}, "line 3: duplicate of line 1"},
      {{a[0], a[1], b[2]}, "do not belong to one set"},
      {{a[0], a[1], truncated}, "line 3: share is truncated or malformed"},
      {{a[0], "not a share at all", a[2]}, "mixed share formats"},
  };
  for (const auto& c : cases) {
    std::string input;
    for (const auto& l : c.lines) input += l + "\n";
    INFO(c.message);
    auto r = Mv({"combine"}, input);
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.err, c.message));
    CHECK(r.out.empty());
  }
}
