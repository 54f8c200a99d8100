// fuzz_seed_writer DIR: replaces DIR/<target>/ with the seed corpus of every fuzz target.
#include "seed_writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {

// admin_request: a chunk-size byte, then a request as a client would send it.
void WriteAdminSeeds(fuzz::Seeds* s) {
  const std::pair<const char*, std::string> requests[] = {
      {"health", "GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1:8200\r\n\r\n"},
      {"head", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"holders", "GET /v1/vault/holders/db%2Froot?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"bad-escape", "GET /v1/vault/holders/%zz HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"post", "POST /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"},
      {"chunked",
       "GET /ui HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\n\r\n"},
      {"body-limit", "GET /ui HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"},
      {"header-limit", "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n"},
      {"http10", "GET /v1/members HTTP/1.0\r\n\r\n"},
      {"malformed", "GET /\x01 HTTP/9.9\r\n\r\n"},
  };
  uint8_t chunk = 0;
  for (const auto& [name, text] : requests) {
    s->Add("admin_request", name, fuzz::WithMode(chunk, fuzz::AsBytes(text)));
    chunk = static_cast<uint8_t>(chunk * 7 + 31);
  }
}

}  // namespace

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
  WriteAdminSeeds(&seeds);
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
