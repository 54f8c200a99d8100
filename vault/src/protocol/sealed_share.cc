#include "protocol/sealed_share.h"

#include <cstring>

namespace vault::protocol {
namespace {

constexpr uint8_t kFormat = 1;
constexpr std::string_view kDealerDomain = "meshvault dealer share v1";

// Writes little-endian fields straight into secure memory.
void PutLe(mesh::SecureBuffer* out, uint64_t v, int n) {
  uint8_t b[8];
  for (int i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  out->Append(std::span<const uint8_t>(b, n));
}

}  // namespace

BoxKey BoxKey::Generate() {
  BoxKey k;
  k.secret_ = mesh::SecureBuffer(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(k.public_.data(), k.secret_.data());
  return k;
}

BoxKey BoxKey::FromSigningKey(const mesh::SigningKey& key) {
  BoxKey k;
  mesh::SecureBuffer ed_secret(crypto_sign_SECRETKEYBYTES);
  mesh::PublicKey ed_public{};
  crypto_sign_seed_keypair(ed_public.data(), ed_secret.data(), key.seed().data());
  k.secret_ = mesh::SecureBuffer(crypto_box_SECRETKEYBYTES);
  crypto_sign_ed25519_sk_to_curve25519(k.secret_.data(), ed_secret.data());
  crypto_scalarmult_base(k.public_.data(), k.secret_.data());
  return k;
}

bool NodeBoxKey(const mesh::PublicKey& node, BoxPublicKey* out) {
  return crypto_sign_ed25519_pk_to_curve25519(out->data(), node.data()) == 0;
}

mesh::SecureBuffer DealerShare::Body() const {
  mesh::SecureBuffer out;
  out.Reserve(1 + 1 + name.size() + 8 + holder.size() + 1 + manifest_id.size() + 4 +
              payload.size() + mesh::kSignatureBytes);
  PutLe(&out, kFormat, 1);
  PutLe(&out, name.size(), 1);
  out.Append(name);
  PutLe(&out, version, 8);
  out.Append(holder);
  PutLe(&out, static_cast<uint64_t>(index), 1);
  out.Append(manifest_id);
  PutLe(&out, payload.size(), 4);
  out.Append(payload.span());
  return out;
}

void DealerShare::Sign(const mesh::SigningKey& dealer) {
  signature = dealer.Sign(kDealerDomain, Body().span());
}

bool DealerShare::VerifySignature(const mesh::PublicKey& dealer) const {
  return mesh::VerifySignature(dealer, kDealerDomain, Body().span(), signature);
}

std::vector<uint8_t> DealerShare::SealTo(const BoxPublicKey& recipient) const {
  mesh::SecureBuffer plain = Body();
  plain.Append(signature);
  std::vector<uint8_t> sealed(plain.size() + crypto_box_SEALBYTES);
  crypto_box_seal(sealed.data(), plain.data(), plain.size(), recipient.data());
  return sealed;
}

mesh::Status DealerShare::Open(std::span<const uint8_t> sealed, const BoxKey& key,
                               DealerShare* out) {
  const auto bad = [](const char* why) {
    return mesh::Status::Corruption(std::string("sealed share: ") + why);
  };
  if (sealed.size() < crypto_box_SEALBYTES || sealed.size() > kMaxSealedShareBytes) {
    return bad("bad size");
  }
  mesh::SecureBuffer plain(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(), key.public_key().data(),
                           key.secret()) != 0) {
    return bad("does not open with this key");
  }
  // Parse by hand so the payload goes from secure memory to secure memory.
  ByteReader r(plain.span());
  DealerShare s;
  if (r.U8() != kFormat) return bad("unknown format");
  s.name = r.Str8();
  s.version = r.U64();
  r.Fixed(&s.holder);
  s.index = r.U8();
  r.Fixed(&s.manifest_id);
  const auto payload = r.Bytes32();
  r.Fixed(&s.signature);
  if (!r.done()) return bad("truncated or trailing bytes");
  s.payload = mesh::SecureBuffer(payload.size());
  if (!payload.empty()) std::memcpy(s.payload.data(), payload.data(), payload.size());
  *out = std::move(s);
  return mesh::Status::OK();
}

}  // namespace vault::protocol
