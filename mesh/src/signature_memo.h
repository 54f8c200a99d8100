// Test-only hook of mesh::VerifySignature (identity.cc), for the simulator, which runs
// thousands of nodes in one process that all check the same bytes.
#ifndef MESH_SIGNATURE_MEMO_H_
#define MESH_SIGNATURE_MEMO_H_

#include <cstdint>

namespace mesh {

// Remember the answer of each distinct check (key, domain, message,
// signature) so libsodium runs once per distinct check. Every caller still goes through
// VerifySignature with the exact bytes; only libsodium's answer is reused. Not thread-safe
// (one thread checks signatures while it is on); never turned on in a node.
void SetSignatureMemoForTesting(bool on);
struct SignatureMemoStats {
  uint64_t checks = 0;    // VerifySignature calls while on
  uint64_t computed = 0;  // of which libsodium ran
};
SignatureMemoStats GetSignatureMemoStats();

}  // namespace mesh

#endif  // MESH_SIGNATURE_MEMO_H_
