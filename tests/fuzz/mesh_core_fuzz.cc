// The sans-IO mesh core (mesh/src/core/*): one node (node-0) with up to three links, fed
// link messages, timer ticks, dial results, signature-check answers and application calls.
// Structured ops build real signed records and envelopes from the fixed identities, so the
// handlers are reached past the decoders and signature checks; raw ops send any bytes.
// IHAVE, GRAFT, PRUNE, DIGEST, PULL and NACK name the same identities and small sequences.
// Input: byte 0 is the setup (first peer, whether signature checks answer inline, small
// caches), then ops (see Step). Invariants: every message the core sends decodes; its own
// envelopes verify and use sequence numbers below the durable reservation, in order (an
// older one only its own record, repeated byte for byte);
// each request is answered once; the pending-check bound holds.
#include <map>
#include <set>

#include "core/core.h"
#include "fuzz_common.h"

using namespace mesh;
using namespace mesh::core;

namespace {

const fuzz::Identities& Ids() { return fuzz::Ids(); }

class FuzzHost : public Host {
 public:
  Core* core = nullptr;
  int64_t now = 1'000'000;
  bool inline_verify = true;
  std::vector<VerifyJob> pending;
  std::vector<uint64_t> dials;
  std::set<LinkId> closed;
  std::set<uint64_t> replied;
  uint64_t reserved = 0, last_seq = 0, rng = 7;
  std::map<uint64_t, std::vector<uint8_t>> own_sent;  // own envelopes by sequence

  void Send(LinkId, std::vector<uint8_t> message) override { CheckOutgoing(message); }
  void Dial(uint64_t dial_id, const std::string& address) override {
    FUZZ_CHECK(!address.empty());
    dials.push_back(dial_id);
  }
  void Close(LinkId link) override { closed.insert(link); }
  int64_t UnixMs() override { return fuzz::kNowMs + now; }
  uint64_t Random() override {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 11;
  }
  void Deliver(const Delivery& d) override {
    if (d.kind != Delivery::Kind::kBroadcast || !d.event.empty()) {
      FUZZ_CHECK(CheckEventName(d.event).ok());
    }
  }
  void Replied(uint64_t token, const Status&, std::span<const uint8_t>) override {
    FUZZ_CHECK(replied.insert(token).second);  // exactly once
  }
  void MemberChanged(const MemberInfo&) override {}
  void ReserveSequence(uint64_t limit) override {
    FUZZ_CHECK(limit > reserved);
    reserved = limit;
  }
  void PeerSeen(const MemberRecord&) override {}
  void PeerConnect(const PublicKey&, bool) override {}
  void PeerAddresses(const PublicKey&, uint64_t, uint64_t) override {}
  void VerifyGossip(VerifyJob job) override {
    if (inline_verify) return core->OnGossipVerified(now, job.token, job.Verify());
    pending.push_back(std::move(job));
  }

