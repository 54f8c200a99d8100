#include "protocol/manifest.h"

#include <algorithm>
#include <set>

namespace vault::protocol {
namespace {

constexpr uint8_t kFormat = 1;
constexpr std::string_view kManifestDomain = "meshvault manifest v1";
constexpr std::string_view kManifestIdDomain = "meshvault manifest id v1";
constexpr std::string_view kAckDomain = "meshvault share ack v1";

mesh::Status Bad(const std::string& why) { return mesh::Status::Corruption("manifest: " + why); }

}  // namespace

mesh::Status CheckSecretName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSecretNameBytes) {
    return mesh::Status::InvalidArgument("secret name must be 1 to 128 bytes");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == '/';
    if (!ok) {
      return mesh::Status::InvalidArgument("secret name may hold only letters, digits and . _ - /");
    }
  }
  if (name[0] == '/' || name[0] == '.') {
    return mesh::Status::InvalidArgument("secret name must not start with '/' or '.'");
  }
  return mesh::Status::OK();
}

std::vector<uint8_t> Manifest::Body() const {
  std::vector<uint8_t> out;
  out.reserve(512 + holders.size() * (2 + mesh::kMaxCertificateBytes));
  ByteWriter w(&out);
  w.U8(kFormat);
  w.Str8(name);
  w.U64(version);
  w.U8(deleted ? 1 : 0);
  w.U8(static_cast<uint8_t>(threshold));
  w.U8(static_cast<uint8_t>(count));
  w.Bytes16(owner.Encode());
  w.U8(static_cast<uint8_t>(readers.size()));
  for (const auto& r : readers) w.Str8(r);
  for (const auto& h : holders) w.Bytes16(h.Encode());
  w.I64(created_ms);
  return out;
}

