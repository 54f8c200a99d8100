// fuzz_seed_writer DIR: replaces DIR/<target>/ with the seed corpus of every fuzz target.
#include "seed_writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 1;
  }
  fuzz::Init();
  fuzz::Reseed(0x5eed);
  fuzz::Seeds seeds;
  fuzz::WriteMeshSeeds(&seeds);
  fuzz::WriteHandshakeSeeds(&seeds);
  fuzz::WriteVaultSeeds(&seeds);
  namespace fs = std::filesystem;
  for (const auto& [target, files] : seeds.files()) {
    const fs::path dir = fs::path(argv[1]) / target;
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& [name, bytes] : files) {
      std::ofstream out(dir / name, std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      if (!out) {
        std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
        return 1;
      }
    }
    std::printf("%-16s %3zu seeds\n", target.c_str(), files.size());
  }
  return 0;
}
