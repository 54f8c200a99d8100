#include "mesh/certificate.h"

#include <catch2/catch.hpp>

using mesh::Certificate;
using mesh::Role;
using mesh::SigningKey;
using mesh::Status;

namespace {
constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("a certificate round-trips and verifies against its CA", "[certificate]") {
  const SigningKey ca = SigningKey::Generate();
  const SigningKey node = SigningKey::Generate();
  const Certificate c =
      mesh::IssueCertificate(ca, Role::kNode, "node-1", node.public_key(), kNow, kNow + kDay);
  Certificate back;
  REQUIRE(Certificate::Decode(c.Encode(), &back).ok());
  CHECK(back.name == "node-1");
  CHECK(back.subject == node.public_key());
  CHECK(back.Encode() == c.Encode());
  CHECK(c.Encode().size() <= mesh::kMaxCertificateBytes);
  CHECK(mesh::VerifyCertificate(back, ca.public_key(), kNow + 10, Role::kNode).ok());
}

TEST_CASE("certificate checks each name what failed", "[certificate][bad]") {
  const SigningKey ca = SigningKey::Generate();
  const SigningKey other_ca = SigningKey::Generate();
  const SigningKey key = SigningKey::Generate();
  const Certificate node =
      mesh::IssueCertificate(ca, Role::kNode, "n1", key.public_key(), kNow, kNow + kDay);

  Status s = mesh::VerifyCertificate(
      mesh::IssueCertificate(other_ca, Role::kNode, "n1", key.public_key(), kNow, kNow + kDay),
      ca.public_key(), kNow, Role::kNode);
  CHECK(s.code() == Status::Code::kPermissionDenied);
  CHECK(Contains(s.message(), "issued by another CA"));

  s = mesh::VerifyCertificate(node, ca.public_key(), kNow + kDay + 1, Role::kNode);
  CHECK(Contains(s.message(), "expired at"));

  s = mesh::VerifyCertificate(node, ca.public_key(), kNow - mesh::kClockSkewSeconds - 1,
                              Role::kNode);
  CHECK(Contains(s.message(), "not valid until"));
  CHECK(mesh::VerifyCertificate(node, ca.public_key(), kNow - mesh::kClockSkewSeconds + 1,
                                Role::kNode)
            .ok());

  const Certificate client =
      mesh::IssueCertificate(ca, Role::kClient, "alice", key.public_key(), kNow, kNow + kDay);
  s = mesh::VerifyCertificate(client, ca.public_key(), kNow, Role::kNode);
  CHECK(Contains(s.message(), "has role client, expected node"));

  // Any change to a signed field breaks the signature.
  Certificate renamed = node;
  renamed.name = "n2";
  CHECK(Contains(mesh::VerifyCertificate(renamed, ca.public_key(), kNow, Role::kNode).message(),
                 "bad signature"));
  Certificate longer = node;
  longer.not_after += kDay;
  CHECK_FALSE(mesh::VerifyCertificate(longer, ca.public_key(), kNow, Role::kNode).ok());
  Certificate promoted = node;
  promoted.role = Role::kCa;
  CHECK_FALSE(mesh::VerifyCertificate(promoted, ca.public_key(), kNow, Role::kCa).ok());
}

TEST_CASE("certificate decoding is strict", "[certificate][bad]") {
  const SigningKey ca = SigningKey::Generate();
  const auto bytes =
      mesh::IssueCertificate(ca, Role::kNode, "n1", ca.public_key(), kNow, kNow + 1).Encode();
  Certificate c;
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    REQUIRE_FALSE(Certificate::Decode({bytes.data(), cut}, &c).ok());
  }
  auto extra = bytes;
  extra.push_back(0);
  CHECK_FALSE(Certificate::Decode(extra, &c).ok());
  auto bad_magic = bytes;
  bad_magic[0] = 'X';
  CHECK(Contains(Certificate::Decode(bad_magic, &c).message(), "bad magic"));
  auto bad_role = bytes;
  bad_role[4] = 9;
  CHECK(Contains(Certificate::Decode(bad_role, &c).message(), "unknown role"));
  auto bad_name = bytes;
  bad_name[6] = '/';
  CHECK(Contains(Certificate::Decode(bad_name, &c).message(), "letters, digits"));
  CHECK_FALSE(mesh::CheckName("").ok());
  CHECK_FALSE(mesh::CheckName(std::string(65, 'a')).ok());
  CHECK(mesh::CheckName("db-01.prod_eu").ok());
}

TEST_CASE("signatures are domain-separated", "[identity]") {
  const SigningKey k = SigningKey::Generate();
  const std::vector<uint8_t> msg = {1, 2, 3};
  const auto sig = k.Sign("purpose A", msg);
  CHECK(mesh::VerifySignature(k.public_key(), "purpose A", msg, sig));
  CHECK_FALSE(mesh::VerifySignature(k.public_key(), "purpose B", msg, sig));
  CHECK_FALSE(mesh::VerifySignature(k.public_key(), "purpose A", {msg.data(), 2}, sig));
  const SigningKey same = SigningKey::FromSeed(
      std::span<const uint8_t, mesh::kSeedBytes>(k.seed().data(), mesh::kSeedBytes));
  CHECK(same.public_key() == k.public_key());
}