std::vector<uint8_t> Manifest::Encode() const {
  std::vector<uint8_t> out = Body();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

mesh::Status Manifest::Decode(std::span<const uint8_t> bytes, Manifest* out) {
  if (bytes.size() > kMaxManifestBytes) return Bad("too large");
  ByteReader r(bytes);
  Manifest m;
  if (r.U8() != kFormat) return Bad("unknown format");
  m.name = r.Str8();
  m.version = r.U64();
  const uint8_t deleted = r.U8();
  m.threshold = r.U8();
  m.count = r.U8();
  auto cert = r.Bytes16();
  if (!r.ok()) return Bad("truncated");
  if (auto s = mesh::Certificate::Decode(cert, &m.owner); !s.ok()) return Bad(s.message());
  const uint8_t readers = r.U8();
  for (int i = 0; i < readers && r.ok(); ++i) m.readers.push_back(r.Str8());
  m.holders.resize(m.count);
  for (auto& h : m.holders) {
    auto encoded = r.Bytes16();
    if (!r.ok()) break;
    if (auto s = mesh::Certificate::Decode(encoded, &h); !s.ok()) {
      return Bad("holder " + s.message());
    }
  }
  m.created_ms = r.I64();
  r.Fixed(&m.signature);
  if (!r.done()) return Bad("truncated or trailing bytes");
  if (deleted > 1) return Bad("bad deleted flag");
  m.deleted = deleted == 1;
  if (auto s = CheckSecretName(m.name); !s.ok()) return Bad(s.message());
  if (m.version == 0 || m.version > static_cast<uint64_t>(INT64_MAX)) {
    return Bad("version out of range");
  }
  if (m.deleted) {
    if (m.count != 0 || m.threshold != 0) return Bad("a tombstone has holders");
  } else if (m.threshold < 2 || m.count < m.threshold) {
    return Bad("threshold must be 2..count");
  }
  if (m.readers.size() > kMaxReaders) return Bad("too many readers");
  for (const auto& reader : m.readers) {
    if (!mesh::CheckName(reader).ok()) return Bad("bad reader name");
  }
  const auto ids = m.HolderIds();
  if (std::set<mesh::PublicKey>(ids.begin(), ids.end()).size() != ids.size()) {
    return Bad("a holder is listed twice");
  }
  *out = std::move(m);
  return mesh::Status::OK();
}

void Manifest::Sign(const mesh::SigningKey& owner_key) {
  signature = owner_key.Sign(kManifestDomain, Body());
}

mesh::Status Manifest::VerifyOwner(const mesh::PublicKey& ca_key) const {
  if (auto s = mesh::VerifyCertificate(owner, ca_key, created_ms / 1000, mesh::Role::kClient);
      !s.ok()) {
    return Bad("owner certificate: " + s.message());
  }
  if (!mesh::VerifySignature(owner.subject, kManifestDomain, Body(), signature)) {
    return Bad("bad owner signature");
  }
  return mesh::Status::OK();
}

mesh::Status Manifest::Verify(const mesh::PublicKey& ca_key) const {
  const int64_t at = created_ms / 1000;
  if (auto s = VerifyOwner(ca_key); !s.ok()) return s;
  for (const auto& h : holders) {
    if (auto s = mesh::VerifyCertificate(h, ca_key, at, mesh::Role::kNode); !s.ok()) {
      return Bad("holder " + h.name + " certificate: " + s.message());
    }
  }
  return mesh::Status::OK();
}

Digest Manifest::Id() const { return Hash(kManifestIdDomain, Encode()); }

bool Manifest::MayRead(std::string_view client_name) const {
  return owner.name == client_name ||
         std::find(readers.begin(), readers.end(), client_name) != readers.end();
}

int Manifest::HolderIndex(const mesh::PublicKey& node) const {
  for (size_t i = 0; i < holders.size(); ++i) {
    if (holders[i].subject == node) return static_cast<int>(i);
  }
  return -1;
}

std::vector<mesh::PublicKey> Manifest::HolderIds() const {
  std::vector<mesh::PublicKey> out;
  for (const auto& h : holders) out.push_back(h.subject);
  return out;
}

std::vector<uint8_t> AckBody(const Digest& manifest_id, int index) {
  std::vector<uint8_t> out(manifest_id.begin(), manifest_id.end());
  out.push_back(static_cast<uint8_t>(index));
  return out;
}

mesh::Signature SignAck(const mesh::SigningKey& holder_key, const Digest& manifest_id, int index) {
  return holder_key.Sign(kAckDomain, AckBody(manifest_id, index));
}

bool VerifyAck(const Manifest& manifest, int index, const mesh::Signature& ack) {
  if (index < 0 || index >= static_cast<int>(manifest.holders.size())) return false;
  return mesh::VerifySignature(manifest.holders[index].subject, kAckDomain,
                               AckBody(manifest.Id(), index), ack);
}

std::vector<uint8_t> Commit::Encode() const {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.Bytes32(manifest.Encode());
  w.U8(static_cast<uint8_t>(acks.size()));
  for (const auto& a : acks) w.Bytes(a);
  return out;
}

mesh::Status Commit::Decode(std::span<const uint8_t> bytes, Commit* out) {
  if (bytes.size() > kMaxCommitBytes) return Bad("commit too large");
  ByteReader r(bytes);
  auto manifest = r.Bytes32();
  if (!r.ok()) return Bad("truncated commit");
  Commit c;
  if (auto s = Manifest::Decode(manifest, &c.manifest); !s.ok()) return s;
  c.acks.resize(r.U8());
  for (auto& a : c.acks) r.Fixed(&a);
  if (!r.done()) return Bad("truncated or trailing bytes in commit");
  *out = std::move(c);
  return mesh::Status::OK();
}

mesh::Status Commit::Verify(const mesh::PublicKey& ca_key) const {
  if (auto s = manifest.Verify(ca_key); !s.ok()) return s;
  if (acks.size() != manifest.holders.size()) return Bad("acknowledgements missing");
  const Digest id = manifest.Id();
  for (size_t i = 0; i < acks.size(); ++i) {
    if (!mesh::VerifySignature(manifest.holders[i].subject, kAckDomain,
                               AckBody(id, static_cast<int>(i)), acks[i])) {
      return Bad("bad acknowledgement from holder " + std::to_string(i + 1));
    }
  }
  return mesh::Status::OK();
}

}  // namespace vault::protocol
