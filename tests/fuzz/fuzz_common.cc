#include "fuzz_common.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "mesh/secure_buffer.h"

namespace fuzz {
namespace {

// splitmix64: quality is irrelevant here, only that the stream depends on the seed alone.
uint64_t g_state = 0;

uint64_t Next() {
  uint64_t z = (g_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

const char* Name() { return "meshvault-fuzz-deterministic"; }
uint32_t Random() { return static_cast<uint32_t>(Next()); }
void Stir() {}
void Buf(void* buf, size_t size) {
  auto* p = static_cast<uint8_t*>(buf);
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = Next();
    for (size_t j = 0; j < 8 && i + j < size; ++j) p[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
}
int Close() { return 0; }

randombytes_implementation g_impl = {Name, Random, Stir, nullptr, Buf, Close};

mesh::SigningKey KeyFromSeed(uint8_t tag) {
  std::array<uint8_t, mesh::kSeedBytes> seed{};
  seed.fill(tag);
  return mesh::SigningKey::FromSeed(seed);
}

Identities MakeIdentities() {
  Reseed(0x1d);
  constexpr int64_t kDay = 86400, kYear = 365 * kDay;
  Identities ids;
  ids.ca = KeyFromSeed(0xCA);
  ids.other_ca = KeyFromSeed(0xCB);
  for (uint8_t i = 0; i < 4; ++i) {
    ids.node_keys.push_back(KeyFromSeed(static_cast<uint8_t>(0x10 + i)));
    ids.nodes.push_back(
        mesh::IssueCertificate(ids.ca, mesh::Role::kNode, "node-" + std::to_string(i),
                               ids.node_keys.back().public_key(), kNowS - kDay, kNowS + kYear));
  }
  const char* names[] = {"alice", "bob"};
  for (uint8_t i = 0; i < 2; ++i) {
    ids.client_keys.push_back(KeyFromSeed(static_cast<uint8_t>(0x20 + i)));
    ids.clients.push_back(mesh::IssueCertificate(ids.ca, mesh::Role::kClient, names[i],
                                                 ids.client_keys.back().public_key(), kNowS - kDay,
                                                 kNowS + kYear));
  }
  const mesh::PublicKey& k3 = ids.node_keys[3].public_key();
  ids.expired =
      mesh::IssueCertificate(ids.ca, mesh::Role::kNode, "node-3", k3, kNowS - kYear, kNowS - kDay);
  ids.not_yet_valid =
      mesh::IssueCertificate(ids.ca, mesh::Role::kNode, "node-3", k3, kNowS + kDay, kNowS + kYear);
  ids.foreign = mesh::IssueCertificate(ids.other_ca, mesh::Role::kNode, "node-3", k3, kNowS - kDay,
                                       kNowS + kYear);
  return ids;
}

}  // namespace

void Init() {
  static const bool done = [] {
    randombytes_set_implementation(&g_impl);
    if (!mesh::InitSodium().ok()) std::abort();
    return true;
  }();
  (void)done;
  Ids();
}

void Reseed(uint64_t seed) { g_state = seed; }

const Identities& Ids() {
  static const Identities* ids = new Identities(MakeIdentities());
  return *ids;
}

const mesh::SigningKey* Identities::KeyFor(const mesh::PublicKey& subject) const {
  for (const auto* keys : {&node_keys, &client_keys}) {
    for (const auto& k : *keys) {
      if (k.public_key() == subject) return &k;
    }
  }
  if (ca.public_key() == subject) return &ca;
  if (other_ca.public_key() == subject) return &other_ca;
  return nullptr;
}

std::vector<uint8_t> Reader::Bytes(size_t n) {
  n = std::min(n, size_ - std::min(pos_, size_));
  std::vector<uint8_t> out(data_ + pos_, data_ + pos_ + n);
  pos_ += n;
  return out;
}

std::string WriteScratchFile(std::string_view tag, std::span<const uint8_t> bytes) {
  const char* dir = std::getenv("TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/meshvault-fuzz-" +
                           std::to_string(::getpid()) + "-" + std::string(tag);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  static std::vector<std::string>* paths = [] {
    std::atexit([] {
      for (const auto& p : *paths) ::unlink(p.c_str());
    });
    return new std::vector<std::string>();
  }();
  if (std::find(paths->begin(), paths->end(), path) == paths->end()) paths->push_back(path);
  return path;
}

}  // namespace fuzz
