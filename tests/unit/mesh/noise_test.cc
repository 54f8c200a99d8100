// Noise handshake tests: the cacophony vectors for *_25519_ChaChaPoly_SHA256, a live XX
// handshake with random keys, and the failure paths (tampering, truncation, wrong turn,
// nonce exhaustion, size limits, bad keys).
#include <sodium.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/status.h"
#include "noise/cipher_state.h"
#include "noise/handshake_state.h"
#include "noise/symmetric_state.h"

#ifndef MESHVAULT_VECTORS_DIR
#error "MESHVAULT_VECTORS_DIR must name the directory holding the test vectors"
#endif

// REQUIRE(status.ok()), printing the status when it fails.
#define REQUIRE_OK(expr)                             \
  do {                                               \
    const ::mesh::Status require_ok_status = (expr); \
    INFO(require_ok_status.ToString());              \
    REQUIRE(require_ok_status.ok());                 \
  } while (false)

namespace mesh::noise {
namespace {

using Bytes = std::vector<uint8_t>;
using Code = Status::Code;

constexpr std::string_view kXX = "Noise_XX_25519_ChaChaPoly_SHA256";
constexpr std::string_view kNK = "Noise_NK_25519_ChaChaPoly_SHA256";
constexpr std::string_view kNN = "Noise_NN_25519_ChaChaPoly_SHA256";

Bytes ToBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// The hex field `field` of `v`, or empty bytes if absent.
Bytes HexField(const nlohmann::json& v, const char* field) {
  if (!v.contains(field)) return {};
  const std::string hex = v[field].get<std::string>();
  Bytes out(hex.size() / 2);
  size_t len = 0;
  REQUIRE(sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr) ==
          0);
  out.resize(len);
  return out;
}

std::optional<KeyPair> KeyField(const nlohmann::json& v, const char* field) {
  return v.contains(field) ? KeyPair::FromPrivateKey(HexField(v, field)) : std::nullopt;
}

// Replays one cacophony vector; returns an empty string on success, else the mismatch.
// Handshake messages alternate starting with the initiator; transport messages continue
// the alternation, except in one-way patterns where the initiator sends them all.
std::string RunVector(const nlohmann::json& v) {
  const std::string name = v["protocol_name"].get<std::string>();
  const std::optional<KeyPair> init_s = KeyField(v, "init_static");
  const std::optional<KeyPair> init_e = KeyField(v, "init_ephemeral");
  const std::optional<KeyPair> resp_s = KeyField(v, "resp_static");
  const std::optional<KeyPair> resp_e = KeyField(v, "resp_ephemeral");
  HandshakeState init, resp;
  Status st = init.InitializeForTesting(name, true, HexField(v, "init_prologue"),
                                        init_s ? &*init_s : nullptr, init_e ? &*init_e : nullptr,
                                        HexField(v, "init_remote_static"), {});
  if (st.ok()) {
    st = resp.InitializeForTesting(name, false, HexField(v, "resp_prologue"),
                                   resp_s ? &*resp_s : nullptr, resp_e ? &*resp_e : nullptr,
                                   HexField(v, "resp_remote_static"), {});
  }
  if (!st.ok()) return "Initialize: " + st.ToString();

  CipherState init_send, init_recv, resp_send, resp_recv;
  const auto& messages = v["messages"];
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string label = "message " + std::to_string(i + 1) + ": ";
    const Bytes payload = HexField(messages[i], "payload");
    Bytes wire, got;
    if (!init.IsComplete()) {
      const bool from_init = init.IsMyTurn();
      if (st = (from_init ? init : resp).WriteMessage(payload, &wire); !st.ok()) {
        return label + st.ToString();
      }
      if (wire != HexField(messages[i], "ciphertext")) return label + "ciphertext differs";
      if (st = (from_init ? resp : init).ReadMessage(wire, &got); !st.ok()) {
        return label + st.ToString();
      }
      if (init.IsComplete() &&
          (!init.Split(&init_send, &init_recv).ok() || !resp.Split(&resp_send, &resp_recv).ok())) {
        return label + "Split failed";
      }
    } else {
      const bool from_init = init.IsOneWay() || i % 2 == 0;
      if (!(from_init ? init_send : resp_send).EncryptWithAd({}, payload, &wire).ok() ||
          wire != HexField(messages[i], "ciphertext") ||
          !(from_init ? resp_recv : init_recv).DecryptWithAd({}, wire, &got).ok()) {
        return label + "transport message differs or fails";
      }
    }
    if (got != payload) return label + "payload differs";
  }
  const Bytes hash = HexField(v, "handshake_hash");
  if (!init.IsComplete() || !resp.IsComplete()) return "handshake did not complete";
  if (Bytes(init.GetHandshakeHash().begin(), init.GetHandshakeHash().end()) != hash ||
      Bytes(resp.GetHandshakeHash().begin(), resp.GetHandshakeHash().end()) != hash) {
    return "handshake hash differs";
  }
  if ((resp_s && init.remote_static() != resp_s->public_key) ||
      (init_s && resp.remote_static() != init_s->public_key)) {
    return "remote static key differs";
  }
  return "";
}

