#include "mesh/certificate.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace mesh {
namespace {

constexpr char kMagic[4] = {'M', 'V', 'C', '1'};
constexpr std::string_view kSignDomain = "meshvault certificate v1";

void PutI64(std::vector<uint8_t>* out, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(u >> (8 * i)));
}

int64_t GetI64(const uint8_t* p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<int64_t>(u);
}

std::string FormatTime(int64_t t) {
  char buf[32];
  const time_t tt = static_cast<time_t>(t);
  tm utc{};
  gmtime_r(&tt, &utc);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kCa:
      return "ca";
    case Role::kNode:
      return "node";
    case Role::kClient:
      return "client";
  }
  return "unknown";
}

Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("a name must be 1 to 64 characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("a name may hold only letters, digits, '.', '_', '-'");
  }
  return Status::OK();
}

std::vector<uint8_t> Certificate::SignedBytes() const {
  std::vector<uint8_t> out;
  out.reserve(kMaxCertificateBytes);
  out.insert(out.end(), kMagic, kMagic + 4);
  out.push_back(static_cast<uint8_t>(role));
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), subject.begin(), subject.end());
  PutI64(&out, not_before);
  PutI64(&out, not_after);
  out.insert(out.end(), serial.begin(), serial.end());
  out.insert(out.end(), issuer.begin(), issuer.end());
  return out;
}

std::vector<uint8_t> Certificate::Encode() const {
  std::vector<uint8_t> out = SignedBytes();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Status Certificate::Decode(std::span<const uint8_t> b, Certificate* out) {
  if (b.size() < 6 || std::memcmp(b.data(), kMagic, 4) != 0) {
    return Status::InvalidArgument("not a meshvault certificate (bad magic)");
  }
  if (b[4] > static_cast<uint8_t>(Role::kClient)) {
    return Status::InvalidArgument("certificate has an unknown role");
  }
  const size_t name_len = b[5];
  const size_t want = 6 + name_len + 32 + 8 + 8 + 8 + 32 + 64;
  if (b.size() != want) {
    return Status::InvalidArgument("certificate is " + std::to_string(b.size()) +
                                   " bytes, expected " + std::to_string(want));
  }
  Certificate c;
  c.role = static_cast<Role>(b[4]);
  c.name.assign(reinterpret_cast<const char*>(b.data() + 6), name_len);
  if (Status s = CheckName(c.name); !s.ok())
    return Status::InvalidArgument("certificate: " + s.message());
  const uint8_t* p = b.data() + 6 + name_len;
  std::copy_n(p, 32, c.subject.begin());
  c.not_before = GetI64(p + 32);
  c.not_after = GetI64(p + 40);
  std::copy_n(p + 48, 8, c.serial.begin());
  std::copy_n(p + 56, 32, c.issuer.begin());
  std::copy_n(p + 88, 64, c.signature.begin());
  if (c.not_after < c.not_before) {
    return Status::InvalidArgument("certificate expires before it starts");
  }
  *out = std::move(c);
  return Status::OK();
}

Certificate IssueCertificate(const SigningKey& ca, Role role, std::string_view name,
                             const PublicKey& subject, int64_t not_before, int64_t not_after) {
  Certificate c;
  c.role = role;
  c.name = std::string(name);
  c.subject = subject;
  c.not_before = not_before;
  c.not_after = not_after;
  randombytes_buf(c.serial.data(), c.serial.size());
  c.issuer = ca.public_key();
  c.signature = ca.Sign(kSignDomain, c.SignedBytes());
  return c;
}

std::string_view CertificateErrorName(CertificateError error) {
  switch (error) {
    case CertificateError::kNone:
      return "none";
    case CertificateError::kOtherCa:
      return "other_ca";
    case CertificateError::kBadSignature:
      return "bad_certificate_signature";
    case CertificateError::kNotYetValid:
      return "not_yet_valid";
    case CertificateError::kExpired:
      return "expired";
    case CertificateError::kWrongRole:
      return "wrong_role";
  }
  return "unknown";
}

Status VerifyCertificate(const Certificate& cert, const PublicKey& ca_key, int64_t now,
                         Role expected, CertificateError* error) {
  CertificateError unused = CertificateError::kNone;
  CertificateError& e = error != nullptr ? *error : unused;
  e = CertificateError::kNone;
  if (cert.issuer != ca_key) {
    e = CertificateError::kOtherCa;
    return Status::PermissionDenied("certificate of '" + cert.name +
                                    "' was issued by another CA (" + ShortId(cert.issuer) +
                                    ", this cluster's is " + ShortId(ca_key) + ")");
  }
  if (!VerifySignature(ca_key, kSignDomain, cert.SignedBytes(), cert.signature)) {
    e = CertificateError::kBadSignature;
    return Status::PermissionDenied("certificate of '" + cert.name + "' has a bad signature");
  }
  if (now + kClockSkewSeconds < cert.not_before) {
    e = CertificateError::kNotYetValid;
    return Status::PermissionDenied("certificate of '" + cert.name + "' is not valid until " +
                                    FormatTime(cert.not_before));
  }
  if (now > cert.not_after) {
    e = CertificateError::kExpired;
    return Status::PermissionDenied("certificate of '" + cert.name + "' expired at " +
                                    FormatTime(cert.not_after));
  }
  if (cert.role != expected) {
    e = CertificateError::kWrongRole;
    return Status::PermissionDenied("certificate of '" + cert.name + "' has role " +
                                    std::string(RoleName(cert.role)) + ", expected " +
                                    std::string(RoleName(expected)));
  }
  return Status::OK();
}

}  // namespace mesh
