#include "client_args.h"

#include <iostream>

namespace cli {

void AddClientOptions(CLI::App* cmd, ClientArgs* a) {
  cmd->add_option("--address", a->address, "the node to ask (host:port)")
      ->envname("MESHVAULT_ADDRESS");
  cmd->add_option("--ca", a->creds.ca, "the CA certificate")->envname("MESHVAULT_CA");
  cmd->add_option("--cert", a->creds.cert, "your client certificate")->envname("MESHVAULT_CERT");
  cmd->add_option("--key", a->creds.key, "your private key")->envname("MESHVAULT_KEY");
}

mesh::Status LoadClientOptions(const ClientArgs& args, bool allow_node, mesh::ClientOptions* out) {
  Credentials c;
  mesh::Status s = LoadCredentials(args.creds, mesh::Role::kClient, &c);
  if (!s.ok() && !(allow_node && LoadCredentials(args.creds, mesh::Role::kNode, &c).ok())) {
    return s;
  }
  out->key = c.key;
  out->certificate = c.certificate;
  out->ca_key = c.ca_key;
  return mesh::Status::OK();
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      // Cells hold text from nodes: no control characters reach the terminal.
      for (char c : r[i]) line += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace cli
