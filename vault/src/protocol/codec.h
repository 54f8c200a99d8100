// Small helpers shared by the vault's binary records: base64 for JSON transport, BLAKE2b
// digests, and little-endian fields (the mesh's ByteWriter / ByteReader).
#ifndef VAULT_PROTOCOL_CODEC_H_
#define VAULT_PROTOCOL_CODEC_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "mesh/node.h"
#include "mesh/status.h"

namespace vault::protocol {

using mesh::core::ByteReader;
using mesh::core::ByteWriter;
using Digest = std::array<uint8_t, 32>;

// Standard base64 with padding (RFC 4648 §4).
std::string ToBase64(std::span<const uint8_t> bytes);
// Decodes `text` (at most `max_bytes` decoded); InvalidArgument names `what` on failure.
mesh::Status FromBase64(std::string_view text, size_t max_bytes, std::string_view what,
                        std::vector<uint8_t>* out);
// Reads data[field] as a base64 string.
mesh::Status Base64Field(const mesh::Json& data, const char* field, size_t max_bytes,
                         std::vector<uint8_t>* out);
// Reads data[field] as a string of at most `max_bytes` bytes.
mesh::Status StringField(const mesh::Json& data, const char* field, size_t max_bytes,
                         std::string* out);

// BLAKE2b-256 of "<domain>\0" followed by `bytes`.
Digest Hash(std::string_view domain, std::span<const uint8_t> bytes);

std::string Hex(std::span<const uint8_t> bytes);

}  // namespace vault::protocol

#endif  // VAULT_PROTOCOL_CODEC_H_
