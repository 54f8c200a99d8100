// Armoured key and certificate files (mesh/src/key_files.cc): the input is a file's text,
// written to a private scratch file and read back with the real readers (no refactor needed:
// the parse is only reachable through them). Input byte 0 picks the reader; the rest is the
// file. Dearmor runs on the text directly too, and what it decodes must re-armour and
// decode to the same bytes.
#include "fuzz_common.h"
#include "mesh/key_files.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::span<const uint8_t> text(data + 1, size - 1);
  for (std::string_view label : {mesh::kCertificateLabel, mesh::kPrivateKeyLabel}) {
    mesh::SecureBuffer bytes;
    if (!mesh::Dearmor(fuzz::AsText(text), label, &bytes).ok()) continue;
    const mesh::SecureBuffer again = mesh::Armor(label, bytes.span());
    mesh::SecureBuffer back;
    FUZZ_CHECK(mesh::Dearmor(again.view(), label, &back).ok());
    FUZZ_CHECK(back.view() == bytes.view());
  }
  const std::string path = fuzz::WriteScratchFile("key-file", text);
  if (mode & 1) {
    mesh::SigningKey key;
    if (mesh::ReadPrivateKeyFile(path, &key).ok()) FUZZ_CHECK(key.valid());
  } else {
    mesh::Certificate cert;
    if (mesh::ReadCertificateFile(path, &cert).ok()) {
      mesh::Certificate back;
      FUZZ_CHECK(mesh::Certificate::Decode(cert.Encode(), &back).ok());
    }
  }
  return 0;
}
