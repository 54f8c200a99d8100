// Fixed Vault-format vectors made with the npm package shamir-secret-sharing (tests/compat).
#include <sodium.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vault/shares.h"

TEST_CASE("Vault-format vectors from an independent implementation recombine", "[vault]") {
  REQUIRE(mesh::InitSodium().ok());
  std::ifstream f(std::string(MESHVAULT_SOURCE_DIR) + "/tests/compat/vault_vectors.json");
  REQUIRE(f.good());
  const auto doc = nlohmann::json::parse(f);
  REQUIRE(doc["vectors"].size() >= 6);
  for (const auto& v : doc["vectors"]) {
    const std::string secret_hex = v["secret_hex"];
    const int t = v["threshold"];
    const auto& shares = v["shares_hex"];
    // The first t and the last t shares, as vault-hex and as vault base64.
    for (bool from_end : {false, true}) {
      std::vector<std::string> lines;
      for (int i = 0; i < t; ++i) {
        lines.push_back(shares[from_end ? shares.size() - 1 - i : i]);
      }
      std::vector<vault::ShareInput> inputs;
      for (size_t i = 0; i < lines.size(); ++i)
        inputs.push_back({"v" + std::to_string(i), lines[i]});
      mesh::SecureBuffer secret;
      vault::CombineReport report;
      vault::CombineOptions options;
      // Lines under 24 characters may also be base64: detection then asks for --format.
      if (lines[0].size() < 24) options.format = vault::ShareFormat::kVaultHex;
      REQUIRE(vault::CombineShares(inputs, options, &secret, &report).ok());
      CHECK(report.format == vault::ShareFormat::kVaultHex);
      std::string hex(secret.size() * 2 + 1, '\0');
      sodium_bin2hex(hex.data(), hex.size(), secret.data(), secret.size());
      hex.pop_back();
      CHECK(hex == secret_hex);
    }
  }
}
