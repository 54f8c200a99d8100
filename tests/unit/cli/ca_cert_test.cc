// meshvault ca create / cert create, run as an operator would.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <string>

#include "mesh/certificate.h"
#include "mesh/key_files.h"
#include "process.h"

namespace {
testing::ProcessResult Mv(std::vector<std::string> args) {
  args.insert(args.begin(), testing::MeshvaultPath());
  auto r = testing::RunProcess(args);
  REQUIRE_FALSE(r.timed_out);
  return r;
}
std::string TempDir() {
  char tmpl[] = "/tmp/meshvault-ca-XXXXXX";
  return mkdtemp(tmpl);
}
bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}
mode_t Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("ca create and cert create make verifiable files with safe modes", "[cli][ca]") {
  const std::string d = TempDir();
  auto ca = Mv({"ca", "create", "--out", d + "/ca"});
  REQUIRE(ca.exit_code == 0);
  CHECK(Mode(d + "/ca/ca.key") == 0600);
  auto node = Mv({"cert", "create", "--ca", d + "/ca", "--name", "node-1", "--out", d + "/n"});
  REQUIRE(node.exit_code == 0);
  auto client = testing::RunProcess(
      {testing::MeshvaultPath(), "cert", "create", "--name", "alice", "--client"}, {},
      {"MESHVAULT_CA_DIR=" + d + "/ca", "MESHVAULT_OUT=" + d + "/n", "MESHVAULT_DAYS=30"});
  REQUIRE(client.exit_code == 0);
  CHECK(Mode(d + "/n/node-1.key") == 0600);
  CHECK(Mode(d + "/n/alice.key") == 0600);

  mesh::Certificate ca_cert, node_cert, client_cert;
  REQUIRE(mesh::ReadCertificateFile(d + "/ca/ca.crt", &ca_cert).ok());
  REQUIRE(mesh::ReadCertificateFile(d + "/n/node-1.crt", &node_cert).ok());
  REQUIRE(mesh::ReadCertificateFile(d + "/n/alice.crt", &client_cert).ok());
  const int64_t now = std::time(nullptr);
  CHECK(mesh::VerifyCertificate(ca_cert, ca_cert.subject, now, mesh::Role::kCa).ok());
  CHECK(mesh::VerifyCertificate(node_cert, ca_cert.subject, now, mesh::Role::kNode).ok());
  CHECK(mesh::VerifyCertificate(client_cert, ca_cert.subject, now, mesh::Role::kClient).ok());
  CHECK(client_cert.not_after - client_cert.not_before == 30 * 86400);
  mesh::SigningKey node_key;
  REQUIRE(mesh::ReadPrivateKeyFile(d + "/n/node-1.key", &node_key).ok());
  CHECK(node_key.public_key() == node_cert.subject);
}

TEST_CASE("ca and cert commands refuse what they must", "[cli][ca][bad]") {
  const std::string d = TempDir();
  REQUIRE(Mv({"ca", "create", "--out", d + "/ca"}).exit_code == 0);
  auto again = Mv({"ca", "create", "--out", d + "/ca"});
  CHECK(again.exit_code == 1);
  CHECK(Contains(again.err, "already holds a CA"));
  auto bad_name = Mv({"cert", "create", "--ca", d + "/ca", "--name", "a/b", "--out", d});
  CHECK(bad_name.exit_code == 1);
  CHECK(Contains(bad_name.err, "--name"));
  REQUIRE(Mv({"cert", "create", "--ca", d + "/ca", "--name", "n1", "--out", d}).exit_code == 0);
  auto dup = Mv({"cert", "create", "--ca", d + "/ca", "--name", "n1", "--out", d});
  CHECK(dup.exit_code == 1);
  CHECK(Contains(dup.err, "already exists"));
  REQUIRE(chmod((d + "/ca/ca.key").c_str(), 0644) == 0);
  auto open_key = Mv({"cert", "create", "--ca", d + "/ca", "--name", "n2", "--out", d});
  CHECK(open_key.exit_code == 1);
  CHECK(Contains(open_key.err, "chmod 600"));
  auto no_ca = Mv({"cert", "create", "--ca", d + "/nope", "--name", "n3", "--out", d});
  CHECK(no_ca.exit_code == 1);
  CHECK(Contains(no_ca.err, "cannot open"));
  auto days = Mv({"ca", "create", "--out", d + "/ca2", "--days", "0"});
  CHECK(days.exit_code == 1);
}
