// What every client command shares: the node to talk to and the client's credentials, each
// flag with its MESHVAULT_* environment twin.
#ifndef CLI_CLIENT_ARGS_H_
#define CLI_CLIENT_ARGS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "credentials.h"
#include "mesh/client.h"

namespace cli {

struct ClientArgs {
  std::string address = "127.0.0.1:7400";
  CredentialPaths creds;
  std::string format = "table";
};

void AddClientOptions(CLI::App* cmd, ClientArgs* args);

// Loads the credentials (a client certificate, or a node certificate when `allow_node`).
mesh::Status LoadClientOptions(const ClientArgs& args, bool allow_node, mesh::ClientOptions* out);

// Prints rows as columns separated by two spaces; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace cli

#endif  // CLI_CLIENT_ARGS_H_
