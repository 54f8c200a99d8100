// The seed writer: builds small, valid (and some near-valid) inputs for every fuzz target
// from the fixed identities and the test vectors, byte for byte the same on every run.
#ifndef MESHVAULT_TESTS_FUZZ_SEED_WRITER_H_
#define MESHVAULT_TESTS_FUZZ_SEED_WRITER_H_

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"

namespace fuzz {

class Seeds {
 public:
  void Add(const std::string& target, const std::string& name, std::span<const uint8_t> bytes) {
    files_[target][name] = std::vector<uint8_t>(bytes.begin(), bytes.end());
  }
  void Add(const std::string& target, const std::string& name, std::string_view text) {
    Add(target, name, AsBytes(text));
  }
  const std::map<std::string, std::map<std::string, std::vector<uint8_t>>>& files() const {
    return files_;
  }

 private:
  std::map<std::string, std::map<std::string, std::vector<uint8_t>>> files_;
};

// One byte of mode, then `body`.
inline std::vector<uint8_t> WithMode(uint8_t mode, std::span<const uint8_t> body) {
  std::vector<uint8_t> out{mode};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void WriteMeshSeeds(Seeds* seeds);       // seed_writer_mesh.cc
void WriteHandshakeSeeds(Seeds* seeds);  // seed_writer_mesh.cc
void WriteVaultSeeds(Seeds* seeds);      // seed_writer_vault.cc

}  // namespace fuzz

#endif  // MESHVAULT_TESTS_FUZZ_SEED_WRITER_H_
