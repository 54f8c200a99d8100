#include "storage_key.h"

#include <sodium.h>

#include <cstring>

#include "ct.h"
#include "mesh/key_files.h"
#include "vault/share_store.h"

namespace vault::storage_key {

using mesh::Status;

namespace {

static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kStorageKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

// Includes its terminating NUL, which separates it from the name.
constexpr char kAdDomain[] = "meshvault share at rest v1";

// "meshvault share at rest v1\0" || name || '\0' || version as 8-byte big-endian.
std::vector<uint8_t> AssociatedData(std::string_view name, uint64_t version) {
  std::vector<uint8_t> ad(sizeof(kAdDomain) + name.size() + 1 + 8, 0);
  std::memcpy(ad.data(), kAdDomain, sizeof(kAdDomain));
  if (!name.empty()) std::memcpy(ad.data() + sizeof(kAdDomain), name.data(), name.size());
  uint8_t* be = ad.data() + sizeof(kAdDomain) + name.size() + 1;  // after the name's NUL
  for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(version >> (56 - 8 * i));
  return ad;
}

}  // namespace

Status Read(const std::string& path, mesh::SecureBuffer* key) {
  mesh::SecureBuffer text;
  Status s = mesh::ReadPrivateFile(path, "storage key", &text);
  if (!s.ok()) return s;
  mesh::SecureBuffer bytes;
  if (s = mesh::Dearmor(text.view(), kLabel, &bytes); !s.ok()) {
    return Status::InvalidArgument("storage key " + path + ": " + s.message());
  }
  if (bytes.size() != kStorageKeyBytes) {
    return Status::InvalidArgument("storage key " + path + " holds " +
                                   std::to_string(bytes.size()) + " bytes; expected " +
                                   std::to_string(kStorageKeyBytes));
  }
  *key = std::move(bytes);
  return Status::OK();
}

Status Create(const std::string& path, mesh::SecureBuffer* key) {
  if (Status s = mesh::InitSodium(); !s.ok()) return s;
  mesh::SecureBuffer fresh(kStorageKeyBytes);
  randombytes_buf(fresh.data(), fresh.size());
  const mesh::SecureBuffer text = mesh::Armor(kLabel, fresh.span());
  if (Status s = mesh::WriteFileDurably(path, text.span(), 0600, false); !s.ok()) return s;
  *key = std::move(fresh);
  return Status::OK();
}

void Seal(const mesh::SecureBuffer& key, std::string_view name, uint64_t version,
          std::span<const uint8_t> plaintext, std::vector<uint8_t>* nonce,
          std::vector<uint8_t>* ciphertext) {
  const std::vector<uint8_t> ad = AssociatedData(name, version);
  nonce->assign(kNonceBytes, 0);
  randombytes_buf(nonce->data(), nonce->size());
  ciphertext->assign(plaintext.size() + kTagBytes, 0);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext->data(), &written, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             nonce->data(), key.data());
  ciphertext->resize(static_cast<size_t>(written));
}

bool Open(const mesh::SecureBuffer& key, std::string_view name, uint64_t version,
          std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext,
          mesh::SecureBuffer* plaintext) {
  *plaintext = mesh::SecureBuffer();
  if (key.size() != kStorageKeyBytes || nonce.size() != kNonceBytes ||
      ciphertext.size() < kTagBytes) {
    return false;
  }
  const std::vector<uint8_t> ad = AssociatedData(name, version);
  mesh::SecureBuffer out(ciphertext.size() - kTagBytes);
  unsigned long long written = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      out.data(), &written, nullptr, ciphertext.data(), ciphertext.size(), ad.data(), ad.size(),
      nonce.data(), key.data());
  // The MAC verdict (and the length libsodium derives from it) is public by design.
  if (ct::Declassify(rc) != 0) return false;  // `out` is wiped when it goes out of scope
  out.Resize(static_cast<size_t>(ct::Declassify(written)));
  *plaintext = std::move(out);
  return true;
}

}  // namespace vault::storage_key
