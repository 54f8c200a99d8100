// meshvault dev: a whole local cluster in one process, for trying meshvault out (like
// `vault server -dev`). A fresh CA, node and client certificates and the nodes' data live in
// a temporary directory that is deleted on Ctrl-C. Never for real secrets.
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands.h"
#include "exit_codes.h"
#include "logging.h"
#include "mesh/certificate.h"
#include "mesh/key_files.h"
#include "vault_node.h"

namespace cli {

namespace {

struct DevArgs {
  int nodes = 5;
  std::string listen = "127.0.0.1:7400";
  std::string env_file;
  std::string log_level = "warn";
  std::string log_format = "text";
  bool keep = false;
};

int64_t NowS() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

int RunDev(const DevArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("dev", m); };
  if (a.nodes < 1 || a.nodes > 32) return fail("--nodes must be 1 to 32");
  LogSettings log;
  if (auto st = ParseLogSettings(a.log_level, a.log_format, &log); !st.ok()) {
    return fail(st.message());
  }
  std::string dir = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  dir += "/meshvault-dev-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return fail("cannot create a temporary directory");

  // Credentials: the CA key stays in memory; the client's key is written for the CLI.
  const auto ca = mesh::SigningKey::Generate();
  const int64_t now = NowS();
  const int64_t until = now + 30 * 86400;
  const auto ca_cert =
      mesh::IssueCertificate(ca, mesh::Role::kCa, "dev-ca", ca.public_key(), now - 60, until);
  auto client_key = mesh::SigningKey::Generate();
  const auto client_cert = mesh::IssueCertificate(ca, mesh::Role::kClient, "dev",
                                                  client_key.public_key(), now - 60, until);
  mesh::Status s = mesh::WriteCertificateFile(dir + "/ca.crt", ca_cert);
  if (s.ok()) s = mesh::WriteCertificateFile(dir + "/client.crt", client_cert);
  if (s.ok()) s = mesh::WritePrivateKeyFile(dir + "/client.key", client_key);
  if (!s.ok()) return fail(s.message());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<std::unique_ptr<VaultNode>> nodes;
  std::string first;
  const auto cleanup = [&] {
    for (auto& n : nodes) n->Stop();
    if (!a.keep) std::filesystem::remove_all(dir);
  };
  for (int i = 1; i <= a.nodes; ++i) {
    const std::string name = "node" + std::to_string(i);
    auto key = std::make_shared<mesh::SigningKey>(mesh::SigningKey::Generate());
    VaultNodeSetup setup;
    setup.creds.key = key;
    setup.creds.certificate =
        mesh::IssueCertificate(ca, mesh::Role::kNode, name, key->public_key(), now - 60, until);
    setup.creds.ca_key = ca.public_key();
    setup.data_dir = dir + "/" + name;
    setup.listen = i == 1 ? a.listen : "127.0.0.1:0";
    if (i > 1) setup.join = {first};
    setup.fast_timings = true;
    setup.log = SpdlogSink(MakeLogger(name + ".mesh", log));
    setup.vault_log = SpdlogSink(MakeLogger(name + ".vault", log));
    nodes.push_back(std::make_unique<VaultNode>());
    if (s = nodes.back()->Start(setup); !s.ok()) {
      cleanup();
      return fail(name + ": " + s.message() +
                  (i == 1 ? " (choose another address with --listen, e.g. 127.0.0.1:0)" : ""));
    }
    if (i == 1) first = nodes.back()->node()->Status().listen;
  }

  // Ready when every node sees every other one alive.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const auto converged = [&] {
    for (auto& n : nodes) {
      if (n->node()->Status().members_alive != static_cast<size_t>(a.nodes)) return false;
    }
    return true;
  };
  while (!converged() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!converged()) {
    cleanup();
    return Fail("dev", "the nodes did not see each other within 20 s");
  }

  const std::string env = "export MESHVAULT_ADDRESS=" + first + "\nexport MESHVAULT_CA=" + dir +
                          "/ca.crt\nexport MESHVAULT_CERT=" + dir +
                          "/client.crt\nexport MESHVAULT_KEY=" + dir + "/client.key\n";
  if (!a.env_file.empty()) {
    s = mesh::WriteFileDurably(a.env_file,
                               std::span(reinterpret_cast<const uint8_t*>(env.data()), env.size()),
                               0600, /*overwrite=*/true);
    if (!s.ok()) {
      cleanup();
      return fail(s.message());
    }
  }
  std::cout << "meshvault dev: " << a.nodes << " nodes on 127.0.0.1, node1 at " << first
            << "; data in " << dir << "\n"
            << "Dev mode keeps a throwaway CA and all data in that directory: never use it for "
               "real secrets.\n\n"
            << "To use the CLI against it:\n\n"
            << env << "\n"
            << "  echo -n 's3cret' | meshvault put demo/password\n"
            << "  meshvault get demo/password\n\n"
            << "Ctrl-C stops the cluster" << (a.keep ? "" : " and deletes its directory") << ".\n"
            << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "meshvault dev: stopping\n" << std::flush;
  cleanup();
  return kExitOk;
}

}  // namespace

void AddDevCommand(CLI::App* app, int* exit_code) {
  auto args = std::make_shared<DevArgs>();
  CLI::App* cmd = app->add_subcommand(
      "dev", "run a local cluster in this process, with throwaway credentials (for trying out)");
  cmd->add_option("--nodes", args->nodes, "how many nodes (1 to 32)")
      ->envname("MESHVAULT_DEV_NODES");
  cmd->add_option("--listen", args->listen,
                  "node1's address; the CLI's default --address (127.0.0.1:0 picks a port)")
      ->envname("MESHVAULT_DEV_LISTEN");
  cmd->add_option("--env-file", args->env_file,
                  "also write the MESHVAULT_* exports to FILE (for scripts)")
      ->envname("MESHVAULT_DEV_ENV_FILE");
  cmd->add_option("--log-level", args->log_level, "debug, info, warn or error")
      ->envname("MESHVAULT_LOG_LEVEL");
  cmd->add_option("--log-format", args->log_format, "text or json (one object a line)")
      ->envname("MESHVAULT_LOG_FORMAT");
  cmd->add_flag("--keep", args->keep, "keep the directory on exit");
  cmd->callback([args, exit_code] { *exit_code = RunDev(*args); });
}

}  // namespace cli
