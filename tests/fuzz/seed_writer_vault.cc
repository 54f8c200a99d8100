// Seeds of the vault targets: share lines and sets (from splits and the Vault-compatible
// vectors in tests/compat/vault_vectors.json), manifests, commits, get requests, sealed
// dealer shares, storage-key files and vault JSON payloads.
#include <sodium.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mesh/key_files.h"
#include "protocol/get_request.h"
#include "protocol/manifest.h"
#include "protocol/sealed_share.h"
#include "seed_writer.h"
#include "storage_key.h"
#include "vault/shares.h"

namespace fuzz {
namespace {

using namespace vault;
using namespace vault::protocol;

std::string Split(std::string_view secret, int t, int n, ShareFormat format) {
  SplitOptions o;
  o.threshold = t;
  o.shares = n;
  o.format = format;
  o.label = "seed";
  mesh::SecureBuffer out;
  if (!SplitSecret(AsBytes(secret), o, &out).ok()) std::abort();
  return std::string(out.view());
}

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

void ShareSeeds(Seeds* s) {
  const std::string text = Split("x", 2, 3, ShareFormat::kText);
  const std::string long_text = Split(std::string(300, 's'), 3, 5, ShareFormat::kText);
  const std::pair<std::string, std::string> sets[] = {
      {"text-2of3", text},
      {"text-3of5", long_text},
      {"json-2of3", Split("json secret", 2, 3, ShareFormat::kJson)},
      {"vault-2of3", Split("vault", 2, 3, ShareFormat::kVault)},
      {"vault-hex-3of4", Split("hex secret", 3, 4, ShareFormat::kVaultHex)}};
  for (const auto& [name, lines] : sets) {
    s->Add("combine_shares", name, WithMode(0, AsBytes(lines)));
  }
  // text_share: single lines, and the part under the checksum (the target appends it).
  for (const auto& l : SplitShareLines(long_text, "")) {
    s->Add("text_share", "line-" + l.origin, l.text);
    s->Add("text_share", "covered-" + l.origin, l.text.substr(0, l.text.size() - 9));
  }
  s->Add(
      "text_share", "doc-example",
      "mvs1.2of3.1.hVKVibzFa-c.eF-Oc7fwqSMyKEOnF-I69PBm3E7HX0U3cUUF_mxQYtOartfkWK6miVDjKBwelPil5_"
      "xHTTTLgYhIWQKxrRPiOhgj.2958fafb");
  s->Add("text_share", "other-version", "mvs2.2of3.1.AAAAAAAAAAA.AQI.00000000");
  // Vault / OpenBao vectors (npm shamir-secret-sharing), hex and base64.
  std::ifstream f(MESHVAULT_SOURCE_DIR "/tests/compat/vault_vectors.json");
  const auto doc = nlohmann::json::parse(f, nullptr, false);
  if (!doc.is_discarded()) {
    int i = 0;
    for (const auto& v : doc["vectors"]) {
      std::string hex, b64;
      int taken = 0;
      for (const auto& share : v["shares_hex"]) {
        if (++taken > 6) break;
        hex += share.get<std::string>() + "\n";
        b64 += ToBase64(Hex(share.get<std::string>())) + "\n";
      }
      const std::string n = std::to_string(i++);
      s->Add("combine_shares", "vector-" + n + "-hex", WithMode(4, AsBytes(hex)));
      s->Add("combine_shares", "vector-" + n + "-base64", WithMode(0, AsBytes(b64)));
    }
  }
  // Split mode: t, n, format, then the secret.
  for (uint8_t format = 0; format < 4; ++format) {
    Writer w;
    w.U8(0x20).U8(format).U8(1).U8(format).Bytes("a secret to split").U8(0);
    s->Add("combine_shares", "split-" + std::to_string(format), w.bytes());
  }
  // CRC fix-up mode: a line without its checksum.
  const auto first = SplitShareLines(text, "")[0].text;
  s->Add("combine_shares", "crc-fixup",
         WithMode(0x08, AsBytes(std::string(first.substr(0, first.size() - 9)))));
}

struct Fixture {
  Manifest manifest, tomb;
  Commit commit, tomb_commit;
  GetRequest request;
  DealerShare share;
};

Fixture MakeFixture() {
  const auto& ids = Ids();
  Fixture f;
  Manifest& m = f.manifest;
  m.name = "db/root";
  m.version = 3;
  m.threshold = 2;
  m.count = 3;
  m.owner = ids.clients[0];
  m.readers = {"bob"};
  m.holders = {ids.nodes[0], ids.nodes[1], ids.nodes[2]};
  m.created_ms = kNowMs;
  m.Sign(ids.client_keys[0]);
  f.commit.manifest = m;
  for (int i = 0; i < 3; ++i) f.commit.acks.push_back(SignAck(ids.node_keys[i], m.Id(), i));
  f.tomb = m;
  f.tomb.version = 4;
  f.tomb.deleted = true;
  f.tomb.threshold = f.tomb.count = 0;
  f.tomb.holders.clear();
  f.tomb.Sign(ids.client_keys[0]);
  f.tomb_commit.manifest = f.tomb;
  GetRequest& g = f.request;
  g.name = m.name;
  g.version = 3;
  g.nonce.fill(7);
  g.reply_key.fill(9);
  g.time_ms = kNowMs;
  g.client = ids.clients[1];
  g.Sign(ids.client_keys[1]);
  DealerShare& d = f.share;
  d.name = m.name;
  d.version = m.version;
  d.holder = ids.node_keys[0].public_key();
  d.index = 0;
  d.manifest_id = m.Id();
  const std::string line = Split("x", 2, 3, ShareFormat::kText);
  d.payload = mesh::SecureBuffer(line.find('\n'));
  std::copy_n(line.data(), d.payload.size(), d.payload.data());
  d.Sign(ids.client_keys[0]);
  return f;
}

void RecordSeeds(Seeds* s, const Fixture& f) {
  s->Add("manifest", "manifest", WithMode(0, f.manifest.Encode()));
  s->Add("manifest", "manifest-resign", WithMode(1, f.manifest.Encode()));
  s->Add("manifest", "tombstone", WithMode(0, f.tomb.Encode()));
  Manifest foreign = f.manifest;
  foreign.holders[2] = Ids().foreign;
  foreign.Sign(Ids().client_keys[0]);
  s->Add("manifest", "foreign-holder", WithMode(1, foreign.Encode()));
  Manifest many = f.manifest;
  many.readers.clear();
  for (int i = 0; i < 64; ++i) many.readers.push_back("reader-" + std::to_string(i));
  many.Sign(Ids().client_keys[0]);
  s->Add("manifest", "64-readers", WithMode(0, many.Encode()));
  s->Add("manifest", "tombstone-resign", WithMode(1, f.tomb.Encode()));
  const auto encoded = f.manifest.Encode();
  s->Add("manifest", "truncated", WithMode(0, std::span(encoded).first(encoded.size() - 1)));
  s->Add("commit", "commit", f.commit.Encode());
  Commit swapped = f.commit;
  std::swap(swapped.acks[0], swapped.acks[1]);
  s->Add("commit", "acks-swapped", swapped.Encode());
  Commit extra = f.commit;
  extra.acks.push_back(extra.acks[0]);
  s->Add("commit", "extra-ack", extra.Encode());
  s->Add("commit", "tombstone", f.tomb_commit.Encode());
  Commit missing = f.commit;
  missing.acks.pop_back();
  s->Add("commit", "missing-ack", missing.Encode());
  s->Add("get_request", "request", WithMode(0, f.request.Encode()));
  s->Add("get_request", "request-resign", WithMode(1, f.request.Encode()));
  GetRequest current = f.request;
  current.version = 0;
  current.client = Ids().clients[0];
  current.Sign(Ids().client_keys[0]);
  s->Add("get_request", "current-version", WithMode(0, current.Encode()));
  GetRequest node = f.request;
  node.client = Ids().nodes[1];  // a node's certificate where a client's belongs
  s->Add("get_request", "node-cert-resign", WithMode(1, node.Encode()));
  GetRequest stale = f.request;
  stale.time_ms -= 3'600'000;
  s->Add("get_request", "stale-resign", WithMode(1, stale.Encode()));
  // Sealed shares: the plaintext record (mode 1) and the sealed bytes (mode 0).
  const BoxKey holder = BoxKey::FromSigningKey(Ids().node_keys[0]);
  const std::vector<uint8_t> sealed = f.share.SealTo(holder.public_key());
  std::vector<uint8_t> plain(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(), holder.public_key().data(),
                           holder.secret()) != 0) {
    std::abort();
  }
  s->Add("sealed_share", "plain", WithMode(1, plain));
  s->Add("sealed_share", "sealed", WithMode(0, sealed));
  s->Add("sealed_share", "truncated", WithMode(1, std::span(plain).first(plain.size() - 70)));
  std::vector<uint8_t> trailing = plain;
  trailing.push_back(0);
  s->Add("sealed_share", "trailing-byte", WithMode(1, trailing));
  DealerShare empty;
  empty.name = "n";
  empty.version = 1;
  empty.payload = mesh::SecureBuffer(0);
  empty.Sign(Ids().client_keys[0]);
  s->Add("sealed_share", "empty-payload", WithMode(0, empty.SealTo(holder.public_key())));
  const BoxKey other = BoxKey::FromSigningKey(Ids().node_keys[1]);
  s->Add("sealed_share", "other-holder", WithMode(0, f.share.SealTo(other.public_key())));
  // Storage key files.
  std::vector<uint8_t> key(32, 0x42);
  s->Add("storage_key", "key", mesh::Armor(storage_key::kLabel, key).view());
  key.resize(31);
  s->Add("storage_key", "short", mesh::Armor(storage_key::kLabel, key).view());
  s->Add("storage_key", "other-label", mesh::Armor(mesh::kPrivateKeyLabel, key).view());
  s->Add("storage_key", "empty", "");
}

void JsonSeeds(Seeds* s, const Fixture& f) {
  const BoxKey holder = BoxKey::FromSigningKey(Ids().node_keys[0]);
  const std::string manifest = ToBase64(f.manifest.Encode());
  const std::string commit = ToBase64(f.commit.Encode());
  const std::string request = ToBase64(f.request.Encode());
  const std::string share = ToBase64(f.share.SealTo(holder.public_key()));
  const std::string holder_id = ToBase64(Ids().node_keys[0].public_key());
  const std::string cert = ToBase64(Ids().nodes[1].Encode());
  using nlohmann::json;
  const std::pair<std::string, json> payloads[] = {
      {"head", {{"name", "db/root"}}},
      {"store", {{"manifest", manifest}, {"holder", holder_id}, {"share", share}}},
      {"commit", {{"commit", commit}}},
      {"delete", {{"manifest", ToBase64(f.tomb.Encode())}}},
      {"get", {{"request", request}, {"all", true}}},
      {"share-get", {{"request", request}, {"commit", commit}}},
      {"sync", {{"digest", ToBase64(std::vector<uint8_t>(32, 1))}, {"after", "a"}}},
      {"ack", {{"ack", ToBase64(f.commit.acks[0])}}},
      {"members", {{"members", {{{"status", "alive"}, {"certificate", cert}}}}}},
      {"results", {{"commit", commit}, {"results", {{{"name", "node-0"}, {"share", share}}}}}},
      {"not-canonical", {{"holder", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="}}},
      {"nested", json::parse(R"({"a":[[[[[[[[{"b":[1,2.5,"c",null,true]}]]]]]]]]})")}};
  for (const auto& [name, value] : payloads) s->Add("vault_json", name, value.dump());
}

}  // namespace

void WriteVaultSeeds(Seeds* s) {
  ShareSeeds(s);
  const Fixture f = MakeFixture();
  RecordSeeds(s, f);
  JsonSeeds(s, f);
}

}  // namespace fuzz