// Drives both parties through every handshake message.
void Handshake(HandshakeState& init, HandshakeState& resp) {
  Bytes wire, got;
  while (!init.IsComplete()) {
    const bool from_init = init.IsMyTurn();
    REQUIRE_OK((from_init ? init : resp).WriteMessage(ToBytes("hello"), &wire));
    REQUIRE_OK((from_init ? resp : init).ReadMessage(wire, &got));
    REQUIRE(got == ToBytes("hello"));
  }
  REQUIRE(resp.IsComplete());
}

void InitXX(HandshakeState& init, HandshakeState& resp, const KeyPair& is, const KeyPair& rs) {
  REQUIRE_OK(init.InitializeForTesting(kXX, true, ToBytes("meshvault"), &is, nullptr, {}, {}));
  REQUIRE_OK(resp.InitializeForTesting(kXX, false, ToBytes("meshvault"), &rs, nullptr, {}, {}));
}

TEST_CASE("noise: cacophony 25519/ChaChaPoly/SHA256 vectors", "[noise]") {
  std::ifstream file(std::string(MESHVAULT_VECTORS_DIR) + "/noise-25519-chachapoly-sha256.json");
  REQUIRE(file.good());
  const nlohmann::json vectors = nlohmann::json::parse(file).at("vectors");
  std::map<std::string, int> passed, failed;
  int total_passed = 0, skipped = 0;
  for (const auto& v : vectors) {
    const std::string name = v["protocol_name"].get<std::string>();
    const std::string pattern = name.substr(6, name.find('_', 6) - 6);  // after "Noise_"
    if (pattern.find("psk") != std::string::npos || pattern.find("fallback") != std::string::npos) {
      // Unsupported modifiers: counted as skipped, and Initialize must refuse them.
      HandshakeState hs;
      CHECK(hs.InitializeForTesting(name, true, {}, nullptr, nullptr, {}, {}).code() ==
            Code::kInvalidArgument);
      ++skipped;
      continue;
    }
    const std::string error = RunVector(v);
    ++(error.empty() ? passed : failed)[pattern];
    total_passed += error.empty() ? 1 : 0;
    if (!error.empty()) FAIL_CHECK(name << ": " << error);
  }
  std::cout << "noise vectors: " << total_passed << " passed (" << passed.size() << " patterns), "
            << skipped << " skipped (PSK/fallback), " << failed.size() << " patterns failed\n";
  CHECK(failed.empty());
  REQUIRE(passed["XX"] >= 1);  // the pattern meshvault uses must be covered and pass
  CHECK(failed["XX"] == 0);
  CHECK(static_cast<size_t>(total_passed + skipped) == vectors.size());
}

TEST_CASE("noise: XX with random keys, transport both ways", "[noise]") {
  const KeyPair is = KeyPair::Generate(), rs = KeyPair::Generate();
  HandshakeState init, resp;
  InitXX(init, resp, is, rs);
  Handshake(init, resp);
  REQUIRE(init.remote_static() == rs.public_key);
  REQUIRE(resp.remote_static() == is.public_key);
  REQUIRE(init.GetHandshakeHash() == resp.GetHandshakeHash());

  CipherState is_send, is_recv, rs_send, rs_recv;
  REQUIRE_OK(init.Split(&is_send, &is_recv));
  REQUIRE_OK(resp.Split(&rs_send, &rs_recv));
  for (int round = 0; round < 3; ++round) {
    const Bytes ping = ToBytes("ping " + std::to_string(round));
    const Bytes pong = ToBytes("pong " + std::to_string(round));
    Bytes wire1, got1, wire2, got2;  // EncryptWithAd/DecryptWithAd append
    REQUIRE_OK(is_send.EncryptWithAd({}, ping, &wire1));
    REQUIRE(wire1.size() == ping.size() + kTagLen);
    REQUIRE_OK(rs_recv.DecryptWithAd({}, wire1, &got1));
    REQUIRE(got1 == ping);
    REQUIRE_OK(rs_send.EncryptWithAd({}, pong, &wire2));
    REQUIRE_OK(is_recv.DecryptWithAd({}, wire2, &got2));
    REQUIRE(got2 == pong);
    // A replay is rejected (the receiver's nonce has moved on) and leaves *out alone.
    CHECK(is_recv.DecryptWithAd({}, wire2, &got2).code() == Code::kCorruption);
    CHECK(got2 == pong);
  }
  SECTION("rekey on both sides keeps the channel working") {
    REQUIRE_OK(is_send.Rekey());
    REQUIRE_OK(rs_recv.Rekey());
    Bytes wire, got;
    REQUIRE_OK(is_send.EncryptWithAd({}, ToBytes("after rekey"), &wire));
    REQUIRE_OK(rs_recv.DecryptWithAd({}, wire, &got));
    REQUIRE(got == ToBytes("after rekey"));
  }
}

