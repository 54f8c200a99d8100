// meshvault agent: run a vault node until SIGINT or SIGTERM, then leave gracefully.
// meshvault members: ask a node for its member list over an authenticated client link.
// meshvault health: ask an agent's admin HTTP API whether it is healthy (exit 0 iff so).
#include <signal.h>

#include <iostream>

#include "admin_api.h"
#include "admin_http.h"
#include "client_args.h"
#include "commands.h"
#include "credentials.h"
#include "exit_codes.h"
#include "logging.h"
#include "mesh/client.h"
#include "mesh/node.h"
#include "vault_node.h"

namespace cli {

namespace {

struct AgentArgs {
  std::string data_dir;
  std::string listen = "127.0.0.1:7400";
  std::string advertise;
  std::vector<std::string> join;
  std::string http = kDefaultHttp;
  CredentialPaths creds;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string timings = "default";
};

int RunAgent(const AgentArgs& a) {
  LogSettings log;
  if (auto s = ParseLogSettings(a.log_level, a.log_format, &log); !s.ok()) {
    return Fail("agent", s.message());
  }
  auto logger = MakeLogger("agent", log);
  // With --log-format json even a startup error is a JSON line (and also the usual exit 1).
  const auto fail = [&](std::string_view m) {
    if (!log.json) return Fail("agent", m);
    logger->error("meshvault agent: {}", m);
    return kExitUsage;
  };
  if (a.timings != "default" && a.timings != "fast")
    return fail("--timings must be default or fast");
  Credentials c;
  if (auto s = LoadCredentials(a.creds, mesh::Role::kNode, &c); !s.ok()) return fail(s.message());

  VaultNodeSetup setup;
  setup.creds = c;
  setup.data_dir = a.data_dir;
  setup.listen = a.listen;
  setup.advertise = a.advertise;
  setup.join = a.join;
  setup.fast_timings = a.timings == "fast";
  setup.log = SpdlogSink(MakeLogger("mesh", log));
  setup.vault_log = SpdlogSink(MakeLogger("vault", log));

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The HTTP API binds first, so a taken port fails before the node joins the mesh; it
  // answers "starting" until the node is up.
  VaultNode vault_node;
  AdminApi api(&vault_node, MESHVAULT_VERSION);
  AdminHttp http;
  if (a.http != "off") {
    std::string bound;
    auto handler = [&api](const std::string& path) { return api.Handle(path); };
    if (auto s = http.Start(a.http, handler, &bound); !s.ok()) return fail(s.message());
    logger->info("admin HTTP API on http://{} (/v1/sys/health, /v1/status, /v1/members, /metrics)",
                 bound);
  }
  if (auto s = vault_node.Start(setup); !s.ok()) {
    http.Stop();
    return fail(s.message());
  }
  api.set_lifecycle(Lifecycle::kServing);
  mesh::Node* node = vault_node.node();
  logger->info("node {} ({}) is up on {}", c.certificate.name, mesh::ShortId(c.certificate.subject),
               node->Status().listen);
  int sig = 0;
  sigwait(&signals, &sig);
  logger->info("signal {}: leaving the mesh", sig);
  // Health says "shutting down" while the node says goodbye; the node object goes last.
  api.set_lifecycle(Lifecycle::kStopping);
  node->Stop(mesh::Millis(1000));
  http.Stop();
  vault_node.Stop();
  return kExitOk;
}

// GET /v1/sys/health: prints the reason, exit 0 on 200, 1 otherwise or when unreachable.
int RunHealth(const std::string& address, int timeout_ms) {
  int status = 0;
  std::string body;
  if (timeout_ms < 1 || timeout_ms > 60000) {
    return Fail("health", "--timeout must be 1 to 60000 milliseconds");
  }
  if (auto s = HttpFetch(address, "/v1/sys/health", mesh::Millis(timeout_ms), &status, &body);
      !s.ok()) {
    return Fail("health", s.message());
  }
  const auto json = mesh::Json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string reason = json.is_object() ? json.value("reason", "") : "";
  std::string state = json.is_object() ? json.value("status", "") : "";
  if (reason.empty()) reason = "HTTP " + std::to_string(status) + " without a health report";
  for (char& ch : reason) {  // text from the network: no control characters on the terminal
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  if (status == 200) {
    std::cout << (state.empty() ? "ok" : state) << ": " << reason << "\n";
    return kExitOk;
  }
  std::cerr << "meshvault health: " << (state.empty() ? "unhealthy" : state) << " (HTTP " << status
            << "): " << reason << "\n";
  return kExitUsage;
}

int RunMembers(const ClientArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("members", m); };
  if (a.format != "table" && a.format != "json") return fail("--format must be table or json");
  // A node certificate may ask too (operators on a node host).
  mesh::ClientOptions o;
  if (auto s = LoadClientOptions(a, /*allow_node=*/true, &o); !s.ok()) return fail(s.message());
  std::unique_ptr<mesh::Client> client;
  mesh::Json reply;
  mesh::Status s = mesh::Client::Connect(a.address, o, &client);
  if (s.ok()) s = client->Request("mesh.members", mesh::Json::object(), mesh::Millis(5000), &reply);
  if (!s.ok()) {
    std::cerr << "meshvault members: " << s.message() << "\n";
    return kExitRemote;
  }
  if (!reply.contains("members") || !reply["members"].is_array()) {
    std::cerr << "meshvault members: the node sent an unexpected reply\n";
    return kExitRemote;
  }
  if (a.format == "json") {
    std::cout << reply["members"].dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"Node", "Address", "Status", "ID", "Linked"}};
  for (const auto& m : reply["members"]) {
    rows.push_back({m.value("name", "?"), m.value("address", "?"), m.value("status", "?"),
                    m.value("id", "?"),
                    m.value("self", false)     ? "self"
                    : m.value("linked", false) ? "yes"
                                               : "no"});
  }
  PrintTable(rows);
  return kExitOk;
}

}  // namespace