 private:
  // Whatever the core sends must decode; its own envelopes must verify and be in order.
  void CheckOutgoing(const std::vector<uint8_t>& m) {
    MessageType type;
    FUZZ_CHECK(PeekType(m, &type).ok());
    switch (type) {
      case MessageType::kHello: {
        Hello h;
        MemberRecord r;
        FUZZ_CHECK(DecodeHello(m, &h).ok() && MemberRecord::Decode(h.record, &r).ok());
        FUZZ_CHECK(r.Verify(Ids().ca.public_key(), fuzz::kNowS).ok());
        break;
      }
      case MessageType::kPing:
      case MessageType::kAck: {
        ProbeMessage p;
        FUZZ_CHECK(DecodeProbe(m, &p).ok());
        break;
      }
      case MessageType::kPingReq: {
        PingReq p;
        FUZZ_CHECK(DecodePingReq(m, &p).ok());
        break;
      }
      case MessageType::kSync: {
        Sync s;
        FUZZ_CHECK(DecodeSync(m, &s).ok() && !s.entries.empty());
        break;
      }
      case MessageType::kGossip: {
        Gossip g;
        GossipEnvelope env;
        FUZZ_CHECK(DecodeGossip(m, &g).ok());
        FUZZ_CHECK(GossipEnvelope::Decode(g.envelope, 1 << 20, &env).ok());
        if (env.origin == Ids().node_keys[0].public_key() && g.hops == 0) {
          FUZZ_CHECK(env.VerifySignature(env.origin));
          FUZZ_CHECK(env.seq < reserved);
          // New envelopes come in sequence order; an older one only as the exact bytes sent
          // before (the join announcement repeated on new links).
          if (env.seq < last_seq) {
            FUZZ_CHECK(env.kind == GossipKind::kRecord);
            auto sent = own_sent.find(env.seq);
            FUZZ_CHECK(sent == own_sent.end() || sent->second == g.envelope);
          } else {
            last_seq = env.seq;
            own_sent[env.seq] = g.envelope;
          }
        }
        break;
      }
      case MessageType::kDirect: {
        Direct d;
        FUZZ_CHECK(DecodeDirect(m, &d).ok());
        break;
      }
      case MessageType::kDisconnect:
      case MessageType::kPrune:
        FUZZ_CHECK(m.size() == 1);
        break;
      case MessageType::kNack: {
        ProbeMessage p;
        FUZZ_CHECK(DecodeProbe(m, &p).ok());
        break;
      }
      case MessageType::kIHave: {
        std::vector<IHaveEntry> e;
        FUZZ_CHECK(DecodeIHave(m, &e).ok());
        break;
      }
      case MessageType::kGraft: {
        std::vector<GossipId> ids;
        FUZZ_CHECK(DecodeGraft(m, &ids).ok());
        break;
      }
      case MessageType::kDigest: {
        Digest d;
        FUZZ_CHECK(DecodeDigest(m, &d).ok() && !d.entries.empty());
        break;
      }
      case MessageType::kPull: {
        std::vector<PublicKey> ids;
        FUZZ_CHECK(DecodePull(m, &ids).ok());
        break;
      }
    }
  }
};

// A member record signed by one of the fixed nodes (or an expired / foreign certificate).
std::vector<uint8_t> BuildRecord(fuzz::Reader& in) {
  const uint8_t who = in.U8();
  const SigningKey& key = Ids().node_keys[who % 4];
  const Certificate* cert = &Ids().nodes[who % 4];
  if ((who & 0x30) == 0x10) cert = &Ids().expired;
  if ((who & 0x30) == 0x20) cert = &Ids().foreign;
  const SigningKey& signer = cert == &Ids().nodes[who % 4] ? key : Ids().node_keys[3];
  const std::string address =
      (who & 0x40) ? in.Text() : "node-" + std::to_string(who % 4) + ":7400";
  const uint64_t incarnation = (who & 0x80) ? in.U64() : fuzz::kNowMs + in.U8();
  const bool left = in.Bool();
  auto bytes = MemberRecord::Make(signer, *cert, address, incarnation, left, fuzz::kNowMs).encoded;
  if (const uint8_t flip = in.U8(); flip != 0) bytes[flip % bytes.size()] ^= 0x01;
  return bytes;
}

std::vector<uint8_t> BuildEnvelope(fuzz::Reader& in, int64_t unix_ms) {
  const uint8_t head = in.U8();
  const SigningKey& origin = Ids().node_keys[head % 4];
  const auto kind = static_cast<GossipKind>((head >> 2) % 4);
  const uint64_t seq = (head & 0x10) ? in.U64() : in.U8();
  const int64_t sent = (head & 0x20) ? static_cast<int64_t>(in.U64())
                                     : unix_ms + static_cast<int16_t>(in.U16()) * 10;
  std::vector<uint8_t> body;
  if (head & 0x40) {
    body = in.Chunk();
  } else if (kind == GossipKind::kEvent) {
    const std::string event = in.Text(), payload = in.Text();
    body = EncodeEvent(event, fuzz::AsBytes(payload));
  } else if (kind == GossipKind::kRecord) {
    body = BuildRecord(in);
  } else {
    std::vector<Claim> claims(1 + in.U8() % 3);  // a tick's claims share an envelope
    for (Claim& c : claims) c = {Ids().node_keys[in.U8() % 4].public_key(), in.U64()};
    body = EncodeClaims(claims);
  }
  auto bytes = GossipEnvelope::Make(origin, kind, seq, sent, body).encoded;
  if (head & 0x80) bytes[in.U16() % bytes.size()] ^= 0x01;
  return bytes;
}

// An id of an envelope BuildEnvelope may make (small sequences), or of none.
GossipId BuildId(fuzz::Reader& in) {
  const uint8_t who = in.U8();
  return GossipId{Ids().node_keys[who % 4].public_key(), (who & 0x80) ? in.U64() : in.U8()};
}

struct Harness {
  FuzzHost host;
  std::unique_ptr<Core> core;
  std::map<LinkId, const Certificate*> up;
  LinkId next_link = 1;
  uint64_t next_token = 1;

