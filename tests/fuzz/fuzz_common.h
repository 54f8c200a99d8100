// Shared by the libFuzzer targets and the seed writer (docs/security.md, "Fuzzing"):
// deterministic randomness, fixed identities, and the byte reader / writer that structured
// targets use to turn an input into a sequence of steps.
#ifndef MESHVAULT_TESTS_FUZZ_FUZZ_COMMON_H_
#define MESHVAULT_TESTS_FUZZ_FUZZ_COMMON_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/certificate.h"
#include "mesh/identity.h"

// An invariant of the code under test; a failure is a finding (abort: libFuzzer saves the
// input).
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace fuzz {

// The clock every target uses (unix seconds): certificates below are valid around it.
inline constexpr int64_t kNowS = 1'800'000'000;
inline constexpr int64_t kNowMs = kNowS * 1000;

// Replaces libsodium's randombytes with a seeded generator (before sodium_init), so keys,
// nonces and serials depend only on the seed. Call once, first thing.
void Init();
// Restarts the generator; targets call it at the start of every input.
void Reseed(uint64_t seed = 0);

// Fixed keys and certificates (made once, from fixed seeds).
struct Identities {
  mesh::SigningKey ca, other_ca;
  std::vector<mesh::SigningKey> node_keys;  // 4 nodes
  std::vector<mesh::Certificate> nodes;     // "node-0".."node-3", role node
  std::vector<mesh::SigningKey> client_keys;
  std::vector<mesh::Certificate> clients;             // "alice", "bob", role client
  mesh::Certificate expired, not_yet_valid, foreign;  // node certs for node_keys[3]
  // The key whose public half is `subject`, or nullptr.
  const mesh::SigningKey* KeyFor(const mesh::PublicKey& subject) const;
};
const Identities& Ids();

// Reads an input front to back; past the end every read gives zeros or empty bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  explicit Reader(std::span<const uint8_t> in) : Reader(in.data(), in.size()) {}
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | U8() << 8); }
  uint32_t U32() { return U16() | static_cast<uint32_t>(U16()) << 16; }
  uint64_t U64() { return U32() | static_cast<uint64_t>(U32()) << 32; }
  bool Bool() { return (U8() & 1) != 0; }
  // Up to n bytes.
  std::vector<uint8_t> Bytes(size_t n);
  // A u16 length, then that many bytes (fewer at the end of the input).
  std::vector<uint8_t> Chunk() { return Bytes(U16()); }
  std::string Text() {
    auto b = Chunk();
    return {b.begin(), b.end()};
  }
  std::vector<uint8_t> Rest() { return Bytes(size_ - pos_); }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Writes what a Reader reads back (the seed writer's half).
class Writer {
 public:
  Writer& U8(uint8_t v) {
    out_.push_back(v);
    return *this;
  }
  Writer& U16(uint16_t v) { return U8(static_cast<uint8_t>(v)).U8(static_cast<uint8_t>(v >> 8)); }
  Writer& U32(uint32_t v) {
    return U16(static_cast<uint16_t>(v)).U16(static_cast<uint16_t>(v >> 16));
  }
  Writer& U64(uint64_t v) {
    return U32(static_cast<uint32_t>(v)).U32(static_cast<uint32_t>(v >> 32));
  }
  Writer& Bytes(std::span<const uint8_t> b) {
    out_.insert(out_.end(), b.begin(), b.end());
    return *this;
  }
  Writer& Bytes(std::string_view s) {
    return Bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  Writer& Chunk(std::span<const uint8_t> b) {
    return U16(static_cast<uint16_t>(b.size())).Bytes(b);
  }
  Writer& Chunk(std::string_view s) {
    return Chunk({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  std::vector<uint8_t> out_;
};

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsText(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Replaces a private (0600) scratch file of this process with `bytes`; returns its path.
std::string WriteScratchFile(std::string_view tag, std::span<const uint8_t> bytes);

}  // namespace fuzz

#endif  // MESHVAULT_TESTS_FUZZ_FUZZ_COMMON_H_
