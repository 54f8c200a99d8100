#include "netns_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace ops_test {
namespace {

std::string FindIp() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

std::string BinDir() {
  return std::filesystem::path(testing::MeshvaultPath()).parent_path().string();
}

// PATH for the processes started here: the meshvault under test first.
std::string TestPath() {
  return "PATH=" + BinDir() + ":/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Applies "NAME=value" overrides to an environment list; "NAME=" removes NAME.
void Override(std::vector<std::string>* env, const std::vector<std::string>& extra) {
  for (const auto& e : extra) {
    const std::string key = e.substr(0, e.find('=') + 1);
    std::erase_if(*env, [&](const std::string& x) { return x.rfind(key, 0) == 0; });
    if (e.size() > key.size()) env->push_back(e);
  }
}

}  // namespace

std::string EntrypointPath() { return std::string(MESHVAULT_SOURCE_DIR) + "/docker/entrypoint.sh"; }
std::string NetnsScriptPath() { return std::string(MESHVAULT_SOURCE_DIR) + "/tests/ops/netns.sh"; }

void RequireNetns() {
  auto r = testing::RunProcess({"/bin/bash", NetnsScriptPath(), "check"}, {}, {},
                               std::chrono::seconds(30));
  if (r.exit_code == kSkipExitCode) {
    std::cout << "SKIP: network namespaces are not available: " << r.out << r.err << std::flush;
    std::exit(kSkipExitCode);
  }
  INFO("netns.sh check: " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  if (FindIp().empty()) {
    std::cout << "SKIP: no ip executable in /usr/sbin, /sbin, /usr/bin or /bin\n" << std::flush;
    std::exit(kSkipExitCode);
  }
  // Namespaces left by a test process that was killed (a CTest timeout) go first.
  (void)testing::RunProcess({"/bin/bash", NetnsScriptPath(), "reap-stale"});
}

std::vector<std::string> ComposeNodeEnv(int nodes) {
  std::string join;
  for (int i = 1; i <= nodes; ++i) {
    join += (i > 1 ? "," : "") + ("node" + std::to_string(i)) + ":7400";
  }
  return {"MESHVAULT_LISTEN=0.0.0.0:7400", "MESHVAULT_HTTP=127.0.0.1:8200",
          "MESHVAULT_JOIN=" + join, "MESHVAULT_LOG_LEVEL=info", "MESHVAULT_TIMINGS=default"};
}

testing::ProcessResult RunEntrypoint(const std::vector<std::string>& args,
                                     const std::vector<std::string>& env,
                                     std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"/bin/sh", EntrypointPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> full = {"MESHVAULT_BIN=" + testing::MeshvaultPath()};
  full.insert(full.end(), env.begin(), env.end());
  return testing::RunProcess(argv, {}, full, timeout);
}

NetnsCluster::NetnsCluster(int nodes, int split, std::string timings)
    : nodes_(nodes), split_(split), timings_(std::move(timings)) {
  RequireNetns();
  run_ = "mvt" + std::to_string(::getpid());
  // The pid in the name lets the next run remove it if this process is killed.
  std::string tmpl = "/tmp/meshvault-netns-" + std::to_string(::getpid()) + "-XXXXXX";
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  dir_ = tmpl;
  // A run of the same name can only be left by this process (an earlier test case that
  // failed to clean up); remove it.
  (void)testing::RunProcess({"/bin/bash", NetnsScriptPath(), "down", run_});
  up_ = true;  // from here on the destructor cleans up, whatever `up` managed to make
  Netns({"up", run_, std::to_string(nodes_), std::to_string(split_)});
}

NetnsCluster::~NetnsCluster() {
  for (auto& [i, pid] : pids_) {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  if (up_) (void)testing::RunProcess({"/bin/bash", NetnsScriptPath(), "down", run_});
  if (!dir_.empty() && std::getenv("MESHVAULT_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void NetnsCluster::Netns(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/bash", NetnsScriptPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::RunProcess(argv, {}, {}, std::chrono::seconds(60));
  INFO("netns.sh " << args[0] << ": exit " << r.exit_code << "; " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

testing::ProcessResult NetnsCluster::Init() {
  std::string names;
  for (int i = 1; i <= nodes_; ++i) names += (i > 1 ? "," : "") + Name(i);
  auto r = RunEntrypoint(
      {"init"}, {"MESHVAULT_CA_DIR=" + dir_ + "/ca", "MESHVAULT_CERTS_DIR=" + dir_ + "/certs",
                 "MESHVAULT_NODES=" + names, "MESHVAULT_CLIENTS=admin"});
  INFO("entrypoint.sh init: exit " << r.exit_code << "\n" << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

void NetnsCluster::Start(int i, const std::vector<std::string>& extra) {
  REQUIRE(i >= 1);
  REQUIRE(i <= nodes_);
  REQUIRE(!Running(i));
  std::vector<std::string> env = ComposeNodeEnv(nodes_);
  Override(&env, {"MESHVAULT_TIMINGS=" + timings_, "NODE_NAME=" + Name(i),
                  "MESHVAULT_CERTS_DIR=" + dir_ + "/certs", "MESHVAULT_DATA_DIR=" + DataDir(i),
                  "MESHVAULT_KEY_DIR=" + dir_ + "/run-" + Name(i), TestPath(), "HOME=/tmp"});
  Override(&env, extra);
  std::vector<std::string> args = {FindIp(),  "netns",          "exec", Namespace(i),
                                   "/bin/sh", EntrypointPath(), "node"};
  const std::string log = dir_ + "/" + Name(i) + ".log";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The agent dies with the test process even when that is killed (a CTest timeout);
    // `ip netns exec` and the entrypoint exec, so the setting reaches the agent.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0) ::_exit(126);
    ::dup2(null, STDIN_FILENO);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  pids_[i] = pid;
}

void NetnsCluster::StartAll(const std::vector<std::string>& extra) {
  for (int i = 1; i <= nodes_; ++i) Start(i, extra);
}

void NetnsCluster::Signal(int i, int sig) {
  REQUIRE(Running(i));
  ::kill(pids_.at(i), sig);
}

int NetnsCluster::Reap(int i, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pids_.at(i), &status, WNOHANG);
    if (r == pids_.at(i)) break;
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(milliseconds(10));
  }
  pids_[i] = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

testing::ProcessResult NetnsCluster::Cli(int from, int to, const std::vector<std::string>& args,
                                         std::string_view input, milliseconds timeout) {
  std::vector<std::string> argv = {FindIp(),        "netns",   "exec",
                                   Namespace(from), "/bin/sh", EntrypointPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string certs = dir_ + "/certs";
  return testing::RunProcess(
      argv, input,
      {"MESHVAULT_BIN=" + testing::MeshvaultPath(), "MESHVAULT_ADDRESS=" + Name(to) + ":7400",
       "MESHVAULT_CA=" + certs + "/ca.crt", "MESHVAULT_CERT=" + certs + "/admin.crt",
       "MESHVAULT_KEY=" + certs + "/admin.key"},
      timeout);
}

std::map<std::string, std::string> NetnsCluster::Members(int i) {
  std::map<std::string, std::string> out;
  if (!Running(i)) return out;
  auto r = Cli(i, i, {"members", "--format", "json"}, {}, milliseconds(10000));
  if (r.exit_code != 0) return out;
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  if (!json.is_array()) return out;
  for (auto& m : json) {
    // A name held by two identities (a node whose key was rotated) counts as alive when
    // one of them is.
    auto [it, added] = out.emplace(m.value("name", ""), m.value("status", ""));
    if (!added && m.value("status", "") == "alive") it->second = "alive";
  }
  return out;
}

bool NetnsCluster::AllSee(const std::vector<int>& observers,
                          const std::map<std::string, std::string>& expected) {
  for (int i : observers) {
    const auto members = Members(i);
    for (const auto& [name, status] : expected) {
      auto it = members.find(name);
      if (it == members.end() || it->second != status) return false;
    }
  }
  return true;
}

double NetnsCluster::WaitUntilAllSee(const std::vector<int>& observers,
                                     const std::map<std::string, std::string>& expected,
                                     milliseconds deadline) {
  const auto start = Clock::now();
  while (true) {
    if (AllSee(observers, expected)) {
      return std::chrono::duration<double>(Clock::now() - start).count();
    }
    if (Clock::now() - start >= deadline) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  // What each observer sees, for the failure message.
  for (int i : observers) {
    std::string seen;
    for (const auto& [name, status] : Members(i)) seen += " " + name + "=" + status;
    UNSCOPED_INFO(Name(i) << " sees:" << (seen.empty() ? " (no answer)" : seen) << "\n"
                          << LogTail(i, 15));
  }
  return -1;
}

void NetnsCluster::Partition() { Netns({"partition", run_}); }
void NetnsCluster::Heal() { Netns({"heal", run_}); }
void NetnsCluster::Renumber(int base) { Netns({"renumber", run_, std::to_string(base)}); }

std::string NetnsCluster::Log(int i) const { return ReadFile(dir_ + "/" + Name(i) + ".log"); }

std::string NetnsCluster::LogTail(int i, size_t lines) const {
  const std::string log = Log(i);
  size_t pos = log.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = log.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return "--- " + Name(i) + " log (last lines) ---\n" + log.substr(pos);
}

std::map<std::string, std::string> NetnsCluster::All(const std::string& status) const {
  std::map<std::string, std::string> m;
  for (int i = 1; i <= nodes_; ++i) m[Name(i)] = status;
  return m;
}

std::vector<int> NetnsCluster::Range(int first, int last) const {
  std::vector<int> out;
  for (int i = first; i <= last; ++i) out.push_back(i);
  return out;
}

}  // namespace ops_test
