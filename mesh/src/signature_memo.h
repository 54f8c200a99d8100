// Test-only hook of mesh::VerifySignature (identity.cc), for the simulator, which runs
// thousands of nodes in one process that all check the same bytes.
#ifndef MESH_SIGNATURE_MEMO_H_
#define MESH_SIGNATURE_MEMO_H_

#include <cstdint>

namespace mesh {

// Remember the answer of each distinct check (key, domain, message,
// signature) so libsodium runs once per distinct check and thread. Every caller still goes
// through VerifySignature with the exact bytes; only libsodium's answer is reused. Each
// thread has its own table (no locks on the check path); turning the memo on or off starts
// new tables. Call these two while no thread checks signatures; never turned on in a node.
void SetSignatureMemoForTesting(bool on);
struct SignatureMemoStats {
  uint64_t checks = 0;    // VerifySignature calls while on, on every thread
  uint64_t computed = 0;  // of which libsodium ran
};
SignatureMemoStats GetSignatureMemoStats();

}  // namespace mesh

#endif  // MESH_SIGNATURE_MEMO_H_
