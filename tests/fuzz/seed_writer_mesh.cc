// Seeds of the mesh targets: certificates, key files, records, envelopes, link messages,
// link frames and core scenarios (WriteMeshSeeds); Noise and link handshakes
// (WriteHandshakeSeeds). Each mirrors the input layout its target documents.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/messages.h"
#include "core/records.h"
#include "mesh/key_files.h"
#include "noise/handshake_state.h"
#include "seed_writer.h"

namespace fuzz {
namespace {

using namespace mesh;
using namespace mesh::core;

std::vector<uint8_t> Record(int node, uint64_t incarnation = kNowMs, bool left = false,
                            const std::string& address = "") {
  const auto& ids = Ids();
  return MemberRecord::Make(ids.node_keys[node], ids.nodes[node],
                            address.empty() ? "node-" + std::to_string(node) + ":7400" : address,
                            incarnation, left, kNowMs)
      .encoded;
}

std::vector<uint8_t> Envelope(int origin, GossipKind kind, std::span<const uint8_t> body) {
  return GossipEnvelope::Make(Ids().node_keys[origin], kind, 42, kNowMs, body).encoded;
}

void CertificateSeeds(Seeds* s) {
  const auto& ids = Ids();
  const std::pair<std::string, Certificate> certs[] = {
      {"node-0", ids.nodes[0]},
      {"node-1", ids.nodes[1]},
      {"alice", ids.clients[0]},
      {"bob", ids.clients[1]},
      {"expired", ids.expired},
      {"not-yet-valid", ids.not_yet_valid},
      {"foreign", ids.foreign},
      {"ca", IssueCertificate(ids.ca, Role::kCa, "ca", ids.ca.public_key(), kNowS, kNowS + 1)}};
  for (const auto& [name, cert] : certs) {
    s->Add("certificate", name, WithMode(0, cert.Encode()));
    s->Add("certificate", name + "-resign", WithMode(1, cert.Encode()));
    s->Add("key_files", "cert-" + name,
           WithMode(0, Armor(kCertificateLabel, cert.Encode()).span()));
  }
  // Private key files: MVK1 || 0x01 || seed.
  std::vector<uint8_t> raw = {'M', 'V', 'K', '1', 1};
  const auto seed = ids.node_keys[0].seed();
  raw.insert(raw.end(), seed.begin(), seed.end());
  const std::string key(Armor(kPrivateKeyLabel, raw).view());
  s->Add("key_files", "key", WithMode(1, AsBytes(key)));
  std::string crlf;
  for (char c : key) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  s->Add("key_files", "key-crlf", WithMode(1, AsBytes(crlf)));
  s->Add("key_files", "key-as-cert", WithMode(0, AsBytes(key)));
  s->Add("key_files", "key-truncated", WithMode(1, AsBytes(key.substr(0, 60))));
  raw[4] = 2;
  s->Add("key_files", "key-unknown-type",
         WithMode(1, AsBytes(std::string(Armor(kPrivateKeyLabel, raw).view()))));
}

void RecordSeeds(Seeds* s) {
  const auto& ids = Ids();
  const std::pair<std::string, std::vector<uint8_t>> records[] = {
      {"node-1", Record(1)},
      {"node-2", Record(2, 7)},
      {"left", Record(3, kNowMs, true)},
      {"long-address", Record(1, 1, false, std::string(250, 'a') + ":7")},
      {"v6-address", Record(2, 2, false, "[::1]:7400")},
      {"expired", MemberRecord::Make(ids.node_keys[3], ids.expired, "n:1", 1, false, 0).encoded},
      {"foreign", MemberRecord::Make(ids.node_keys[3], ids.foreign, "n:1", 1, false, 0).encoded}};
  for (const auto& [name, bytes] : records) {
    s->Add("member_record", name, WithMode(0, bytes));
    s->Add("member_record", name + "-resign", WithMode(1, bytes));
  }
  const auto event = EncodeEvent("chat", AsBytes(R"({"text":"hi"})"));
  s->Add("gossip_envelope", "event", Envelope(1, GossipKind::kEvent, event));
  s->Add("gossip_envelope", "record", Envelope(2, GossipKind::kRecord, Record(2)));
  const auto claim = EncodeClaim({ids.node_keys[2].public_key(), 9});
  s->Add("gossip_envelope", "suspect", Envelope(1, GossipKind::kSuspect, claim));
  s->Add("gossip_envelope", "dead", Envelope(1, GossipKind::kDead, claim));
  s->Add("gossip_envelope", "empty-body", Envelope(0, GossipKind::kEvent, {}));
  s->Add("gossip_envelope", "bad-event-name",
         Envelope(3, GossipKind::kEvent, EncodeEvent("a b", AsBytes("{}"))));

  size_t next = 0;
  const std::vector<SyncEntry> entries = {{Record(1), MemberState::kAlive, kNowMs},
                                          {Record(2), MemberState::kSuspect, kNowMs + 1}};
  const std::pair<std::string, std::vector<uint8_t>> messages[] = {
      {"hello", EncodeHello({true, Record(1)})},
      {"ping", EncodeProbe(MessageType::kPing, {7})},
      {"ack", EncodeProbe(MessageType::kAck, {7})},
      {"ping-req", EncodePingReq({3, ids.node_keys[2].public_key()})},
      {"sync", EncodeSync(true, entries, 1 << 20, &next)},
      {"gossip", EncodeGossip(1, Envelope(1, GossipKind::kEvent, event))},
      {"direct-message", EncodeDirect({DirectKind::kMessage, 0, "chat", {'{', '}'}})},
      {"direct-request", EncodeDirect({DirectKind::kRequest, 5, "vault.get", {'{', '}'}})},
      {"direct-reply", EncodeDirect({DirectKind::kReply, 5, "", {'[', ']'}})},
      {"direct-error", EncodeDirect({DirectKind::kError, 5, "", {'n', 'o'}})},
      {"disconnect", EncodeDisconnect()},
      {"unknown-type", {9, 0}},
      {"empty", {}}};
  for (const auto& [name, bytes] : messages) s->Add("link_messages", name, bytes);
}

void LinkCodecSeeds(Seeds* s) {
  auto frame = [](Writer& w, std::vector<uint8_t> plain) { w.U8(0).Chunk(plain); };
  Writer one, two, empty, seal, multi, over, flags, flip, raw;
  frame(one.U8(4), {0, 'h', 'i'});
  frame(two.U8(4), {1, 'a'});
  frame(two, {0, 'b'});
  frame(empty.U8(1), {0});
  seal.U8(4).U8(2).Chunk("hello").U8(0);
  multi.U8(4).U8(2).Chunk(std::string(1000, 'x')).U8(99);
  over.U8(1).U8(2).Chunk(std::string(200, 'y')).U8(0);
  frame(flags.U8(4), {2, 'x'});
  flip.U8(4).U8(3).Chunk(std::vector<uint8_t>{0, 'x'}).U16(5);
  raw.U8(4).U8(1).Chunk(std::string(20, 'r'));
  const std::pair<const char*, const Writer*> seeds[] = {
      {"one-frame", &one},   {"two-chunks", &two},   {"empty-message", &empty},
      {"seal", &seal},       {"seal-multi", &multi}, {"over-limit", &over},
      {"bad-flags", &flags}, {"flipped", &flip},     {"raw", &raw}};
  for (const auto& [name, w] : seeds) s->Add("link_codec", name, w->bytes());
}

// mesh_core: a record spec is who (node index), incarnation offset, left, no flip.
Writer& Rec(Writer& w, uint8_t who, uint8_t inc = 0, bool left = false) {
  return w.U8(who).U8(inc).U8(left ? 1 : 0).U8(0);
}
Writer& Hello(Writer& w, uint8_t who = 1) { return Rec(w.U8(1).U8(0).U8(1), who).U8(0); }
// HELLO with flags 3: an active link to a peer that speaks the tree protocol.
Writer& TreeHello(Writer& w, uint8_t who = 1) { return Rec(w.U8(1).U8(0).U8(1), who).U8(3); }
Writer& Sync(Writer& w) {
  w.U8(2).U8(0).U8(1).U8(2);
  Rec(w, 2).U8(0).U8(0);
  return Rec(w, 3, 1).U8(1).U8(5);
}
Writer& Tick(Writer& w, uint16_t ms) { return w.U8(8).U8(0).U16(ms); }
Writer& EventGossip(Writer& w, uint8_t origin, uint8_t seq) {
  return w.U8(3).U8(0).U8(0).U8(origin).U8(seq).U16(0).Chunk("chat").Chunk(R"({"text":"hi"})");
}
Writer& Claim(Writer& w, uint8_t origin, uint8_t kind, uint8_t target) {
  return w.U8(3)
      .U8(0)
      .U8(0)
      .U8(static_cast<uint8_t>(origin | kind << 2))
      .U8(9)
      .U16(0)
      .U8(target)
      .U64(static_cast<uint64_t>(kNowMs) + 3);
}

void CoreSeeds(Seeds* s) {
  Writer hello_sync, gossip, claims, probe, direct, dial, deferred, app, leave, raw, record, bad,
      extreme, tree;
  Tick(Sync(Hello(hello_sync.U8(0))), 1000);
  // Tree and digest messages: IHAVE (a new id and a known one), GRAFT naming one id twice,
  // PRUNE, DIGEST (a suspicion of this node, node 2 newer), PULL naming node 2 twice, NACK.
  auto& t = EventGossip(Sync(TreeHello(tree.U8(0))), 2, 1);
  t.U8(16).U8(0).U8(1).U8(2).U8(2).U8(3).U8(2).U8(1).U8(1);
  Tick(t, 200);
  t.U8(17).U8(0).U8(2).U8(2).U8(1).U8(2).U8(1);
  t.U8(18).U8(0);
  t.U8(19).U8(0).U8(1).U8(1).U8(0).U8(255).U8(0).U8(1).U8(0).U8(2).U8(5).U8(0).U8(0).U8(0);
  t.U8(20).U8(0).U8(1).U8(2).U8(2);
  t.U8(21).U8(0).U8(1);
  Tick(t, 1000);
  EventGossip(EventGossip(Sync(Hello(gossip.U8(0))), 2, 1), 3, 1);
  Tick(Tick(Claim(Claim(Sync(Hello(claims.U8(0))), 1, 2, 2), 1, 3, 0), 3000), 30000);
  auto& p = Hello(probe.U8(0));
  p.U8(4).U8(0).U8(1).U8(1).U8(4).U8(0).U8(0).U8(3).U8(5).U8(0).U8(9).U8(2);
  Tick(Tick(Tick(Sync(p), 1000), 600), 2000);
  direct.U8(3).U8(6).U8(0).U8(1).U8(1).Chunk("vault.get").Chunk("{}");
  direct.U8(14).U8(0).U8(1).U8(0).Chunk(R"({"ok":true})");
  Tick(Sync(Hello(dial.U8(0x40))), 11000);
  Tick(EventGossip(EventGossip(Hello(deferred.U8(0x10)), 2, 1), 2, 1), 10);
  deferred.U8(12).U8(0).U8(1).U8(12).U8(0).U8(0);
  auto& a = Sync(Hello(app.U8(0)));
  a.U8(13).U8(0).Chunk("chat").Chunk("{}").U8(1).U8(0);
  a.U8(13).U8(0).Chunk("chat").Chunk("{}").U8(2).U8(1);
  a.U8(13).U8(0).Chunk("ask").Chunk("{}").U8(2).U8(2).U16(500);
  Tick(Tick(a, 300), 600);
  Tick(Hello(leave.U8(0)).U8(15).U8(0).U8(0x4C), 10);
  raw.U8(0).U8(0).U8(0).Chunk(std::string("\x05\x01\xff\xff", 4)).U8(7).U8(0);
  record.U8(0);
  Hello(record).U8(3).U8(0).U8(0).U8(0x06).U8(4).U16(0);
  Rec(record, 2);
  Tick(record, 100).U8(9).U8(0).U8(1).U8(10).U8(1);
  // Envelopes stamped at the ends of the i64 range (sent_ms is the sender's to choose).
  Hello(extreme.U8(0)).U8(3).U8(0).U8(0).U8(0x21).U8(1).U64(0x8000000000000000ull);
  extreme.Chunk("chat").Chunk("{}");
  extreme.U8(3).U8(0).U8(0).U8(0x21).U8(2).U64(0x7fffffffffffffffull).Chunk("chat").Chunk("{}");
  bad.U8(1);
  bad.U8(1).U8(0).U8(1).U8(0x13).U8(0).U8(0).U8(0).U8(0);         // an expired certificate's record
  Hello(bad, 2).U8(1).U8(0).U8(0).U8(2).U8(0).U8(0).U8(5).U8(0);  // a flipped byte
  const std::pair<const char*, const Writer*> seeds[] = {{"hello-sync", &hello_sync},
                                                         {"gossip-event", &gossip},
                                                         {"gossip-claims", &claims},
                                                         {"probe", &probe},
                                                         {"client-direct", &direct},
                                                         {"dialed", &dial},
                                                         {"deferred-verify", &deferred},
                                                         {"app", &app},
                                                         {"leave", &leave},
                                                         {"raw", &raw},
                                                         {"record-gossip", &record},
                                                         {"bad-records", &bad},
                                                         {"extreme-times", &extreme},
                                                         {"tree-digest", &tree}};
  for (const auto& [name, w] : seeds) s->Add("mesh_core", name, w->bytes());
}

// The cacophony vectors' payloads by protocol name (realistic sizes and contents).
std::map<std::string, std::vector<std::vector<uint8_t>>> VectorPayloads() {
  std::map<std::string, std::vector<std::vector<uint8_t>>> out;
  std::ifstream f(MESHVAULT_VECTORS_DIR "/noise-25519-chachapoly-sha256.json");
  const auto doc = nlohmann::json::parse(f, nullptr, false);
  if (doc.is_discarded()) return out;
  for (const auto& v : doc["vectors"]) {
    const std::string name = v.value("protocol_name", "");
    if (out.count(name) != 0) continue;
    for (const auto& m : v["messages"]) {
      const std::string hex = m.value("payload", "");
      std::vector<uint8_t> bytes;
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      }
      out[name].push_back(bytes);
    }
  }
  return out;
}

constexpr const char* kPatterns[] = {
    "N",   "K",    "X",   "NN",  "NK",   "NX",  "KN",  "KK",   "KX",   "XN",  "XK",   "XX",  "IN",
    "IK",  "IX",   "NK1", "NX1", "X1N",  "X1K", "XK1", "X1K1", "X1X",  "XX1", "X1X1", "K1N", "K1K",
    "KK1", "K1K1", "K1X", "KX1", "K1X1", "I1N", "I1K", "IK1",  "I1K1", "I1X", "IX1",  "I1X1"};

// How many handshake messages a pattern has (tokens separated by '|' in the spec table):
// counted by running it.
size_t MessageCount(const std::string& pattern) {
  noise::HandshakeState i, r;
  const auto pair = noise::KeyPair::Generate();
  const std::string name = "Noise_" + pattern + "_25519_ChaChaPoly_SHA256";
  const bool ipre = pattern[0] == 'K';
  const char last = pattern.back() == '1' ? pattern[pattern.size() - 2] : pattern.back();
  const bool rpre = last == 'K' || pattern == "N" || pattern == "X";
  if (!i.Initialize(name, true, {}, &pair,
                    rpre ? std::span<const uint8_t>(pair.public_key) : std::span<const uint8_t>())
           .ok() ||
      !r.Initialize(name, false, {}, &pair,
                    ipre ? std::span<const uint8_t>(pair.public_key) : std::span<const uint8_t>())
           .ok()) {
    return 0;
  }
  size_t n = 0;
  std::vector<uint8_t> m, p;
  while (!i.IsComplete() && n < 8) {
    auto& w = i.IsMyTurn() ? i : r;
    auto& rd = &w == &i ? r : i;
    if (!w.WriteMessage({}, &m).ok() || !rd.ReadMessage(m, &p).ok()) return 0;
    ++n;
  }
  return n;
}

void NoiseSeeds(Seeds* s) {
  const auto payloads = VectorPayloads();
  for (size_t p = 0; p < std::size(kPatterns); ++p) {
    const std::string pattern = kPatterns[p];
    const auto it = payloads.find("Noise_" + pattern + "_25519_ChaChaPoly_SHA256");
    Writer w;
    w.U8(static_cast<uint8_t>(p));
    const size_t n = MessageCount(pattern);
    for (size_t m = 0; m < n; ++m) {
      if (it != payloads.end() && m < it->second.size()) {
        w.Chunk(it->second[m]);
      } else {
        w.Chunk("payload " + std::to_string(m));
      }
      w.U8(0);  // untampered
    }
    w.Chunk("transport");
    s->Add("noise_handshake", pattern, w.bytes());
  }
  // Tampered runs of XX: a flipped bit, a truncation, a replacement, an extension.
  Writer flip, cut, swap, grow;
  flip.U8(11).Chunk("").U8(1).U16(3);
  cut.U8(11).Chunk("").U8(0).Chunk("x").U8(2).U16(40);
  swap.U8(11).Chunk("").U8(3).Chunk(std::string(32, '\x09'));
  grow.U8(11).Chunk("").U8(0).Chunk("x").U8(0).Chunk("y").U8(4).Chunk("more");
  s->Add("noise_handshake", "XX-flip", flip.bytes());
  s->Add("noise_handshake", "XX-truncate", cut.bytes());
  s->Add("noise_handshake", "XX-replace", swap.bytes());
  s->Add("noise_handshake", "XX-append", grow.bytes());
}

// link_handshake: setup (dial, accepted roles), who, payload mode, then the per-message ops.
void LinkHandshakeSeeds(Seeds* s) {
  for (uint8_t dial = 0; dial < 2; ++dial) {
    for (uint8_t who = 0; who < 7; ++who) {
      Writer w;
      w.U8(static_cast<uint8_t>(dial | 1 << 1)).U8(who).U8(0);
      if (dial == 0) w.U8(0).U8(0).U8(0);  // no payload in message 1; no tampering
      if (dial == 1) w.U8(0);
      s->Add("link_handshake", std::string(dial ? "dial-" : "listen-") + std::to_string(who),
             w.bytes());
    }
  }
  Writer node_only, client_only, raw, flipped, payload1, tamper1, tamper3;
  node_only.U8(1).U8(1).U8(0).U8(0);                // dialer meets a client
  client_only.U8(4).U8(1).U8(0).U8(0).U8(0).U8(0);  // listener for clients only
  raw.U8(2).U8(0).U8(1).Chunk("junk").U8(0).U8(0).U8(0);
  flipped.U8(3).U8(0).U8(2).U16(100).U8(0);
  payload1.U8(2).U8(0).U8(0).U8(1).Chunk("hi").U8(0).U8(0);
  tamper1.U8(2).U8(0).U8(0).U8(0).U8(2).U16(20).U8(0);
  tamper3.U8(2).U8(0).U8(0).U8(0).U8(0).U8(1).U16(77);
  const std::pair<const char*, const Writer*> more[] = {{"dial-meets-client", &node_only},
                                                        {"clients-only", &client_only},
                                                        {"raw-payload", &raw},
                                                        {"flipped-payload", &flipped},
                                                        {"payload-in-1", &payload1},
                                                        {"tamper-1", &tamper1},
                                                        {"tamper-3", &tamper3}};
  for (const auto& [name, w] : more) s->Add("link_handshake", name, w->bytes());
}

}  // namespace

void WriteHandshakeSeeds(Seeds* s) {
  NoiseSeeds(s);
  LinkHandshakeSeeds(s);
}

void WriteMeshSeeds(Seeds* s) {
  CertificateSeeds(s);
  RecordSeeds(s);
  LinkCodecSeeds(s);
  CoreSeeds(s);
}

}  // namespace fuzz
