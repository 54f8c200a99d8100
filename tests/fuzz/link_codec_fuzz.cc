// Link frames (mesh/src/link_codec.*): a sequence of frames from a peer that holds the
// link's keys, so the fuzzer chooses plaintexts (flags and chunks) and not only ciphertext.
// Input: byte 0 picks the message limit, then steps, each a byte of op and its fields:
//   0  a frame sealed by the peer's cipher from a chosen plaintext (flags || chunk)
//   1  raw bytes as a frame
//   2  a message sealed by the peer's LinkCodec (the chunk repeated 1..256 times)
//   3  like 0, with one bit of the sealed frame flipped
// A model of the reassembly predicts every message; after the first error the link is
// closed, as the transport does.
#include <cstring>

#include "fuzz_common.h"
#include "link_codec.h"

using mesh::LinkCodec;
using mesh::noise::CipherState;

namespace {

CipherState Keyed(uint8_t tag) {
  std::array<uint8_t, 32> key{};
  key.fill(tag);
  CipherState c;
  c.InitializeKey(key);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  fuzz::Reader in(data, size);
  constexpr size_t kLimits[] = {0, 100, LinkCodec::kMaxChunkBytes, 2 * LinkCodec::kMaxChunkBytes,
                                1 << 20};
  const size_t limit = kLimits[in.U8() % 5];
  LinkCodec me(Keyed(1), Keyed(2), limit);    // sends with key 1, receives with key 2
  LinkCodec peer(Keyed(2), Keyed(1), limit);  // the other end
  CipherState peer_raw = Keyed(2);            // the peer's send cipher, used by hand
  bool peer_codec_used = false, raw_used = false;
  std::vector<uint8_t> model;  // chunks of the message being reassembled
  for (int step = 0; step < 64 && !in.empty(); ++step) {
    const uint8_t op = in.U8() % 4;
    std::vector<std::vector<uint8_t>> frames;
    std::vector<uint8_t> expect_plain;  // op 0/3: the frame's plaintext
    if (op == 0 || op == 3) {
      if (peer_codec_used) break;  // one sender per direction keeps the nonces in step
      raw_used = true;
      expect_plain = in.Chunk();
      std::vector<uint8_t> frame;
      if (!peer_raw.EncryptWithAd({}, expect_plain, &frame).ok()) break;
      if (op == 3 && !frame.empty()) {
        const uint16_t bit = in.U16();
        frame[(bit / 8) % frame.size()] ^= static_cast<uint8_t>(1 << (bit % 8));
      }
      frames.push_back(std::move(frame));
    } else if (op == 1) {
      frames.push_back(in.Chunk());
    } else {
      if (raw_used) break;
      peer_codec_used = true;
      const std::vector<uint8_t> chunk = in.Chunk();
      const size_t repeat = size_t{in.U8()} + 1;
      std::vector<uint8_t> message;
      for (size_t i = 0; i < repeat; ++i) message.insert(message.end(), chunk.begin(), chunk.end());
      const mesh::Status s = peer.Seal(message, &frames);
      FUZZ_CHECK(s.ok() == (message.size() <= limit));
      if (!s.ok()) continue;
      FUZZ_CHECK(!frames.empty());
      for (const auto& f : frames) FUZZ_CHECK(f.size() <= LinkCodec::kMaxFrameBytes);
      expect_plain = message;
    }
    bool failed = false;
    for (size_t i = 0; i < frames.size() && !failed; ++i) {
      std::vector<uint8_t> message;
      bool complete = false;
      const mesh::Status s = me.Open(frames[i], &message, &complete);
      failed = !s.ok();
      if (failed) {
        FUZZ_CHECK(!complete);
        // A frame the peer sealed honestly fails only on bad flags or the message limit.
        if (op == 0) {
          FUZZ_CHECK(expect_plain.empty() || (expect_plain[0] & ~1) != 0 ||
                     model.size() + expect_plain.size() - 1 > limit);
        }
        FUZZ_CHECK(op != 2);  // the peer's own codec never trips our limit or flags
        break;
      }
      if (op == 0 || op == 3) {
        FUZZ_CHECK(!expect_plain.empty() && (expect_plain[0] & ~1) == 0);
        model.insert(model.end(), expect_plain.begin() + 1, expect_plain.end());
        FUZZ_CHECK(complete == ((expect_plain[0] & 1) == 0));
        if (complete) {
          FUZZ_CHECK(message == model);
          model.clear();
        }
      } else if (op == 2) {
        FUZZ_CHECK(complete == (i + 1 == frames.size()));
        if (complete) FUZZ_CHECK(message == expect_plain);
      } else {
        FUZZ_CHECK(false);  // op 1: raw bytes never authenticate
      }
    }
    if (failed) break;
  }
  return 0;
}
