// The share store's key file, vault.key (vault/src/storage_key.cc): the input is the file's
// text, written to a private scratch file and read with storage_key::Read. A key that reads
// must be 32 bytes and seal and open a row.
#include "fuzz_common.h"
#include "storage_key.h"
#include "vault/share_store.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  const std::string path = fuzz::WriteScratchFile("vault.key", {data, size});
  mesh::SecureBuffer key;
  if (!vault::storage_key::Read(path, &key).ok()) return 0;
  FUZZ_CHECK(key.size() == vault::kStorageKeyBytes);
  const uint8_t share[] = {1, 2, 3};
  std::vector<uint8_t> nonce, ciphertext;
  vault::storage_key::Seal(key, "name", 1, share, &nonce, &ciphertext);
  mesh::SecureBuffer plain;
  FUZZ_CHECK(vault::storage_key::Open(key, "name", 1, nonce, ciphertext, &plain));
  FUZZ_CHECK(plain.size() == sizeof(share));
  FUZZ_CHECK(!vault::storage_key::Open(key, "name", 2, nonce, ciphertext, &plain));
  return 0;
}
