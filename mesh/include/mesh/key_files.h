// Key and certificate files: PEM-like text armour, durable writes, and permission checks.
// Private key files are created 0600 and refused when group or others can read them.
// Formats: docs/wire-format.md ("Files").
#ifndef MESH_KEY_FILES_H_
#define MESH_KEY_FILES_H_

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>

#include "mesh/certificate.h"
#include "mesh/identity.h"
#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace mesh {

inline constexpr std::string_view kCertificateLabel = "MESHVAULT CERTIFICATE";
inline constexpr std::string_view kPrivateKeyLabel = "MESHVAULT PRIVATE KEY";

// "-----BEGIN <label>-----\n" base64 in 64-column lines "-----END <label>-----\n".
SecureBuffer Armor(std::string_view label, std::span<const uint8_t> bytes);
// The bytes inside the first block with `label`; whitespace between base64 lines is ignored.
Status Dearmor(std::string_view text, std::string_view label, SecureBuffer* bytes);

// Writes `bytes` to `path` so that a crash leaves either the old file or the whole new one:
// a temporary file created with `mode`, fsync, rename, fsync of the directory. An existing
// file is replaced only when `overwrite`.
Status WriteFileDurably(const std::string& path, std::span<const uint8_t> bytes, mode_t mode,
                        bool overwrite);

Status WriteCertificateFile(const std::string& path, const Certificate& cert);
Status ReadCertificateFile(const std::string& path, Certificate* cert);
Status WritePrivateKeyFile(const std::string& path, const SigningKey& key);
// Refuses a file that group or others may read, naming the fix (chmod 600).
Status ReadPrivateKeyFile(const std::string& path, SigningKey* key);

// Reads a small private file (at most 4 KiB) into secure memory. `what` names it in errors
// ("private key", "storage key"). NotFound when it does not exist; PermissionDenied, naming
// chmod 600, when group or others have any permission on it.
Status ReadPrivateFile(const std::string& path, std::string_view what, SecureBuffer* text);

}  // namespace mesh

#endif  // MESH_KEY_FILES_H_