TEST_CASE("noise: a tampered handshake message fails to decrypt", "[noise]") {
  const KeyPair is = KeyPair::Generate(), rs = KeyPair::Generate();
  HandshakeState init, resp;
  InitXX(init, resp, is, rs);
  Bytes m1, m2, got;
  REQUIRE_OK(init.WriteMessage({}, &m1));
  REQUIRE_OK(resp.ReadMessage(m1, &got));
  REQUIRE_OK(resp.WriteMessage(ToBytes("payload"), &m2));
  const size_t index = GENERATE(0u, 40u, 100u);  // ephemeral, encrypted static, payload tag
  REQUIRE(index < m2.size());
  m2[index] ^= 0x01;
  const Status st = init.ReadMessage(m2, &got);
  CHECK(st.code() == Code::kCorruption);
  CHECK(st.message().find("message 2") != std::string::npos);
  CHECK(got.empty());
  CHECK(init.HasFailed());
  m2[index] ^= 0x01;  // a failed handshake stays failed, even given the genuine message
  CHECK_FALSE(init.ReadMessage(m2, &got).ok());
  CHECK_FALSE(init.WriteMessage({}, &m1).ok());

  SECTION("zero-RTT payload of NK") {
    HandshakeState a, b;
    REQUIRE_OK(a.InitializeForTesting(kNK, true, {}, nullptr, nullptr, rs.public_key, {}));
    REQUIRE_OK(b.InitializeForTesting(kNK, false, {}, &rs, nullptr, {}, {}));
    REQUIRE_OK(a.WriteMessage(ToBytes("early data"), &m1));
    m1.back() ^= 0x80;
    CHECK(b.ReadMessage(m1, &got).code() == Code::kCorruption);
  }
}

TEST_CASE("noise: the remote static key is reported only after a complete handshake", "[noise]") {
  // Review finding: a key decrypted from an "s" token is unauthenticated until the handshake
  // completes; after a failure it must not be reported as the peer's.
  const KeyPair is = KeyPair::Generate(), rs = KeyPair::Generate();
  HandshakeState init, resp;
  InitXX(init, resp, is, rs);
  Bytes m1, m2, got;
  REQUIRE_OK(init.WriteMessage({}, &m1));
  REQUIRE_OK(resp.ReadMessage(m1, &got));
  REQUIRE_OK(resp.WriteMessage({}, &m2));
  m2.back() ^= 1;  // the payload tag: the static key decrypts, the message does not
  CHECK_FALSE(init.ReadMessage(m2, &got).ok());
  CHECK(init.HasFailed());
  CHECK_FALSE(init.remote_static().has_value());
  // And after a successful message 2 the responder's key is there.
  HandshakeState i2, r2;
  InitXX(i2, r2, is, rs);
  REQUIRE_OK(i2.WriteMessage({}, &m1));
  REQUIRE_OK(r2.ReadMessage(m1, &got));
  REQUIRE_OK(r2.WriteMessage({}, &m2));
  REQUIRE_OK(i2.ReadMessage(m2, &got));
  CHECK(i2.remote_static() == rs.public_key);
}

TEST_CASE("noise: a cipher without a key refuses instead of sending plaintext", "[noise]") {
  CipherState empty;
  Bytes out;
  const Bytes msg = {1, 2, 3};
  CHECK(empty.EncryptWithAd({}, msg, &out).code() == Code::kInvalidArgument);
  CHECK(empty.DecryptWithAd({}, msg, &out).code() == Code::kInvalidArgument);
  CHECK(out.empty());
}

