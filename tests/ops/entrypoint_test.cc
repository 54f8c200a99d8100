// docker/entrypoint.sh and the docker/ files, without a Docker engine and without root:
// `init` (certificates, idempotence, no key printed, bad settings), `node` (certificate by
// NODE_NAME, a group-readable key, signals reach the agent), and the compose file giving the
// nodes the environment the namespace tests use.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.h"
#include "netns_cluster.h"
#include "process.h"

namespace {

namespace fs = std::filesystem;
using ops_test::RunEntrypoint;
using std::chrono::milliseconds;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The base64 body of a key file (the lines between the armour), which must never be printed.
std::vector<std::string> KeyBodyLines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(Read(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.rfind("-----", 0) != 0 && line.find(':') == std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/meshvault-ops-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string path;
};

std::vector<std::string> InitEnv(const TempDir& t, const std::string& nodes,
                                 const std::string& clients = "admin") {
  return {"MESHVAULT_CA_DIR=" + t.path + "/ca", "MESHVAULT_CERTS_DIR=" + t.path + "/certs",
          "MESHVAULT_NODES=" + nodes, "MESHVAULT_CLIENTS=" + clients};
}

}  // namespace

TEST_CASE("entrypoint init: the CA, node and client certificates, idempotent, no key printed",
          "[ops]") {
  TempDir t;
  const std::string ca = t.path + "/ca", certs = t.path + "/certs";
  auto r = RunEntrypoint({"init"}, InitEnv(t, "n1, n2", "admin,ops"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "created the CA"));
  CHECK(Contains(r.out, "init done: 2 node(s), 2 client(s)"));
  CHECK(Mode(ca + "/ca.key") == 0600);
  CHECK(Read(ca + "/ca.crt") == Read(certs + "/ca.crt"));
  CHECK(Mode(certs + "/ca.crt") == 0644);
  CHECK_FALSE(fs::exists(certs + "/ca.key"));  // the CA key stays in the CA directory
  for (const char* name : {"n1", "n2", "admin", "ops"}) {
    INFO(name);
    CHECK(Mode(certs + "/" + name + ".key") == 0600);
    CHECK(Mode(certs + "/" + name + ".crt") == 0644);
  }

  // No private key in anything printed.
  const std::string printed = r.out + r.err;
  CHECK_FALSE(Contains(printed, "PRIVATE"));
  for (const char* key : {"/ca/ca.key", "/certs/n1.key", "/certs/admin.key"}) {
    for (const auto& line : KeyBodyLines(t.path + key)) CHECK_FALSE(Contains(printed, line));
  }

  // Again: nothing changes.
  std::map<std::string, std::string> before;
  for (const auto& e : fs::directory_iterator(certs)) before[e.path()] = Read(e.path());
  before[ca + "/ca.key"] = Read(ca + "/ca.key");
  r = RunEntrypoint({"init"}, InitEnv(t, "n1,n2", "admin,ops"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "CA exists"));
  CHECK(Contains(r.out, "node certificate 'n1' exists; kept"));
  CHECK_FALSE(Contains(r.out, "issued"));
  for (const auto& [path, bytes] : before) CHECK(Read(path) == bytes);

  // A node added to the list: only its certificate is issued.
  r = RunEntrypoint({"init"}, InitEnv(t, "n1 n2 n3", "admin,ops"));
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "issued node certificate 'n3'"));
  CHECK_FALSE(Contains(r.out, "issued node certificate 'n1'"));
  CHECK(fs::exists(certs + "/n3.key"));
  for (const auto& [path, bytes] : before) CHECK(Read(path) == bytes);

  // Without the CA key, existing certificates are kept and new ones refused by name.
  fs::rename(ca, t.path + "/ca-offline");
  r = RunEntrypoint({"init"}, InitEnv(t, "n1,n2,n3", "admin,ops"));
  CHECK(r.exit_code == 0);
  r = RunEntrypoint({"init"}, InitEnv(t, "n1,n4", "admin"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "cannot issue 'n4': no CA key in " + ca));
  fs::rename(t.path + "/ca-offline", ca);

  // Half a pair is not papered over.
  fs::remove(certs + "/n2.key");
  r = RunEntrypoint({"init"}, InitEnv(t, "n1,n2"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "only one of " + certs + "/n2.crt and " + certs + "/n2.key exists"));
}