  const Certificate* PeerCert(uint8_t v) {
    const Certificate* certs[] = {&Ids().nodes[1], &Ids().nodes[2], &Ids().nodes[3],
                                  &Ids().clients[0]};
    return certs[v % 4];
  }
  LinkId PickLink(uint8_t v) {
    if (up.empty()) return 0;
    auto it = up.begin();
    std::advance(it, v % up.size());
    return it->first;
  }
  void LinkUp(const Certificate* cert, uint64_t dial_id) {
    const LinkId id = next_link++;
    up[id] = cert;
    core->OnLinkUp(host.now, id, *cert, dial_id);
  }
  // The transport reports every link the core closed.
  void ReapClosed() {
    while (!host.closed.empty()) {
      const LinkId id = *host.closed.begin();
      host.closed.erase(host.closed.begin());
      if (up.erase(id) > 0) core->OnLinkDown(host.now, id);
    }
  }
  void Step(fuzz::Reader& in);
};

void Harness::Step(fuzz::Reader& in) {
  const uint8_t op = in.U8();
  const LinkId link = PickLink(in.U8());
  const int64_t now = host.now;
  switch (op % 22) {
    case 0:  // raw bytes
      core->OnMessage(now, link, in.Chunk());
      break;
    case 1: {  // HELLO
      Hello h{in.Bool(), BuildRecord(in)};
      auto m = EncodeHello(h);
      if (const uint8_t f = in.U8(); f > 1) m[1] = f;  // unknown flags
      core->OnMessage(now, link, std::move(m));
      break;
    }
    case 2: {  // SYNC
      const bool reply = in.Bool();
      std::vector<SyncEntry> entries(in.U8() % 4);
      for (auto& e : entries) {
        e.record = BuildRecord(in);
        e.state = static_cast<MemberState>(in.U8() % 4);
        e.state_incarnation = fuzz::kNowMs + in.U8();
      }
      size_t next = 0;
      core->OnMessage(now, link, EncodeSync(reply, entries, 1 << 20, &next));
      break;
    }
    case 3: {  // GOSSIP
      const uint8_t hops = in.U8();
      core->OnMessage(now, link, EncodeGossip(hops, BuildEnvelope(in, host.UnixMs())));
      break;
    }
    case 4: {  // PING / ACK
      const MessageType type = in.Bool() ? MessageType::kPing : MessageType::kAck;
      core->OnMessage(now, link, EncodeProbe(type, {in.U8()}));
      break;
    }
    case 5:  // PING-REQ
      core->OnMessage(now, link,
                      EncodePingReq({in.U8(), Ids().node_keys[in.U8() % 4].public_key()}));
      break;
    case 6: {  // DIRECT
      Direct d{static_cast<DirectKind>(in.U8() % 4), in.U8(), in.Text(), in.Chunk()};
      core->OnMessage(now, link, EncodeDirect(d));
      break;
    }
    case 7:
      core->OnMessage(now, link, EncodeDisconnect());
      break;
    case 8:  // time passes
      host.now += in.U16();
      core->Tick(host.now);
      break;
    case 9:  // a new inbound link
      if (up.size() < 3) LinkUp(PeerCert(in.U8()), 0);
      break;
    case 10:  // a link drops
      if (link != 0) {
        up.erase(link);
        core->OnLinkDown(now, link);
      }
      break;
    case 11:  // a dial finishes
      if (!host.dials.empty()) {
        const uint64_t dial = host.dials.front();
        host.dials.erase(host.dials.begin());
        if (in.Bool() && up.size() < 3) {
          LinkUp(PeerCert(in.U8()), dial);
        } else {
          core->OnDialFailed(now, dial);
        }
      }
      break;
    case 12:  // a deferred signature check answers (any order)
      if (!host.pending.empty()) {
        const size_t i = in.U8() % host.pending.size();
        VerifyJob job = host.pending[i];
        host.pending.erase(host.pending.begin() + static_cast<ptrdiff_t>(i));
        core->OnGossipVerified(now, job.token, job.Verify());
      }
      break;
    case 13: {  // the application sends
      const std::string event = in.Text(), payload = in.Text();
      const PublicKey& to = Ids().node_keys[in.U8() % 4].public_key();
      switch (in.U8() % 3) {
        case 0:
          (void)core->Broadcast(now, event, fuzz::AsBytes(payload));
          break;
        case 1:
          (void)core->SendDirect(now, to, event, fuzz::AsBytes(payload));
          break;
        case 2: {
          const uint64_t token = next_token++;
          if (!core->Request(now, to, event, fuzz::AsBytes(payload), in.U16(), token).ok()) {
            host.replied.insert(token);  // refused at once: never answered
          }
          break;
        }
      }
      break;
    }
    case 14: {  // the application replies
      const uint8_t request_id = in.U8();
      const bool error = in.Bool();
      core->Reply(link, request_id, error, in.Chunk());
      break;
    }
    case 15:
      if (in.U8() == 0x4C) core->Leave(now);
      break;
    // Tree dissemination and digest anti-entropy (HELLO flags 2 and 3 make a tree link).
    case 16: {  // IHAVE: ids may repeat
      std::vector<IHaveEntry> entries(1 + in.U8() % 4);
      for (auto& e : entries) e = IHaveEntry{BuildId(in), in.U8()};
      core->OnMessage(now, link, EncodeIHave(entries));
      break;
    }
    case 17: {  // GRAFT: none (eager push only) or a few ids, may repeat
      std::vector<GossipId> ids(in.U8() % 4);
      for (auto& id : ids) id = BuildId(in);
      core->OnMessage(now, link, EncodeGraft(ids));
      break;
    }
    case 18:
      core->OnMessage(now, link, EncodePrune());
      break;
    case 19: {  // DIGEST: about the fixed nodes, node-0 (this one) included
      const bool reply = in.Bool();
      std::vector<DigestEntry> entries(1 + in.U8() % 4);
      for (auto& e : entries) {
        const uint8_t who = in.U8();
        e.id = Ids().node_keys[who % 4].public_key();
        e.incarnation = (who & 0x80) ? in.U64() : fuzz::kNowMs + in.U8();
        e.left = in.Bool();
        e.state = static_cast<MemberState>(in.U8() % 4);
        e.state_incarnation = (who & 0x40) ? in.U64() : fuzz::kNowMs + in.U8();
      }
      size_t next = 0;
      core->OnMessage(now, link, EncodeDigest(reply, entries, 1 << 20, &next));
      break;
    }
    case 20: {  // PULL: may repeat ids
      std::vector<PublicKey> ids(1 + in.U8() % 4);
      for (auto& id : ids) id = Ids().node_keys[in.U8() % 4].public_key();
      core->OnMessage(now, link, EncodePull(ids));
      break;
    }
    case 21:  // NACK: probe ids are small counters
      core->OnMessage(now, link, EncodeProbe(MessageType::kNack, {in.U8()}));
      break;
  }
  ReapClosed();
  FUZZ_CHECK(core->verifying() <= 4);  // config.max_verify_inflight
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  fuzz::Reader in(data, size);
  const uint8_t setup = in.U8();
  Harness h;
  h.host.inline_verify = (setup & 0x10) == 0;
  Config config;
  config.key = std::make_shared<SigningKey>(SigningKey::FromSeed(
      std::span<const uint8_t, kSeedBytes>(Ids().node_keys[0].seed().data(), kSeedBytes)));
  config.certificate = Ids().nodes[0];
  config.ca_key = Ids().ca.public_key();
  config.max_verify_inflight = 4;
  if (setup & 0x20) config.seen_cache_max = 8;
  const uint64_t seq = static_cast<uint64_t>(fuzz::kNowMs) * 1000;
  h.core = std::make_unique<Core>(config, &h.host, "node-0:7400", fuzz::kNowMs, seq, seq);
  h.host.core = h.core.get();
  h.host.reserved = seq;
  h.host.last_seq = seq;
  h.core->Start(h.host.now, {"node-1:7400"});
  // The first link: inbound, or the answer to the bootstrap dial.
  uint64_t dial = 0;
  if ((setup & 0x40) && !h.host.dials.empty()) {
    dial = h.host.dials.front();
    h.host.dials.erase(h.host.dials.begin());
  }
  h.LinkUp(h.PeerCert(setup), dial);
  for (int step = 0; step < 48 && !in.empty(); ++step) h.Step(in);
  return 0;
}
