// Certificates (mesh/src/certificate.cc), as handshake payloads, member records, manifests
// and get requests carry them. Input: one byte of mode, then the certificate. What decodes
// must re-encode to the same bytes and pass CheckName; verification runs against the fixed
// CA. Mode bit 0 re-signs the certificate with the CA (so the window and role checks run).
#include "fuzz_common.h"
#include "mesh/certificate.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  if (size < 1) return 0;
  const bool resign = (data[0] & 1) != 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  mesh::Certificate cert;
  if (!mesh::Certificate::Decode(in, &cert).ok()) return 0;
  FUZZ_CHECK(cert.Encode() == std::vector<uint8_t>(in.begin(), in.end()));
  FUZZ_CHECK(in.size() <= mesh::kMaxCertificateBytes);
  FUZZ_CHECK(mesh::CheckName(cert.name).ok());
  FUZZ_CHECK(cert.not_before <= cert.not_after);
  const auto& ids = fuzz::Ids();
  const mesh::PublicKey ca = ids.ca.public_key();
  if (resign) {
    cert.issuer = ca;
    cert.signature = ids.ca.Sign("meshvault certificate v1", cert.SignedBytes());
  }
  mesh::CertificateError error = mesh::CertificateError::kNone;
  for (mesh::Role role : {mesh::Role::kNode, mesh::Role::kClient}) {
    const mesh::Status s = mesh::VerifyCertificate(cert, ca, fuzz::kNowS, role, &error);
    FUZZ_CHECK(s.ok() == (error == mesh::CertificateError::kNone));
    if (s.ok()) {
      FUZZ_CHECK(cert.issuer == ca && cert.role == role);
      FUZZ_CHECK(fuzz::kNowS + mesh::kClockSkewSeconds >= cert.not_before &&
                 fuzz::kNowS <= cert.not_after);
    }
  }
  // Manifests are checked at their own created_ms / 1000, which the owner picks: extreme
  // clocks must not overflow (UBSan watches the arithmetic).
  (void)mesh::VerifyCertificate(cert, ca, INT64_MAX / 1000, cert.role);
  (void)mesh::VerifyCertificate(cert, ca, INT64_MIN / 1000, cert.role);
  return 0;
}