TEST_CASE("noise: truncated and oversized messages are rejected", "[noise]") {
  const KeyPair is = KeyPair::Generate(), rs = KeyPair::Generate();
  HandshakeState init, resp;
  InitXX(init, resp, is, rs);
  Bytes m1, m2, m3, got;
  REQUIRE_OK(init.WriteMessage({}, &m1));
  REQUIRE(m1.size() == kDhLen);
  // Shorter than the ephemeral key: rejected before any processing, state unchanged.
  CHECK(resp.ReadMessage(Bytes(m1.begin(), m1.end() - 1), &got).code() == Code::kInvalidArgument);
  CHECK_FALSE(resp.HasFailed());
  REQUIRE_OK(resp.ReadMessage(m1, &got));

  REQUIRE_OK(resp.WriteMessage({}, &m2));
  REQUIRE(m2.size() == kDhLen + kDhLen + kTagLen + kTagLen);  // e, enc(s), payload tag
  const Status st = init.ReadMessage(Bytes(m2.begin(), m2.end() - 1), &got);
  CHECK(st.code() == Code::kInvalidArgument);
  CHECK(st.message().find("truncated") != std::string::npos);
  REQUIRE_OK(init.ReadMessage(m2, &got));

  // 65535-byte limit: payload + enc(s) + payload tag must fit in message 3.
  const Bytes max_payload(kMaxMessageLen - kDhLen - 2 * kTagLen);
  CHECK(init.WriteMessage(Bytes(max_payload.size() + 1), &m3).code() == Code::kInvalidArgument);
  CHECK(resp.ReadMessage(Bytes(kMaxMessageLen + 1), &got).code() == Code::kInvalidArgument);
  REQUIRE_OK(init.WriteMessage(max_payload, &m3));
  REQUIRE(m3.size() == kMaxMessageLen);
  REQUIRE_OK(resp.ReadMessage(m3, &got));
  REQUIRE(got == max_payload);

  CipherState send, recv;
  REQUIRE_OK(init.Split(&send, &recv));
  CHECK(send.EncryptWithAd({}, Bytes(kMaxMessageLen - kTagLen + 1), &m1).code() ==
        Code::kInvalidArgument);
  CHECK(send.EncryptWithAd({}, Bytes(kMaxMessageLen - kTagLen), &m1).ok());
  CHECK(recv.DecryptWithAd({}, Bytes(kTagLen - 1), &got).code() == Code::kInvalidArgument);
}

TEST_CASE("noise: messages for the wrong state are rejected", "[noise]") {
  const KeyPair is = KeyPair::Generate(), rs = KeyPair::Generate();
  HandshakeState init, resp;
  Bytes msg, got;
  CHECK_FALSE(init.WriteMessage({}, &msg).ok());  // not initialized
  InitXX(init, resp, is, rs);
  CHECK_FALSE(init.InitializeForTesting(kXX, true, {}, &is, nullptr, {}, {}).ok());  // twice

  CHECK(init.ReadMessage(Bytes(kDhLen), &got).code() == Code::kInvalidArgument);
  CHECK(resp.WriteMessage({}, &msg).code() == Code::kInvalidArgument);
  CHECK_FALSE(init.HasFailed());  // out-of-turn calls change nothing
  CHECK_FALSE(resp.HasFailed());

  CipherState send, recv;
  CHECK(init.Split(&send, &recv).code() == Code::kInvalidArgument);  // not complete
  Handshake(init, resp);
  CHECK(init.WriteMessage({}, &msg).code() == Code::kInvalidArgument);
  CHECK(resp.ReadMessage(msg, &got).code() == Code::kInvalidArgument);
  REQUIRE_OK(init.Split(&send, &recv));
  CHECK(init.Split(&send, &recv).code() == Code::kInvalidArgument);

  // Message 2 of another session fails to authenticate.
  HandshakeState a, b, c, d;
  InitXX(a, b, is, rs);
  InitXX(c, d, is, rs);
  REQUIRE_OK(a.WriteMessage({}, &msg));
  REQUIRE_OK(b.ReadMessage(msg, &got));
  REQUIRE_OK(b.WriteMessage({}, &msg));
  REQUIRE_OK(c.WriteMessage({}, &got));
  CHECK(c.ReadMessage(msg, &got).code() == Code::kCorruption);
}

