// Keys for the tests of the core's hashed tables (member table, seen cache, GRAFT cache): a
// public key numbered n, and a table key filled with one byte.
#ifndef MESHVAULT_TESTS_UNIT_MESH_TABLE_KEYS_H_
#define MESHVAULT_TESTS_UNIT_MESH_TABLE_KEYS_H_

#include <array>
#include <cstdint>

#include "mesh/identity.h"

namespace mesh::test {

inline PublicKey NumberedKey(uint64_t n) {
  PublicKey key{};
  for (size_t i = 0; i < 8; ++i) key[i] = static_cast<uint8_t>(n >> (8 * i));
  key[31] = 0x5a;
  return key;
}

inline std::array<uint8_t, 16> TableKey(uint8_t fill) {
  std::array<uint8_t, 16> key{};
  key.fill(fill);
  return key;
}

}  // namespace mesh::test

#endif  // MESHVAULT_TESTS_UNIT_MESH_TABLE_KEYS_H_
