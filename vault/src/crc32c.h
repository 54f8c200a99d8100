// CRC-32C (Castagnoli), used as the typo-catching checksum of text shares. It detects every
// error burst of up to 32 bits, so every single-character change and every swap of characters
// up to three apart in a share line. Constant time: the SSE4.2 CRC32 instruction where
// present, else a branch-free bitwise loop (no table indexed by share bytes).
#ifndef VAULT_CRC32C_H_
#define VAULT_CRC32C_H_

#include <cstdint>
#include <span>

namespace vault {

uint32_t Crc32c(std::span<const uint8_t> data);

}  // namespace vault

#endif  // VAULT_CRC32C_H_
