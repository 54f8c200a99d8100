// Share sets: a secret split into encoded shares, and encoded shares combined back.
// Formats (docs/share-format.md):
//   text       meshvault's own: one line per share, self-describing, CRC-32C against typos,
//              and authenticated recombination (a bad share is named, never silently used).
//   json       one object holding the text shares and their metadata (label, t, n, set id).
//   vault      HashiCorp Vault / OpenBao unseal-key shares, base64 (y bytes then x byte).
//   vault-hex  the same bytes in hex. Vault formats are unauthenticated.
// All secret bytes live in mesh::SecureBuffer. Error messages name shares by where they came
// from ("line 3", "argument 2") and never quote share contents. Thread-safe.
#ifndef VAULT_SHARES_H_
#define VAULT_SHARES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"
#include "vault/shamir.h"

namespace vault {

enum class ShareFormat { kText, kJson, kVault, kVaultHex };

std::string_view ShareFormatName(ShareFormat format);
std::optional<ShareFormat> ParseShareFormat(std::string_view name);

// Default cap on a secret's size; raisable per call up to kMaxSecretBytesLimit.
inline constexpr size_t kDefaultMaxSecretBytes = size_t{1} << 20;  // 1 MiB
inline constexpr size_t kMaxSecretBytesLimit = size_t{1} << 30;    // 1 GiB

struct SplitOptions {
  int threshold = 3;  // shares needed to recover, 2..shares
  int shares = 5;     // shares made, threshold..255
  std::string label;  // kept in text (as a comment) and json
  ShareFormat format = ShareFormat::kText;
  size_t max_secret_bytes = kDefaultMaxSecretBytes;  // larger secrets are refused
  shamir::Kernel kernel = shamir::Kernel::kAuto;
};

// Checks threshold, count, label and limits (everything but the secret itself).
mesh::Status CheckSplitOptions(const SplitOptions& options);

// Splits `secret` and writes the encoded shares to `out` exactly as they should be printed:
// one share per line for text, vault and vault-hex; one JSON object for json.
mesh::Status SplitSecret(std::span<const uint8_t> secret, const SplitOptions& options,
                         mesh::SecureBuffer* out);

// One encoded share (or, for json, one whole document) and where it came from.
struct ShareInput {
  std::string origin;     // "line 3", "argument 2": used in messages
  std::string_view text;  // points into caller-owned (secure) memory
};

// Cuts text into share inputs: one per line, blank lines and '#' comments skipped, spaces
// trimmed. Text whose first non-blank character is '{' is one json input.
std::vector<ShareInput> SplitShareLines(std::string_view text, std::string_view origin_prefix);

struct CombineOptions {
  std::optional<ShareFormat> format;  // nullopt: detect
  size_t max_secret_bytes = kDefaultMaxSecretBytes;
  shamir::Kernel kernel = shamir::Kernel::kAuto;
};

struct CombineReport {
  ShareFormat format = ShareFormat::kText;
  int threshold = 0;  // 0 when the format does not record it (vault)
  int shares_used = 0;
  std::string set_id;                 // text and json only
  std::string label;                  // json only
  std::vector<std::string> warnings;  // bad or duplicate shares that were set aside, by origin
};

// Recovers the secret from `inputs` into `secret`. Text shares: any t good shares suffice;
// extra shares that do not match are named in report->warnings. Errors are specific: too few
// shares, duplicates, mixed sets or formats, checksum failures, shares that do not recombine.
mesh::Status CombineShares(std::span<const ShareInput> inputs, const CombineOptions& options,
                           mesh::SecureBuffer* secret, CombineReport* report);

}  // namespace vault

#endif  // VAULT_SHARES_H_