TEST_CASE("entrypoint init: bad settings are refused with the setting named", "[ops]") {
  TempDir t;
  struct Case {
    std::vector<std::string> env;
    std::string message;
  };
  const std::vector<Case> cases = {
      {InitEnv(t, "n1,../x"), "node name '../x' is not a valid name"},
      {InitEnv(t, "n1,-rf"), "node name '-rf' is not a valid name"},
      {InitEnv(t, "*"), "node name '*' is not a valid name"},
      {InitEnv(t, " , "), "MESHVAULT_NODES names no node"},
      {InitEnv(t, "n1", "n1"), "'n1' is both a node and a client name"},
      {InitEnv(t, "n1", "a b$x"), "client name 'b$x' is not a valid name"},
      {[&] {
         auto e = InitEnv(t, "n1");
         e.push_back("MESHVAULT_CERT_DAYS=1y");
         return e;
       }(),
       "MESHVAULT_CERT_DAYS must be a number of days, not '1y'"},
  };
  for (const auto& c : cases) {
    auto r = RunEntrypoint({"init"}, c.env);
    INFO(c.message << " -> " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.err, c.message));
    CHECK_FALSE(fs::exists(t.path + "/ca/ca.key"));  // refused before anything is made
  }
  auto r = RunEntrypoint({"init", "extra"}, InitEnv(t, "n1"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "init takes no arguments"));

  // Certificates of another CA in the certs directory.
  REQUIRE(RunEntrypoint({"init"}, InitEnv(t, "n1")).exit_code == 0);
  fs::remove_all(t.path + "/ca");
  REQUIRE(testing::RunProcess({testing::MeshvaultPath(), "ca", "create", "--out", t.path + "/ca"})
              .exit_code == 0);
  r = RunEntrypoint({"init"}, InitEnv(t, "n1"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "the certificates there come from another CA"));
}

TEST_CASE("entrypoint node: certificate by NODE_NAME, private key copy, SIGTERM stops the agent",
          "[ops]") {
  TempDir t;
  REQUIRE(RunEntrypoint({"init"}, InitEnv(t, "alpha,beta")).exit_code == 0);
  const std::string certs = t.path + "/certs";

  // A name init did not issue.
  auto r = RunEntrypoint({"node"}, {"NODE_NAME=gamma", "MESHVAULT_CERTS_DIR=" + certs,
                                    "MESHVAULT_DATA_DIR=" + t.path + "/data-gamma"});
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, certs + "/gamma.crt is missing"));
  CHECK(Contains(r.err, "NODE_NAME picks the certificate"));
  r = RunEntrypoint({"node"}, {"NODE_NAME=../alpha", "MESHVAULT_CERTS_DIR=" + certs});
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "NODE_NAME '../alpha' is not a valid name"));

  // A group-readable key (as a Kubernetes Secret with fsGroup mounts it) is copied to a
  // private file, which the agent accepts.
  REQUIRE(::chmod((certs + "/beta.key").c_str(), 0640) == 0);
  const std::string http = "127.0.0.1:" + std::to_string(testing::FreePort());
  const std::string listen = "127.0.0.1:" + std::to_string(testing::FreePort());
  const std::string log = t.path + "/beta.log";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const std::string path =
        "PATH=" + fs::path(testing::MeshvaultPath()).parent_path().string() + ":/usr/bin:/bin";
    std::vector<std::string> env = {path,
                                    "NODE_NAME=beta",
                                    "MESHVAULT_CERTS_DIR=" + certs,
                                    "MESHVAULT_DATA_DIR=" + t.path + "/data-beta",
                                    "MESHVAULT_KEY_DIR=" + t.path + "/run",
                                    "MESHVAULT_LISTEN=" + listen,
                                    "MESHVAULT_HTTP=" + http,
                                    "MESHVAULT_TIMINGS=fast"};
    std::vector<std::string> args = {"/bin/sh", ops_test::EntrypointPath(), "node"};
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const bool up = testing::WaitFor(
      [&] { return !testing::HttpGet(http, "/v1/status", milliseconds(200)).empty(); },
      milliseconds(15000));
  INFO(Read(log));
  if (!up) ::kill(pid, SIGKILL);
  REQUIRE(up);
  auto status = nlohmann::json::parse(testing::HttpGet(http, "/v1/status"), nullptr, false);
  CHECK(status.dump().find("beta") != std::string::npos);
  CHECK(Contains(Read(log), "has mode 640; using a private copy in " + t.path + "/run"));
  CHECK(Mode(t.path + "/run/beta.key") == 0400);
  CHECK(Mode(t.path + "/run") == 0700);
  CHECK(Read(t.path + "/run/beta.key") == Read(certs + "/beta.key"));
  // The advertised address is NODE_NAME:<listen port> (the compose service name).
  const std::string port = listen.substr(listen.rfind(':') + 1);
  CHECK(Contains(Read(log), "advertise beta:" + port));
  CHECK(fs::exists(t.path + "/data-beta/peers.db"));

  // The entrypoint exec'd the agent: the pid is the agent's, and SIGTERM makes it leave
  // and exit 0 (docker stop).
  ::kill(pid, SIGTERM);
  int wstatus = 0;
  const bool exited = testing::WaitFor([&] { return ::waitpid(pid, &wstatus, WNOHANG) == pid; },
                                       milliseconds(10000));
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &wstatus, 0);
  }
  CHECK(exited);
  CHECK(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
  CHECK(Contains(Read(log), "leaving the mesh"));
}

