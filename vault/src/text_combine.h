// Recombination of meshvault text shares (docs/share-format.md §2.3): strict agreement on the
// set parameters, a search for the t-subset whose payload verifies, and a check that no other
// subset verifies to a different secret.
#ifndef VAULT_TEXT_COMBINE_H_
#define VAULT_TEXT_COMBINE_H_

#include <span>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"
#include "vault/shares.h"

namespace vault {

// Subsets examined (tried or skipped) across the search and the conflict check.
inline constexpr size_t kMaxSubsetSteps = 10000;

mesh::Status CombineTextShares(std::span<const ShareInput> inputs, const CombineOptions& options,
                               mesh::SecureBuffer* secret, CombineReport* report);

}  // namespace vault

#endif  // VAULT_TEXT_COMBINE_H_
