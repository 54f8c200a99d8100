#include "storage_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mesh/key_files.h"
#include "vault/share_store.h"

namespace vault::storage_key {

using mesh::Status;

namespace {

static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kStorageKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

// The armoured file is about 100 bytes; anything much larger is not a key file.
constexpr size_t kMaxFileBytes = 4096;
// Includes its terminating NUL, which separates it from the name.
constexpr char kAdDomain[] = "meshvault share at rest v1";

std::string Errno() { return std::strerror(errno); }

// "meshvault share at rest v1\0" || name || '\0' || version as 8-byte big-endian.
std::vector<uint8_t> AssociatedData(std::string_view name, uint64_t version) {
  std::vector<uint8_t> ad(sizeof(kAdDomain) + name.size() + 1 + 8, 0);
  std::memcpy(ad.data(), kAdDomain, sizeof(kAdDomain));
  if (!name.empty()) std::memcpy(ad.data() + sizeof(kAdDomain), name.data(), name.size());
  uint8_t* be = ad.data() + sizeof(kAdDomain) + name.size() + 1;  // after the name's NUL
  for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(version >> (56 - 8 * i));
  return ad;
}

Status ReadAll(const std::string& path, int fd, mesh::SecureBuffer* out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IOError("cannot stat " + path + ": " + Errno());
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied("storage key " + path + " is readable by others (mode " + mode +
                                    "); run: chmod 600 " + path);
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return Status::InvalidArgument(path + " is too large for a storage key file");
  }
  mesh::SecureBuffer buf(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot read " + path + ": " + Errno());
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  buf.Resize(done);
  *out = std::move(buf);
  return Status::OK();
}

}  // namespace

Status Read(const std::string& path, mesh::SecureBuffer* key) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return Status::NotFound("no storage key " + path);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + Errno());
  mesh::SecureBuffer text;
  Status s = ReadAll(path, fd, &text);
  ::close(fd);
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
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 nonce.data(), key.data()) != 0) {
    return false;  // `out` is wiped when it goes out of scope
  }
  out.Resize(static_cast<size_t>(written));
  *plaintext = std::move(out);
  return true;
}

}  // namespace vault::storage_key