TEST_CASE("entrypoint: other commands run meshvault, help names the subcommands", "[ops]") {
  auto r = RunEntrypoint({"help"}, {});
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "init"));
  CHECK(Contains(r.out, "node"));
  // Passed through: `split` needs no cluster.
  r = testing::RunProcess({"/bin/sh", ops_test::EntrypointPath(), "split", "-t", "2", "-n", "3"},
                          "s3cret", {"MESHVAULT_BIN=" + testing::MeshvaultPath()});
  CHECK(r.exit_code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  r = RunEntrypoint({"members", "--address", "127.0.0.1:1"}, {});
  CHECK(r.exit_code == 1);  // meshvault's own usage error (no credentials), passed through
  CHECK(Contains(r.err, "meshvault members"));
}

TEST_CASE("compose file and Dockerfile: the settings the namespace tests rely on", "[ops]") {
  const std::string compose =
      Read(std::string(MESHVAULT_SOURCE_DIR) + "/docker/docker-compose.yml");
  REQUIRE(!compose.empty());
  // The netns harness starts nodes with exactly this environment (ComposeNodeEnv).
  for (const auto& kv : ops_test::ComposeNodeEnv(5)) {
    const std::string key = kv.substr(0, kv.find('=')), value = kv.substr(kv.find('=') + 1);
    INFO(kv);
    CHECK((Contains(compose, "  " + key + ": " + value + "\n") ||
           Contains(compose, "  " + key + ": ${" + key + ":-" + value + "}\n")));
  }
  for (int i = 1; i <= 5; ++i) {
    const std::string n = "node" + std::to_string(i);
    INFO(n);
    CHECK(Contains(compose, "\n  " + n + ":\n    <<: *node\n    hostname: " + n + "\n"));
    CHECK(Contains(compose, "      NODE_NAME: " + n + "\n"));
    CHECK(Contains(compose, "      - " + n + "-data:/data\n"));
  }
  CHECK_FALSE(Contains(compose, "container_name"));
  CHECK(Contains(compose, "condition: service_completed_successfully"));
  CHECK(Contains(compose, R"(test: ["CMD", "meshvault", "health", "--http", "127.0.0.1:8200"])"));
  CHECK(Contains(compose, "MESHVAULT_NODES: node1,node2,node3,node4,node5"));

  const std::string dockerfile = Read(std::string(MESHVAULT_SOURCE_DIR) + "/docker/Dockerfile");
  CHECK(Contains(dockerfile, "FROM debian:bookworm-slim AS build"));
  CHECK(Contains(dockerfile, "scripts/install-deps.sh --build"));
  CHECK(Contains(dockerfile, "install-deps.sh --runtime"));
  CHECK(Contains(dockerfile, "USER 10001:10001"));
  CHECK(Contains(dockerfile, "VOLUME [\"/data\"]"));
  CHECK(Contains(dockerfile, R"(CMD ["meshvault", "health", "--http", "127.0.0.1:8200"])"));
  CHECK(Contains(dockerfile, R"(ENTRYPOINT ["/usr/local/bin/entrypoint.sh"])"));
}
