// The vault client commands: put, get, list, delete, audit, status. Each connects to one
// node with a client certificate; secrets are split and recombined here, never on a node.
#include <sodium.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "client_args.h"
#include "commands.h"
#include "exit_codes.h"
#include "mesh/key_files.h"
#include "secret_io.h"
#include "vault/agent.h"
#include "vault/client.h"

namespace cli {
namespace {

struct VaultArgs : ClientArgs {
  std::string name;
  int threshold = 3;
  int shares = 5;
  std::vector<std::string> readers;
  std::string in;
  std::string out;
  uint64_t version = 0;
};

// Text that came from nodes, made safe for a terminal: control characters become '?'.
std::string Printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Local mistakes exit 1; anything the cluster said or failed to do exits 2.
int Report(std::string_view command, const mesh::Status& s) {
  std::cerr << "meshvault " << command << ": " << Printable(s.message()) << "\n";
  const auto code = s.code();
  return code == mesh::Status::Code::kInvalidArgument ||
                 code == mesh::Status::Code::kResourceExhausted
             ? kExitUsage
             : kExitRemote;
}

mesh::Status Connect(const VaultArgs& a, std::unique_ptr<vault::VaultClient>* out) {
  mesh::ClientOptions o;
  if (auto s = LoadClientOptions(a, /*allow_node=*/false, &o); !s.ok()) {
    return mesh::Status::InvalidArgument(s.message());
  }
  return vault::VaultClient::Connect(a.address, o, out);
}

std::string FormatTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int RunPut(const VaultArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("put", m); };
  if (a.format != "table" && a.format != "json") return fail("--format must be table or json");
  mesh::SecureBuffer secret;
  mesh::Status s;
  if (!a.in.empty()) {
    s = ReadPath(a.in, vault::kMaxVaultSecretBytes, &secret);
  } else if (!StdinIsTerminal()) {
    s = ReadFd(STDIN_FILENO, "standard input", vault::kMaxVaultSecretBytes, &secret);
  } else {
    mesh::SecureBuffer again;
    s = PromptHidden("Secret: ", vault::kMaxVaultSecretBytes, &secret);
    if (s.ok()) s = PromptHidden("Secret (again): ", vault::kMaxVaultSecretBytes, &again);
    if (s.ok() && (again.size() != secret.size() ||
                   sodium_memcmp(again.data(), secret.data(), secret.size()) != 0)) {
      return fail("the two entries differ; nothing was stored");
    }
  }
  if (!s.ok()) return fail(s.message());
  std::unique_ptr<vault::VaultClient> client;
  if (s = Connect(a, &client); !s.ok()) return Report("put", s);
  vault::PutOptions o;
  o.threshold = a.threshold;
  o.shares = a.shares;
  o.readers = a.readers;
  vault::PutResult result;
  if (s = client->Put(a.name, secret.span(), o, &result); !s.ok()) return Report("put", s);
  if (a.format == "json") {
    std::cout << mesh::Json{{"name", a.name},
                            {"version", result.version},
                            {"threshold", a.threshold},
                            {"shares", a.shares},
                            {"holders", result.holders}}
                     .dump(2)
              << "\n";
  } else {
    std::string holders;
    for (const auto& h : result.holders) holders += (holders.empty() ? "" : ", ") + h;
    std::cout << "stored " << a.name << " version " << result.version << ": " << a.threshold
              << " of " << a.shares << " shares needed; holders " << holders << "\n";
  }
  return kExitOk;
}

int RunGet(const VaultArgs& a) {
  std::unique_ptr<vault::VaultClient> client;
  mesh::Status s = Connect(a, &client);
  if (!s.ok()) return Report("get", s);
  vault::GetOptions o;
  o.version = a.version;
  mesh::SecureBuffer secret;
  vault::GetResult result;
  s = client->Get(a.name, o, &secret, &result);
  for (const auto& p : result.problems) {
    std::cerr << "meshvault get: warning: " << Printable(p) << "\n";
  }
  if (!s.ok()) return Report("get", s);
  if (a.out.empty() || a.out == "-") {
    s = WriteAll(STDOUT_FILENO, secret.span());
  } else {
    s = mesh::WriteFileDurably(a.out, secret.span(), 0600, /*overwrite=*/true);
  }
  if (!s.ok()) return Fail("get", s.message());
  return kExitOk;
}

int RunDelete(const VaultArgs& a) {
  std::unique_ptr<vault::VaultClient> client;
  mesh::Status s = Connect(a, &client);
  vault::DeleteResult result;
  if (s.ok()) s = client->Delete(a.name, &result);
  if (!s.ok()) return Report("delete", s);
  for (const auto& p : result.problems) {
    std::cerr << "meshvault delete: warning: " << Printable(p)
              << " (it wipes its share when it rejoins)\n";
  }
  std::cout << "deleted " << a.name << "\n";
  return kExitOk;
}

int RunList(const VaultArgs& a) {
  if (a.format != "table" && a.format != "json")
    return Fail("list", "--format must be table or json");
  std::unique_ptr<vault::VaultClient> client;
  mesh::Status s = Connect(a, &client);
  mesh::Json reply;
  if (s.ok()) s = client->List(&reply);
  if (!s.ok()) return Report("list", s);
  const auto secrets = reply.value("secrets", mesh::Json::array());
  if (a.format == "json") {
    std::cout << secrets.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"Name", "Version", "Threshold", "Live holders", "Owner", "Created"}};
  for (const auto& x : secrets) {
    rows.push_back(
        {x.value("name", "?"), std::to_string(x.value("version", 0)),
         std::to_string(x.value("threshold", 0)) + "/" + std::to_string(x.value("shares", 0)),
         std::to_string(x.value("live_holders", 0)) + "/" + std::to_string(x.value("shares", 0)),
         x.value("owner", "?"), FormatTime(x.value("created_ms", int64_t{0}))});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunAudit(const VaultArgs& a) {
  if (a.format != "table" && a.format != "json")
    return Fail("audit", "--format must be table or json");
  std::unique_ptr<vault::VaultClient> client;
  mesh::Status s = Connect(a, &client);
  mesh::Json reply;
  if (s.ok()) s = client->Audit(a.name, &reply);
  if (!s.ok()) return Report("audit", s);
  for (const auto& e : reply.value("errors", mesh::Json::array())) {
    if (e.is_string())
      std::cerr << "meshvault audit: warning: " << Printable(e.get<std::string>()) << "\n";
  }
  const auto records = reply.value("records", mesh::Json::array());
  if (a.format == "json") {
    std::cout << records.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"Time", "Node", "Version", "Action", "Client", "Outcome"}};
  for (const auto& r : records) {
    rows.push_back({FormatTime(r.value("time_ms", int64_t{0})), r.value("node", "?"),
                    std::to_string(r.value("version", 0)), r.value("action", "?"),
                    r.value("client", "?"), r.value("outcome", "?")});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunStatus(const VaultArgs& a) {
  if (a.format != "table" && a.format != "json")
    return Fail("status", "--format must be table or json");
  std::unique_ptr<vault::VaultClient> client;
  mesh::Status s = Connect(a, &client);
  mesh::Json reply;
  if (s.ok()) s = client->NodeStatus(&reply);
  if (!s.ok()) return Report("status", s);
  if (a.format == "json") {
    std::cout << reply.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"Key", "Value"}};
  for (const auto& [k, v] : reply.items()) {
    rows.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
  }
  PrintTable(rows);
  return kExitOk;
}

CLI::App* AddVaultCommand(CLI::App* app, const char* name, const char* help,
                          std::shared_ptr<VaultArgs> args, int* exit_code,
                          int (*run)(const VaultArgs&), bool takes_name) {
  CLI::App* cmd = app->add_subcommand(name, help);
  AddClientOptions(cmd, args.get());
  if (takes_name) cmd->add_option("NAME", args->name, "the secret's name")->required();
  cmd->callback([args, exit_code, run] { *exit_code = run(*args); });
  return cmd;
}

}  // namespace

void AddVaultCommands(CLI::App* app, int* exit_code) {
  auto put_args = std::make_shared<VaultArgs>();
  CLI::App* put = AddVaultCommand(app, "put",
                                  "store a secret in the cluster: split here, one sealed share "
                                  "per holder. The secret is read from --in, standard input, or "
                                  "a hidden prompt",
                                  put_args, exit_code, RunPut, true);
  put->add_option("-t,--threshold", put_args->threshold, "shares needed to get it back")
      ->envname("MESHVAULT_THRESHOLD");
  put->add_option("-n,--shares", put_args->shares, "shares made, one per holder")
      ->envname("MESHVAULT_SHARES");
  put->add_option("--reader", put_args->readers,
                  "a client certificate name that may get the secret (repeatable)")
      ->delimiter(',')
      ->envname("MESHVAULT_READERS");
  put->add_option("--in", put_args->in, "read the secret from FILE, or - for standard input")
      ->envname("MESHVAULT_IN");
  put->add_option("--format", put_args->format, "table or json")->envname("MESHVAULT_FORMAT");

  auto get_args = std::make_shared<VaultArgs>();
  CLI::App* get = AddVaultCommand(app, "get",
                                  "get a secret back: t shares, recombined here; the secret "
                                  "goes to standard output or --out",
                                  get_args, exit_code, RunGet, true);
  get->add_option("--version", get_args->version, "the version to get (default: the current)")
      ->envname("MESHVAULT_SECRET_VERSION");
  get->add_option("--out", get_args->out, "write the secret to FILE (0600) instead of stdout")
      ->envname("MESHVAULT_OUT");

  AddVaultCommand(app, "delete", "delete a secret: its holders wipe their shares",
                  std::make_shared<VaultArgs>(), exit_code, RunDelete, true);
  for (auto [name, help, run, takes_name] :
       {std::tuple{"list", "list the secrets you may read", &RunList, false},
        std::tuple{"audit", "show a secret's audit log from every node", &RunAudit, true},
        std::tuple{"status", "show the vault status of the node you talk to", &RunStatus, false}}) {
    auto args = std::make_shared<VaultArgs>();
    CLI::App* cmd = AddVaultCommand(app, name, help, args, exit_code, run, takes_name);
    cmd->add_option("--format", args->format, "table or json")->envname("MESHVAULT_FORMAT");
  }
}

}  // namespace cli
