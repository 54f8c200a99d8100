#include "mesh/key_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

namespace {
std::string TempDir() {
  char tmpl[] = "/tmp/meshvault-keys-XXXXXX";
  return mkdtemp(tmpl);
}
bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("key and certificate files round-trip with safe permissions", "[key_files]") {
  const std::string dir = TempDir();
  const mesh::SigningKey ca = mesh::SigningKey::Generate();
  const mesh::SigningKey key = mesh::SigningKey::Generate();
  const auto cert = mesh::IssueCertificate(ca, mesh::Role::kNode, "n1", key.public_key(), 1, 2);
  REQUIRE(mesh::WritePrivateKeyFile(dir + "/n1.key", key).ok());
  REQUIRE(mesh::WriteCertificateFile(dir + "/n1.crt", cert).ok());
  struct stat st {};
  REQUIRE(stat((dir + "/n1.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  mesh::SigningKey back;
  REQUIRE(mesh::ReadPrivateKeyFile(dir + "/n1.key", &back).ok());
  CHECK(back.public_key() == key.public_key());
  mesh::Certificate cert_back;
  REQUIRE(mesh::ReadCertificateFile(dir + "/n1.crt", &cert_back).ok());
  CHECK(cert_back.Encode() == cert.Encode());

  // Never replaced silently.
  CHECK(Contains(mesh::WritePrivateKeyFile(dir + "/n1.key", ca).message(), "already exists"));
  REQUIRE(mesh::ReadPrivateKeyFile(dir + "/n1.key", &back).ok());
  CHECK(back.public_key() == key.public_key());
}

TEST_CASE("a private key readable by others is refused", "[key_files][bad]") {
  const std::string dir = TempDir();
  const std::string path = dir + "/k.key";
  REQUIRE(mesh::WritePrivateKeyFile(path, mesh::SigningKey::Generate()).ok());
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  mesh::SigningKey k;
  const auto s = mesh::ReadPrivateKeyFile(path, &k);
  CHECK(s.code() == mesh::Status::Code::kPermissionDenied);
  CHECK(Contains(s.message(), "mode 0644"));
  CHECK(Contains(s.message(), "chmod 600"));
  REQUIRE(chmod(path.c_str(), 0640) == 0);
  CHECK_FALSE(mesh::ReadPrivateKeyFile(path, &k).ok());
}

TEST_CASE("damaged key and certificate files are refused with a reason", "[key_files][bad]") {
  const std::string dir = TempDir();
  auto write = [&](const std::string& name, const std::string& text, mode_t mode) {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  };
  mesh::SigningKey k;
  mesh::Certificate c;
  CHECK(Contains(mesh::ReadPrivateKeyFile(write("a.key", "hello", 0600), &k).message(),
                 "no '-----BEGIN MESHVAULT PRIVATE KEY-----' line"));
  CHECK(Contains(mesh::ReadPrivateKeyFile(write("b.key",
                                                "-----BEGIN MESHVAULT PRIVATE KEY-----\n!!!\n"
                                                "-----END MESHVAULT PRIVATE KEY-----\n",
                                                0600),
                                          &k)
                     .message(),
                 "not valid base64"));
  CHECK(Contains(mesh::ReadPrivateKeyFile(write("c.key",
                                                "-----BEGIN MESHVAULT PRIVATE KEY-----\nAAAA\n"
                                                "-----END MESHVAULT PRIVATE KEY-----\n",
                                                0600),
                                          &k)
                     .message(),
                 "not a meshvault Ed25519 private key"));
  CHECK(Contains(mesh::ReadCertificateFile(write("d.crt",
                                                 "-----BEGIN MESHVAULT CERTIFICATE-----\nAAAA\n"
                                                 "-----END MESHVAULT CERTIFICATE-----\n",
                                                 0644),
                                           &c)
                     .message(),
                 "bad magic"));
  CHECK(Contains(mesh::ReadCertificateFile(dir + "/missing.crt", &c).message(), "cannot open"));
  CHECK(Contains(mesh::ReadCertificateFile(dir, &c).message(), "not a regular file"));
}

TEST_CASE("an armoured block with a byte 0x80-0xFF is refused", "[key_files][fuzz]") {
  // libsodium 1.0.18 reads every byte 0x80-0xFF as '/' (see the text_share and vault_json fuzz
  // findings): an armoured key or certificate spelled with one must not decode.
  const uint8_t bytes[] = {0xff, 0xff, 0xff};
  const mesh::SecureBuffer text = mesh::Armor(mesh::kCertificateLabel, bytes);
  std::string odd(text.view());
  const size_t slash = odd.find("////");
  REQUIRE(slash != std::string::npos);
  odd.replace(slash, 4, "//\xc3\xa9");
  mesh::SecureBuffer out;
  REQUIRE(mesh::Dearmor(text.view(), mesh::kCertificateLabel, &out).ok());
  CHECK(out.size() == 3);
  CHECK_FALSE(mesh::Dearmor(odd, mesh::kCertificateLabel, &out).ok());
}
