// meshvault agent: run a vault node until SIGINT or SIGTERM, then leave gracefully.
// meshvault members: ask a node for its member list over an authenticated client link.
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "admin_http.h"
#include "client_args.h"
#include "commands.h"
#include "credentials.h"
#include "exit_codes.h"
#include "mesh/client.h"
#include "mesh/node.h"
#include "vault_node.h"

namespace cli {

// Mesh and vault log lines to a spdlog logger (also used by `meshvault dev`).
mesh::LogFunction SpdlogSink(std::shared_ptr<spdlog::logger> logger) {
  return [logger](mesh::LogLevel level, const std::string& line) {
    switch (level) {
      case mesh::LogLevel::kDebug:
        logger->debug(line);
        break;
      case mesh::LogLevel::kInfo:
        logger->info(line);
        break;
      case mesh::LogLevel::kWarn:
        logger->warn(line);
        break;
      case mesh::LogLevel::kError:
        logger->error(line);
        break;
    }
  };
}

namespace {

struct AgentArgs {
  std::string data_dir;
  std::string listen = "127.0.0.1:7400";
  std::string advertise;
  std::vector<std::string> join;
  std::string http;
  CredentialPaths creds;
  std::string log_level = "info";
  std::string timings = "default";
};

int RunAgent(const AgentArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("agent", m); };
  const auto level = spdlog::level::from_str(a.log_level);
  if (level == spdlog::level::off && a.log_level != "off") {
    return fail("--log-level must be debug, info, warn, error or off");
  }
  if (a.timings != "default" && a.timings != "fast")
    return fail("--timings must be default or fast");
  Credentials c;
  if (auto s = LoadCredentials(a.creds, mesh::Role::kNode, &c); !s.ok()) return fail(s.message());

  auto logger =
      std::make_shared<spdlog::logger>("agent", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(level);
  VaultNodeSetup setup;
  setup.creds = c;
  setup.data_dir = a.data_dir;
  setup.listen = a.listen;
  setup.advertise = a.advertise;
  setup.join = a.join;
  setup.fast_timings = a.timings == "fast";
  setup.log = SpdlogSink(logger);

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  VaultNode vault_node;
  if (auto s = vault_node.Start(setup); !s.ok()) return fail(s.message());
  mesh::Node* node = vault_node.node();
  AdminHttp http;
  if (!a.http.empty()) {
    std::string bound;
    mesh::Node* n = node;
    auto handler = [n](const std::string& path) -> HttpResponse {
      if (path == "/v1/members") {
        mesh::Json members = mesh::Json::array();
        for (const auto& m : n->Members()) members.push_back(mesh::MemberToJson(m));
        return {200, "application/json", mesh::Json{{"members", members}}.dump(2) + "\n"};
      }
      if (path == "/v1/status") {
        return {200, "application/json", mesh::StatusToJson(n->Status()).dump(2) + "\n"};
      }
      return {404, "application/json",
              R"({"errors":["not found"]})"
              "\n"};
    };
    if (auto s = http.Start(a.http, handler, &bound); !s.ok()) return fail(s.message());
    logger->info("http API on http://{}", bound);
  }
  const auto status = node->Status();
  logger->info("node {} ({}) is up on {}", c.certificate.name, mesh::ShortId(c.certificate.subject),
               status.listen);
  int sig = 0;
  sigwait(&signals, &sig);
  logger->info("signal {}: leaving the mesh", sig);
  http.Stop();
  vault_node.Stop();
  return kExitOk;
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
  agent->add_option("--http", agent_args->http, "IP:port for the read-only HTTP API")
      ->envname("MESHVAULT_HTTP");
  agent->add_option("--ca", agent_args->creds.ca, "the CA certificate")->envname("MESHVAULT_CA");
  agent->add_option("--cert", agent_args->creds.cert, "this node's certificate")
      ->envname("MESHVAULT_CERT");
  agent->add_option("--key", agent_args->creds.key, "this node's private key")
      ->envname("MESHVAULT_KEY");
  agent->add_option("--log-level", agent_args->log_level, "debug, info, warn or error")
      ->envname("MESHVAULT_LOG_LEVEL");
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
}

}  // namespace cli
