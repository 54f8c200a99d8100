// SipHash-2-4 (libsodium's crypto_shorthash) as a 64-bit number: the keyed digests of the
// core's hash tables (seen cache, member table, gossip ids). With a key random to each node,
// nobody can aim entries at one bucket or one probe run.
#ifndef MESH_CORE_SHORT_HASH_H_
#define MESH_CORE_SHORT_HASH_H_

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace mesh::core {

inline uint64_t ShortHash(const void* data, size_t size, const std::array<uint8_t, 16>& key) {
  static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);
  uint8_t out[8];
  crypto_shorthash(out, static_cast<const uint8_t*>(data), size, key.data());
  uint64_t h;
  std::memcpy(&h, out, sizeof h);
  return h;
}

}  // namespace mesh::core

#endif  // MESH_CORE_SHORT_HASH_H_
