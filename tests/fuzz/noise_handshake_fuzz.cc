// The Noise state machine (mesh/src/noise/*): two HandshakeStates run any supported pattern
// while the fuzzer picks the payloads and tampers with the messages in between.
// Input: byte 0 picks the pattern, then for each handshake message: a payload (u16 length +
// bytes) and a tamper op (0 none, 1 flip a bit, 2 truncate, 3 replace, 4 append), then a
// transport payload. Invariants: an untampered message is accepted with its payload; a
// tampered one may be accepted only where the pattern has no key yet, and then a later
// message fails; a run that completes has equal handshake hashes and working transport
// ciphers; calls out of turn are refused.
#include "fuzz_common.h"
#include "noise/handshake_state.h"

using namespace mesh::noise;

namespace {

constexpr const char* kPatterns[] = {
    "N",   "K",    "X",   "NN",  "NK",   "NX",  "KN",  "KK",   "KX",   "XN",  "XK",   "XX",   "IN",
    "IK",  "IX",   "NK1", "NX1", "X1N",  "X1K", "XK1", "X1K1", "X1X",  "XX1", "X1X1", "K1N",  "K1K",
    "KK1", "K1K1", "K1X", "KX1", "K1X1", "I1N", "I1K", "IK1",  "I1K1", "I1X", "IX1",  "I1X1",
};

KeyPair Fixed(uint8_t tag) {
  std::array<uint8_t, kDhLen> priv{};
  priv.fill(tag);
  return *KeyPair::FromPrivateKey(priv);
}

// Both parties' statics are always given; rs only where the pattern pre-shares it.
bool PreShares(const std::string& pattern, bool initiator_key) {
  if (initiator_key) return pattern[0] == 'K';
  const char last = pattern.back() == '1' ? pattern[pattern.size() - 2] : pattern.back();
  return last == 'K' || pattern == "N" || pattern == "K" || pattern == "X";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  fuzz::Reader in(data, size);
  const std::string pattern = kPatterns[in.U8() % std::size(kPatterns)];
  const std::string name = "Noise_" + pattern + "_25519_ChaChaPoly_SHA256";
  const KeyPair si = Fixed(1), sr = Fixed(2);
  const std::vector<uint8_t> prologue = {'f', 'u', 'z', 'z'};
  HandshakeState init, resp;
  const auto rs_of_i = PreShares(pattern, false) ? std::span<const uint8_t>(sr.public_key)
                                                 : std::span<const uint8_t>();
  const auto rs_of_r = PreShares(pattern, true) ? std::span<const uint8_t>(si.public_key)
                                                : std::span<const uint8_t>();
  FUZZ_CHECK(init.Initialize(name, true, prologue, &si, rs_of_i).ok());
  FUZZ_CHECK(resp.Initialize(name, false, prologue, &sr, rs_of_r).ok());

  bool tampered = false;
  for (int round = 0; round < 8 && !init.IsComplete() && !resp.IsComplete(); ++round) {
    HandshakeState& writer = init.IsMyTurn() ? init : resp;
    HandshakeState& reader = &writer == &init ? resp : init;
    FUZZ_CHECK(!reader.IsMyTurn());
    const std::vector<uint8_t> payload = in.Chunk();
    std::vector<uint8_t> message, got;
    if (!writer.WriteMessage(payload, &message).ok()) return 0;
    FUZZ_CHECK(message.size() <= kMaxMessageLen);
    // Out of turn is refused without changing state.
    FUZZ_CHECK(!reader.WriteMessage({}, &got).ok());
    switch (in.U8() % 5) {
      case 1:
        if (!message.empty()) {
          const uint16_t bit = in.U16();
          message[(bit / 8) % message.size()] ^= static_cast<uint8_t>(1 << (bit % 8));
          tampered = true;
        }
        break;
      case 2:
        message.resize(std::min<size_t>(message.size(), in.U16()));
        tampered = true;
        break;
      case 3:
        message = in.Chunk();
        tampered = true;
        break;
      case 4: {
        const auto extra = in.Chunk();
        message.insert(message.end(), extra.begin(), extra.end());
        tampered = tampered || !extra.empty();
        break;
      }
    }
    if (!reader.ReadMessage(message, &got).ok()) {
      FUZZ_CHECK(tampered && got.empty());
      FUZZ_CHECK(!reader.remote_static() || !reader.HasFailed());
      return 0;
    }
    if (!tampered) FUZZ_CHECK(got == payload);
  }
  // Every supported pattern completes for both sides at its final message, and the final
  // message is always encrypted under h: both ends that accept it saw the same transcript.
  FUZZ_CHECK(init.IsComplete() && resp.IsComplete());
  FUZZ_CHECK(init.GetHandshakeHash() == resp.GetHandshakeHash());
  CipherState is, ir, rsend, rrecv;
  FUZZ_CHECK(init.Split(&is, &ir).ok() && resp.Split(&rsend, &rrecv).ok());
  FUZZ_CHECK(!init.Split(&is, &ir).ok());
  const std::vector<uint8_t> text = in.Chunk();
  std::vector<uint8_t> sealed, opened;
  if (is.EncryptWithAd({}, text, &sealed).ok()) {
    FUZZ_CHECK(rrecv.DecryptWithAd({}, sealed, &opened).ok() && opened == text);
  }
  sealed.clear();
  opened.clear();
  if (!init.IsOneWay() && rsend.EncryptWithAd({}, text, &sealed).ok()) {
    FUZZ_CHECK(ir.DecryptWithAd({}, sealed, &opened).ok() && opened == text);
  }
  return 0;
}
