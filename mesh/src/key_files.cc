#include "mesh/key_files.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mesh {
namespace {

constexpr size_t kMaxFileBytes = 64 * 1024;
constexpr char kKeyMagic[4] = {'M', 'V', 'K', '1'};
constexpr uint8_t kKeyTypeEd25519Seed = 1;

std::string Errno() { return std::strerror(errno); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status ReadSmallFile(const std::string& path, int fd, SecureBuffer* out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IOError("cannot stat " + path + ": " + Errno());
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return Status::InvalidArgument(path + " is too large for a key or certificate file");
  }
  SecureBuffer buf(static_cast<size_t>(st.st_size));
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

SecureBuffer Armor(std::string_view label, std::span<const uint8_t> bytes) {
  SecureBuffer out;
  const std::string begin = "-----BEGIN " + std::string(label) + "-----\n";
  const std::string end = "-----END " + std::string(label) + "-----\n";
  const size_t b64_len = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  SecureBuffer b64(b64_len);
  sodium_bin2base64(reinterpret_cast<char*>(b64.data()), b64_len, bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  const std::string_view text = b64.view().substr(0, b64_len - 1);
  out.Reserve(begin.size() + end.size() + text.size() + text.size() / 64 + 2);
  out.Append(begin);
  for (size_t i = 0; i < text.size(); i += 64) {
    out.Append(text.substr(i, 64));
    out.Append("\n");
  }
  out.Append(end);
  return out;
}

Status Dearmor(std::string_view text, std::string_view label, SecureBuffer* bytes) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  const size_t b = text.find(begin);
  if (b == std::string_view::npos) {
    return Status::InvalidArgument("no '" + begin + "' line");
  }
  const size_t body = b + begin.size();
  const size_t e = text.find(end, body);
  if (e == std::string_view::npos) return Status::InvalidArgument("no '" + end + "' line");
  const std::string_view b64 = text.substr(body, e - body);
  // libsodium 1.0.18's base64 decoder reads every byte 0x80-0xFF as '/': refuse them first.
  unsigned high = 0;
  for (char c : b64) high |= static_cast<unsigned char>(c);
  if ((high & 0x80U) != 0) {
    return Status::InvalidArgument("the " + std::string(label) + " block is not valid base64");
  }
  SecureBuffer out(b64.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* stop = nullptr;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), " \t\r\n", &len, &stop,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      stop != b64.data() + b64.size()) {
    return Status::InvalidArgument("the " + std::string(label) + " block is not valid base64");
  }
  out.Resize(len);
  *bytes = std::move(out);
  return Status::OK();
}

Status WriteFileDurably(const std::string& path, std::span<const uint8_t> bytes, mode_t mode,
                        bool overwrite) {
  struct stat st {};
  if (!overwrite && ::lstat(path.c_str(), &st) == 0) {
    return Status::InvalidArgument(path + " already exists; not replacing it");
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + Errno());
  Status s;
  size_t done = 0;
  while (s.ok() && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = Status::IOError("cannot write " + tmp + ": " + Errno());
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (s.ok() && ::fchmod(fd, mode) != 0)
    s = Status::IOError("cannot chmod " + tmp + ": " + Errno());
  if (s.ok() && ::fsync(fd) != 0) s = Status::IOError("cannot sync " + tmp + ": " + Errno());
  ::close(fd);
  if (s.ok() && !overwrite && ::link(tmp.c_str(), path.c_str()) != 0) {
    // link() fails if `path` appeared meanwhile: never replace what we were told to keep.
    s = Status::IOError("cannot create " + path + ": " + Errno());
  } else if (s.ok() && overwrite && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::IOError("cannot replace " + path + ": " + Errno());
  }
  ::unlink(tmp.c_str());
  if (s.ok()) {
    const int dir = ::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return s;
}

Status WriteCertificateFile(const std::string& path, const Certificate& cert) {
  const std::vector<uint8_t> bytes = cert.Encode();
  const SecureBuffer text = Armor(kCertificateLabel, bytes);
  return WriteFileDurably(path, text.span(), 0644, false);
}

Status ReadCertificateFile(const std::string& path, Certificate* cert) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + Errno());
  SecureBuffer text;
  Status s = ReadSmallFile(path, fd, &text);
  ::close(fd);
  if (!s.ok()) return s;
  SecureBuffer bytes;
  if (s = Dearmor(text.view(), kCertificateLabel, &bytes); !s.ok()) {
    return Status::InvalidArgument(path + ": " + s.message());
  }
  if (s = Certificate::Decode(bytes.span(), cert); !s.ok()) {
    return Status::InvalidArgument(path + ": " + s.message());
  }
  return Status::OK();
}

Status WritePrivateKeyFile(const std::string& path, const SigningKey& key) {
  SecureBuffer raw;
  raw.Append(std::string_view(kKeyMagic, 4));
  raw.Append(std::span<const uint8_t>(&kKeyTypeEd25519Seed, 1));
  raw.Append(key.seed());
  const SecureBuffer text = Armor(kPrivateKeyLabel, raw.span());
  return WriteFileDurably(path, text.span(), 0600, false);
}

Status ReadPrivateFile(const std::string& path, std::string_view what, SecureBuffer* text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = "cannot open " + path + ": " + Errno();
    return errno == ENOENT ? Status::NotFound(why) : Status::IOError(why);
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(std::string(what) + " " + path +
                                    " is readable by others (mode " + mode + "); run: chmod 600 " +
                                    path);
  }
  Status s = ReadSmallFile(path, fd, text);
  ::close(fd);
  return s;
}

Status ReadPrivateKeyFile(const std::string& path, SigningKey* key) {
  SecureBuffer text;
  Status s = ReadPrivateFile(path, "private key", &text);
  if (!s.ok()) return s;
  SecureBuffer raw;
  if (s = Dearmor(text.view(), kPrivateKeyLabel, &raw); !s.ok()) {
    return Status::InvalidArgument(path + ": " + s.message());
  }
  if (raw.size() != 5 + kSeedBytes || std::memcmp(raw.data(), kKeyMagic, 4) != 0 ||
      raw.data()[4] != kKeyTypeEd25519Seed) {
    return Status::InvalidArgument(path + ": not a meshvault Ed25519 private key");
  }
  *key = SigningKey::FromSeed(std::span<const uint8_t, kSeedBytes>(raw.data() + 5, kSeedBytes));
  return Status::OK();
}

}  // namespace mesh
