#include "protocol/get_request.h"

#include "protocol/manifest.h"

namespace vault::protocol {
namespace {

constexpr uint8_t kFormat = 1;
constexpr std::string_view kGetDomain = "meshvault get v1";

}  // namespace

std::vector<uint8_t> GetRequest::Body() const {
  std::vector<uint8_t> out;
  out.reserve(kMaxGetRequestBytes);  // one allocation (and no false -Warray-bounds from g++ 12)
  ByteWriter w(&out);
  w.U8(kFormat);
  w.Str8(name);
  w.U64(version);
  w.Bytes(nonce);
  w.Bytes(reply_key);
  w.I64(time_ms);
  w.Bytes16(client.Encode());
  return out;
}

std::vector<uint8_t> GetRequest::Encode() const {
  std::vector<uint8_t> out = Body();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

mesh::Status GetRequest::Decode(std::span<const uint8_t> bytes, GetRequest* out) {
  const auto bad = [](const std::string& why) {
    return mesh::Status::InvalidArgument("get request: " + why);
  };
  if (bytes.size() > kMaxGetRequestBytes) return bad("too large");
  ByteReader r(bytes);
  GetRequest g;
  if (r.U8() != kFormat) return bad("unknown format");
  g.name = r.Str8();
  g.version = r.U64();
  r.Fixed(&g.nonce);
  r.Fixed(&g.reply_key);
  g.time_ms = r.I64();
  auto cert = r.Bytes16();
  r.Fixed(&g.signature);
  if (!r.done()) return bad("truncated or trailing bytes");
  if (auto s = CheckSecretName(g.name); !s.ok()) return bad(s.message());
  if (auto s = mesh::Certificate::Decode(cert, &g.client); !s.ok()) return bad(s.message());
  *out = std::move(g);
  return mesh::Status::OK();
}

void GetRequest::Sign(const mesh::SigningKey& client_key) {
  signature = client_key.Sign(kGetDomain, Body());
}

mesh::Status GetRequest::Verify(const mesh::PublicKey& ca_key, int64_t now_ms, int64_t window_ms,
                                CertificateCache* certs) const {
  // The time first: cheap, and written so no subtraction can overflow.
  if (time_ms < now_ms - window_ms || time_ms > now_ms + window_ms) {
    return mesh::Status::PermissionDenied("request time is outside the " +
                                          std::to_string(window_ms / 1000) + " s window");
  }
  const int64_t now_s = now_ms / 1000;
  if (auto s = certs ? certs->Verify(client, ca_key, now_s, mesh::Role::kClient)
                     : mesh::VerifyCertificate(client, ca_key, now_s, mesh::Role::kClient);
      !s.ok()) {
    return mesh::Status::PermissionDenied("client certificate: " + s.message());
  }
  if (!mesh::VerifySignature(client.subject, kGetDomain, Body(), signature)) {
    return mesh::Status::PermissionDenied("bad request signature");
  }
  return mesh::Status::OK();
}

}  // namespace vault::protocol
