// Member records (mesh/src/core/records.*), as HELLO, SYNC and record gossip carry them.
// Input: one byte of mode, then the record. Mode bit 0 re-signs a record that decodes with
// the key of its certificate's subject (when that is a fixed identity), so verification gets
// past the member signature and exercises the certificate checks (CA, window, role).
#include "core/bytes.h"
#include "core/records.h"
#include "fuzz_common.h"

using namespace mesh::core;

namespace {

std::vector<uint8_t> Reencode(const MemberRecord& r) {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  w.U8(kRecordVersion);
  w.U8(r.left ? 1 : 0);
  w.U64(r.incarnation);
  w.I64(r.signed_ms);
  w.Str8(r.address);
  w.Bytes16(r.certificate.Encode());
  w.Bytes(r.signature);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  if (size < 1) return 0;
  const bool resign = (data[0] & 1) != 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  MemberRecord record;
  if (!MemberRecord::Decode(in, &record).ok()) return 0;
  FUZZ_CHECK(record.encoded == std::vector<uint8_t>(in.begin(), in.end()));
  FUZZ_CHECK(Reencode(record) == record.encoded);
  FUZZ_CHECK(!record.address.empty() && record.address.size() <= kMaxAddressBytes);
  const auto& ids = fuzz::Ids();
  if (resign) {
    const mesh::SigningKey* key = ids.KeyFor(record.certificate.subject);
    if (key == nullptr) return 0;
    const MemberRecord made = MemberRecord::Make(*key, record.certificate, record.address,
                                                 record.incarnation, record.left, record.signed_ms);
    MemberRecord back;
    FUZZ_CHECK(MemberRecord::Decode(made.encoded, &back).ok());
    FUZZ_CHECK(back.encoded == made.encoded);
    const mesh::Status s = back.Verify(ids.ca.public_key(), fuzz::kNowS);
    // A record signed by its member verifies exactly when its certificate does.
    FUZZ_CHECK(s.ok() == mesh::VerifyCertificate(back.certificate, ids.ca.public_key(), fuzz::kNowS,
                                                 mesh::Role::kNode)
                             .ok());
    return 0;
  }
  (void)record.Verify(ids.ca.public_key(), fuzz::kNowS);
  return 0;
}
