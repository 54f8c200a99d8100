#include "cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mesh/certificate.h"
#include "mesh/key_files.h"
#include "process.h"

namespace testing {
namespace {

void MakeIdentity(const std::string& dir, const std::string& name, mesh::Role role,
                  const mesh::SigningKey& ca) {
  const mesh::SigningKey key = mesh::SigningKey::Generate();
  const int64_t now = std::time(nullptr);
  const auto cert = mesh::IssueCertificate(ca, role, name, key.public_key(), now - 60, now + 86400);
  if (!mesh::WritePrivateKeyFile(dir + "/" + name + ".key", key).ok() ||
      !mesh::WriteCertificateFile(dir + "/" + name + ".crt", cert).ok()) {
    throw std::runtime_error("cannot write credentials for " + name);
  }
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

HttpReply HttpCall(const std::string& address, const std::string& request, milliseconds timeout) {
  HttpReply reply;
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    SendAll(fd, request);  // the server may answer (413, 431) before reading it all
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::atoi(response.c_str() + 9);
  reply.headers = response.substr(0, end + 2);
  reply.body = response.substr(end + 4);
  return reply;
}

std::string HttpRequestText(const std::string& method, const std::string& path,
                            const std::string& address) {
  return method + " " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n\r\n";
}

std::string HttpGet(const std::string& address, const std::string& path, milliseconds timeout) {
  HttpReply r = HttpCall(address, HttpRequestText("GET", path, address), timeout);
  return r.status == 200 ? r.body : std::string();
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

bool WaitFor(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

AgentCluster::AgentCluster() {
  char tmpl[] = "/tmp/meshvault-cluster-XXXXXX";
  dir_ = mkdtemp(tmpl);
  ca_ = std::make_unique<mesh::SigningKey>(mesh::SigningKey::Generate());
  const mesh::SigningKey& ca = *ca_;
  const int64_t now = std::time(nullptr);
  const auto cert = mesh::IssueCertificate(ca, mesh::Role::kCa, "test-ca", ca.public_key(),
                                           now - 60, now + 86400);
  std::filesystem::create_directories(dir_ + "/certs");
  if (!mesh::WritePrivateKeyFile(dir_ + "/ca.key", ca).ok() ||
      !mesh::WriteCertificateFile(dir_ + "/ca.crt", cert).ok()) {
    throw std::runtime_error("cannot write the test CA");
  }
  MakeIdentity(dir_ + "/certs", "client", mesh::Role::kClient, ca);
}

AgentCluster::~AgentCluster() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid > 0) {
      ::kill(nodes_[i].pid, SIGKILL);
      ::waitpid(nodes_[i].pid, nullptr, 0);
    }
  }
  if (std::getenv("MESHVAULT_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

size_t AgentCluster::Start(const std::string& name, std::vector<std::string> join,
                           const std::string& timings, std::vector<std::string> extra_args) {
  MakeIdentity(dir_ + "/certs", name, mesh::Role::kNode, *ca_);
  AgentNode n;
  n.name = name;
  n.address = "127.0.0.1:" + std::to_string(FreePort());
  n.http = "127.0.0.1:" + std::to_string(FreePort());
  n.data_dir = dir_ + "/data-" + name;
  n.join = std::move(join);
  n.timings = timings;
  n.extra_args = std::move(extra_args);
  Spawn(n);
  nodes_.push_back(n);
  return nodes_.size() - 1;
}

void AgentCluster::Restart(size_t i, std::vector<std::string> join) {
  nodes_[i].join = std::move(join);
  Spawn(nodes_[i]);
}

void AgentCluster::Spawn(AgentNode& n) {
  std::vector<std::string> args = {MeshvaultPath(), "agent",
                                   "--data-dir",    n.data_dir,
                                   "--listen",      n.address,
                                   "--http",        n.http,
                                   "--ca",          dir_ + "/ca.crt",
                                   "--cert",        dir_ + "/certs/" + n.name + ".crt",
                                   "--key",         dir_ + "/certs/" + n.name + ".key",
                                   "--timings",     n.timings,
                                   "--log-level",   "debug"};
  for (auto& j : n.join) {
    args.push_back("--join");
    args.push_back(j);
  }
  args.insert(args.end(), n.extra_args.begin(), n.extra_args.end());
  const std::string log = dir_ + "/" + n.name + ".log";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  n.pid = pid;
  // Ready when its HTTP API answers.
  if (!WaitFor([&] { return !HttpGet(n.http, "/v1/status", milliseconds(200)).empty(); },
               milliseconds(10000))) {
    // Not in nodes_ yet, so ~AgentCluster would not reap it: do it here.
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    n.pid = 0;
    throw std::runtime_error("agent " + n.name + " did not start; log: " + log);
  }
}

void AgentCluster::Signal(size_t i, int sig) { ::kill(nodes_[i].pid, sig); }

int AgentCluster::Reap(size_t i, milliseconds timeout) {
  int status = 0;
  const bool done =
      WaitFor([&] { return ::waitpid(nodes_[i].pid, &status, WNOHANG) > 0; }, timeout);
  if (!done) return -1;
  nodes_[i].pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::map<std::string, std::string> AgentCluster::Members(size_t i) const {
  std::map<std::string, std::string> out;
  const std::string body = HttpGet(nodes_[i].http, "/v1/members");
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.contains("members")) return out;
  for (auto& m : json["members"]) out[m.value("name", "")] = m.value("status", "");
  return out;
}

nlohmann::json AgentCluster::Status(size_t i) const {
  auto json = nlohmann::json::parse(HttpGet(nodes_[i].http, "/v1/status"), nullptr, false);
  return json.is_discarded() ? nlohmann::json() : json;
}

std::vector<std::string> AgentCluster::ClientFlags() const { return ClientFlags("client"); }

std::vector<std::string> AgentCluster::ClientFlags(const std::string& client_name) const {
  const std::string base = dir_ + "/certs/" + client_name;
  if (!std::filesystem::exists(base + ".crt")) {
    MakeIdentity(dir_ + "/certs", client_name, mesh::Role::kClient, *ca_);
  }
  return {"--ca", dir_ + "/ca.crt", "--cert", base + ".crt", "--key", base + ".key"};
}

std::string AgentCluster::Log(size_t i) const {
  std::ifstream in(dir_ + "/" + nodes_[i].name + ".log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace testing
