#include "link_codec.h"

#include <sodium.h>

#include <catch2/catch.hpp>

#include "mesh/secure_buffer.h"

using mesh::LinkCodec;
using mesh::noise::CipherState;

namespace {

// Two codecs joined back to back, as after a handshake.
struct Pair {
  LinkCodec a;
  LinkCodec b;
};

Pair MakePair(size_t limit_a = 1 << 20, size_t limit_b = 1 << 20) {
  REQUIRE(mesh::InitSodium().ok());
  std::array<uint8_t, 32> k1{}, k2{};
  randombytes_buf(k1.data(), k1.size());
  randombytes_buf(k2.data(), k2.size());
  CipherState a_send, a_recv, b_send, b_recv;
  a_send.InitializeKey(k1);
  b_recv.InitializeKey(k1);
  b_send.InitializeKey(k2);
  a_recv.InitializeKey(k2);
  return {LinkCodec(std::move(a_send), std::move(a_recv), limit_a),
          LinkCodec(std::move(b_send), std::move(b_recv), limit_b)};
}

std::vector<uint8_t> Random(size_t n) {
  std::vector<uint8_t> v(n);
  if (n > 0) randombytes_buf(v.data(), n);
  return v;
}

}  // namespace

TEST_CASE("messages up to 1 MiB cross a link in frames of at most 65535 bytes", "[codec]") {
  Pair p = MakePair();
  for (size_t size : {size_t{0}, size_t{1}, LinkCodec::kMaxChunkBytes - 1,
                      LinkCodec::kMaxChunkBytes, LinkCodec::kMaxChunkBytes + 1, size_t{1} << 20}) {
    const auto msg = Random(size);
    std::vector<std::vector<uint8_t>> frames;
    REQUIRE(p.a.Seal(msg, &frames).ok());
    CHECK(frames.size() ==
          std::max<size_t>(1, (size + LinkCodec::kMaxChunkBytes - 1) / LinkCodec::kMaxChunkBytes));
    std::vector<uint8_t> got;
    bool complete = false;
    for (size_t i = 0; i < frames.size(); ++i) {
      CHECK(frames[i].size() <= LinkCodec::kMaxFrameBytes);
      REQUIRE(p.b.Open(frames[i], &got, &complete).ok());
      CHECK(complete == (i + 1 == frames.size()));
    }
    CHECK(got == msg);
  }
}

TEST_CASE("oversized, tampered, replayed and reordered frames are refused", "[codec][bad]") {
  std::vector<uint8_t> got;
  bool complete = false;
  {
    Pair p = MakePair();
    std::vector<std::vector<uint8_t>> frames;
    CHECK(p.a.Seal(Random((1 << 20) + 1), &frames).code() ==
          mesh::Status::Code::kResourceExhausted);
    CHECK(frames.empty());
    CHECK(p.b.Open(Random(LinkCodec::kMaxFrameBytes + 1), &got, &complete).code() ==
          mesh::Status::Code::kResourceExhausted);
    CHECK_FALSE(p.b.Open({}, &got, &complete).ok());
    CHECK(p.b.Open(Random(100), &got, &complete).code() == mesh::Status::Code::kCorruption);
  }
  {
    // The receiver's own limit holds even if the sender's is larger.
    Pair p = MakePair(1 << 20, 100000);
    std::vector<std::vector<uint8_t>> frames;
    REQUIRE(p.a.Seal(Random(200000), &frames).ok());
    mesh::Status s;
    for (const auto& f : frames) {
      s = p.b.Open(f, &got, &complete);
      if (!s.ok()) break;
    }
    CHECK(s.code() == mesh::Status::Code::kResourceExhausted);
  }
  {
    Pair p = MakePair();
    std::vector<std::vector<uint8_t>> frames;
    REQUIRE(p.a.Seal(Random(10), &frames).ok());
    REQUIRE(p.a.Seal(Random(10), &frames).ok());
    auto tampered = frames[0];
    tampered[3] ^= 1;
    CHECK(p.b.Open(tampered, &got, &complete).code() == mesh::Status::Code::kCorruption);
    CHECK(p.b.Open(frames[1], &got, &complete).code() == mesh::Status::Code::kCorruption);
    REQUIRE(p.b.Open(frames[0], &got, &complete).ok());  // in order it still works
    CHECK(p.b.Open(frames[0], &got, &complete).code() == mesh::Status::Code::kCorruption);
  }
}