TEST_CASE("noise: nonce exhaustion is an error", "[noise]") {
  std::array<uint8_t, kKeyLen> key{};
  key.fill(0x42);
  CipherState enc, dec;
  enc.InitializeKey(key);
  dec.InitializeKey(key);
  enc.SetNonceForTesting(kMaxNonce - 1);
  dec.SetNonceForTesting(kMaxNonce - 1);
  Bytes wire, got, more;
  REQUIRE_OK(enc.EncryptWithAd({}, ToBytes("last"), &wire));
  REQUIRE_OK(dec.DecryptWithAd({}, wire, &got));
  REQUIRE(enc.nonce() == kMaxNonce);
  CHECK(enc.EncryptWithAd({}, ToBytes("one too many"), &more).code() == Code::kResourceExhausted);
  CHECK(more.empty());
  CHECK(dec.DecryptWithAd({}, wire, &got).code() == Code::kResourceExhausted);
  CHECK(enc.Rekey().ok());  // REKEY uses nonce 2^64-1 itself, not n
}

TEST_CASE("noise: Initialize validates names and keys", "[noise]") {
  const KeyPair s = KeyPair::Generate();
  auto code = [](std::string_view name, bool initiator, const KeyPair* local, Bytes rs, Bytes re) {
    HandshakeState hs;
    return hs.InitializeForTesting(name, initiator, {}, local, nullptr, rs, re).code();
  };
  const Code kBad = Code::kInvalidArgument;
  CHECK(code("Noise_XXpsk3_25519_ChaChaPoly_SHA256", true, &s, {}, {}) == kBad);
  CHECK(code("Noise_XXfallback_25519_ChaChaPoly_SHA256", true, &s, {}, {}) == kBad);
  CHECK(code("Noise_XX_25519_AESGCM_SHA256", true, &s, {}, {}) == kBad);
  CHECK(code("Noise_XX_25519_ChaChaPoly_BLAKE2s", true, &s, {}, {}) == kBad);
  CHECK(code("Noise__25519_ChaChaPoly_SHA256", true, &s, {}, {}) == kBad);
  CHECK(code(kXX, true, nullptr, {}, {}) == kBad);             // XX needs s
  CHECK(code(kNK, true, nullptr, {}, {}) == kBad);             // NK needs rs
  CHECK(code(kNK, true, nullptr, Bytes(31), {}) == kBad);      // rs length
  CHECK(code(kXX, true, &s, Bytes(kDhLen), {}) == kBad);       // XX transmits rs
  CHECK(code(kNN, true, nullptr, {}, Bytes(kDhLen)) == kBad);  // no e pre-message
  CHECK(code(kNN, true, nullptr, {}, {}) == Code::kOk);
  CHECK(code(kNK, false, &s, {}, {}) == Code::kOk);
  CHECK_FALSE(KeyPair::FromPrivateKey(Bytes(16)).has_value());
}

TEST_CASE("noise: a low-order ephemeral key is rejected", "[noise]") {
  HandshakeState resp;
  REQUIRE_OK(resp.InitializeForTesting(kNN, false, {}, nullptr, nullptr, {}, {}));
  Bytes got, msg;
  REQUIRE_OK(resp.ReadMessage(Bytes(kDhLen, 0), &got));                 // re = a low-order point
  CHECK(resp.WriteMessage({}, &msg).code() == Code::kInvalidArgument);  // "ee" is all zeros
  CHECK(msg.empty());
  CHECK(resp.HasFailed());
}

TEST_CASE("noise: one-way patterns leave the reverse direction keyless", "[noise]") {
  const KeyPair rs = KeyPair::Generate();
  const std::string_view kN = "Noise_N_25519_ChaChaPoly_SHA256";
  HandshakeState init, resp;
  REQUIRE_OK(init.InitializeForTesting(kN, true, {}, nullptr, nullptr, rs.public_key, {}));
  REQUIRE_OK(resp.InitializeForTesting(kN, false, {}, &rs, nullptr, {}, {}));
  Handshake(init, resp);
  REQUIRE(init.IsOneWay());
  CipherState i_send, i_recv, r_send, r_recv;
  REQUIRE_OK(init.Split(&i_send, &i_recv));
  REQUIRE_OK(resp.Split(&r_send, &r_recv));
  CHECK((i_send.HasKey() && r_recv.HasKey()));
  CHECK_FALSE((i_recv.HasKey() || r_send.HasKey()));
}

}  // namespace
}  // namespace mesh::noise