void AddMeshCommands(CLI::App* app, int* exit_code) {
  auto agent_args = std::make_shared<AgentArgs>();
  CLI::App* agent =
      app->add_subcommand("agent", "run a vault node (a mesh node with the vault agent)");
  agent->add_option("--data-dir", agent_args->data_dir, "where the node keeps its state")
      ->required()
      ->envname("MESHVAULT_DATA_DIR");
  agent->add_option("--listen", agent_args->listen, "IP:port to accept links on")
      ->envname("MESHVAULT_LISTEN");
  agent
      ->add_option("--advertise", agent_args->advertise,
                   "host:port other nodes dial (default: the listen address)")
      ->envname("MESHVAULT_ADVERTISE");
  agent->add_option("--join", agent_args->join, "a member to join through (repeatable)")
      ->delimiter(',')
      ->envname("MESHVAULT_JOIN");
  agent
      ->add_option("--http", agent_args->http,
                   "IP:port for the admin HTTP API (health, status, metrics), or off")
      ->envname("MESHVAULT_HTTP");
  agent->add_option("--ca", agent_args->creds.ca, "the CA certificate")->envname("MESHVAULT_CA");
  agent->add_option("--cert", agent_args->creds.cert, "this node's certificate")
      ->envname("MESHVAULT_CERT");
  agent->add_option("--key", agent_args->creds.key, "this node's private key")
      ->envname("MESHVAULT_KEY");
  agent->add_option("--log-level", agent_args->log_level, "debug, info, warn or error")
      ->envname("MESHVAULT_LOG_LEVEL");
  agent->add_option("--log-format", agent_args->log_format, "text or json (one object a line)")
      ->envname("MESHVAULT_LOG_FORMAT");
  agent
      ->add_option("--timings", agent_args->timings,
                   "default, or fast (short timers for tests and local clusters)")
      ->envname("MESHVAULT_TIMINGS");
  agent->callback([agent_args, exit_code] { *exit_code = RunAgent(*agent_args); });

  auto members_args = std::make_shared<ClientArgs>();
  CLI::App* members = app->add_subcommand("members", "list a cluster's members");
  AddClientOptions(members, members_args.get());
  members->add_option("--format", members_args->format, "table or json")
      ->envname("MESHVAULT_FORMAT");
  members->callback([members_args, exit_code] { *exit_code = RunMembers(*members_args); });

  struct HealthArgs {
    std::string http = kDefaultHttp;
    int timeout_ms = 2000;
  };
  auto health_args = std::make_shared<HealthArgs>();
  CLI::App* health = app->add_subcommand(
      "health", "check an agent's /v1/sys/health (exit 0 when healthy, 1 otherwise)");
  health->add_option("--http", health_args->http, "the agent's admin HTTP address (host:port)")
      ->envname("MESHVAULT_HTTP");
  health->add_option("--timeout", health_args->timeout_ms, "milliseconds to wait for the answer")
      ->envname("MESHVAULT_HEALTH_TIMEOUT");
  health->callback([health_args, exit_code] {
    *exit_code = RunHealth(health_args->http, health_args->timeout_ms);
  });
}

}  // namespace cli
