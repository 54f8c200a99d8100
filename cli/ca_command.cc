// meshvault ca create / cert create: the cluster CA and the certificates it issues.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "commands.h"
#include "exit_codes.h"
#include "mesh/certificate.h"
#include "mesh/key_files.h"
#include "secret_io.h"

namespace cli {
namespace {

constexpr int64_t kDay = 86400;

// Never replace key material: refuse when either file of the pair is already there.
mesh::Status RefuseExisting(const std::string& key_path, const std::string& cert_path) {
  if (::access(key_path.c_str(), F_OK) == 0 || ::access(cert_path.c_str(), F_OK) == 0) {
    return mesh::Status::InvalidArgument(key_path + " or " + cert_path +
                                         " already exists; not replacing it");
  }
  return mesh::Status::OK();
}

mesh::Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return mesh::Status::OK();
  return mesh::Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
}

struct CaArgs {
  std::string out;
  std::string name = "meshvault-ca";
  int days = 3650;
};

int RunCaCreate(const CaArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("ca create", m); };
  if (auto s = mesh::CheckName(a.name); !s.ok()) return fail("--name: " + s.message());
  if (a.days < 1 || a.days > 36500) return fail("--days must be between 1 and 36500");
  if (auto s = MakeDir(a.out); !s.ok()) return fail(s.message());
  const std::string key_path = a.out + "/ca.key";
  const std::string cert_path = a.out + "/ca.crt";
  if (!RefuseExisting(key_path, cert_path).ok()) {
    return fail(a.out + " already holds a CA (ca.key or ca.crt); not replacing it");
  }
  const mesh::SigningKey ca = mesh::SigningKey::Generate();
  const int64_t now = std::time(nullptr);
  const mesh::Certificate cert = mesh::IssueCertificate(ca, mesh::Role::kCa, a.name,
                                                        ca.public_key(), now, now + a.days * kDay);
  if (auto s = mesh::WritePrivateKeyFile(key_path, ca); !s.ok()) return fail(s.message());
  if (auto s = mesh::WriteCertificateFile(cert_path, cert); !s.ok()) return fail(s.message());
  const std::string msg = "created CA " + mesh::ShortId(ca.public_key()) + ": " + key_path +
                          " (keep it secret and offline), " + cert_path + "\n";
  (void)WriteAll(STDOUT_FILENO, msg);
  return kExitOk;
}

struct CertArgs {
  std::string ca;
  std::string name;
  std::string out;
  bool client = false;
  int days = 365;
};

int RunCertCreate(const CertArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("cert create", m); };
  if (auto s = mesh::CheckName(a.name); !s.ok()) return fail("--name: " + s.message());
  if (a.days < 1 || a.days > 36500) return fail("--days must be between 1 and 36500");
  mesh::SigningKey ca;
  mesh::Certificate ca_cert;
  if (auto s = mesh::ReadPrivateKeyFile(a.ca + "/ca.key", &ca); !s.ok()) return fail(s.message());
  if (auto s = mesh::ReadCertificateFile(a.ca + "/ca.crt", &ca_cert); !s.ok()) {
    return fail(s.message());
  }
  if (ca_cert.role != mesh::Role::kCa || ca_cert.subject != ca.public_key()) {
    return fail(a.ca + "/ca.crt does not belong to " + a.ca + "/ca.key");
  }
  if (auto s = MakeDir(a.out); !s.ok()) return fail(s.message());
  const std::string key_path = a.out + "/" + a.name + ".key";
  const std::string cert_path = a.out + "/" + a.name + ".crt";
  if (auto s = RefuseExisting(key_path, cert_path); !s.ok()) return fail(s.message());
  const mesh::SigningKey key = mesh::SigningKey::Generate();
  const int64_t now = std::time(nullptr);
  const int64_t not_after = std::min(now + a.days * kDay, ca_cert.not_after);
  const mesh::Role role = a.client ? mesh::Role::kClient : mesh::Role::kNode;
  const mesh::Certificate cert =
      mesh::IssueCertificate(ca, role, a.name, key.public_key(), now, not_after);
  if (auto s = mesh::WritePrivateKeyFile(key_path, key); !s.ok()) return fail(s.message());
  if (auto s = mesh::WriteCertificateFile(cert_path, cert); !s.ok()) return fail(s.message());
  const std::string msg = "created " + std::string(mesh::RoleName(role)) + " certificate '" +
                          a.name + "' (" + mesh::ShortId(key.public_key()) + "): " + key_path +
                          ", " + cert_path + "\n";
  (void)WriteAll(STDOUT_FILENO, msg);
  return kExitOk;
}

}  // namespace

void AddCaCommands(CLI::App* app, int* exit_code) {
  CLI::App* ca = app->add_subcommand("ca", "Manage the cluster certificate authority");
  ca->require_subcommand(1);
  auto ca_args = std::make_shared<CaArgs>();
  CLI::App* create = ca->add_subcommand(
      "create", "Create a CA: DIR/ca.key (0600, keep offline) and DIR/ca.crt (give to nodes)");
  create->add_option("--out", ca_args->out, "directory to create the CA in")
      ->required()
      ->envname("MESHVAULT_CA_DIR");
  create->add_option("--name", ca_args->name, "the CA's name")->envname("MESHVAULT_CA_NAME");
  create->add_option("--days", ca_args->days, "validity in days (default 3650)")
      ->envname("MESHVAULT_CA_DAYS");
  create->callback([ca_args, exit_code] { *exit_code = RunCaCreate(*ca_args); });

  CLI::App* cert = app->add_subcommand("cert", "Issue node and client certificates");
  cert->require_subcommand(1);
  auto cert_args = std::make_shared<CertArgs>();
  CLI::App* issue = cert->add_subcommand(
      "create", "Issue a certificate: OUT/NAME.key (0600) and OUT/NAME.crt, signed by the CA");
  issue->add_option("--ca", cert_args->ca, "the CA directory (holding ca.key and ca.crt)")
      ->required()
      ->envname("MESHVAULT_CA_DIR");
  issue->add_option("--name", cert_args->name, "the holder's name (node or user)")
      ->required()
      ->envname("MESHVAULT_NAME");
  issue->add_option("--out", cert_args->out, "directory to write the key and certificate to")
      ->required()
      ->envname("MESHVAULT_OUT");
  issue->add_flag("--client", cert_args->client, "a client certificate (default: node)")
      ->envname("MESHVAULT_CLIENT");
  issue->add_option("--days", cert_args->days, "validity in days (default 365)")
      ->envname("MESHVAULT_DAYS");
  issue->callback([cert_args, exit_code] { *exit_code = RunCertCreate(*cert_args); });
}

}  // namespace cli
