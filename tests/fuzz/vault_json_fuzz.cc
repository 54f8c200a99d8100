// The JSON layer of the vault protocol: a DIRECT payload as mesh::ParseJson reads it (the
// node and the client both use it), copied as the agent's work queue copies it, then every
// field the agent and the client read with Base64Field / StringField, each decoded with the
// record decoder the handlers use (vault/src/protocol/*). The handlers themselves need a
// running node and are not reached here. Decoded base64 must be canonical: re-encoding gives
// the string that was sent.
#include "fuzz_common.h"
#include "mesh/certificate.h"
#include "mesh/node.h"
#include "protocol/get_request.h"
#include "protocol/manifest.h"
#include "protocol/sealed_share.h"

using namespace vault::protocol;

namespace {

struct Field {
  const char* name;
  size_t limit;
};

// Every base64 field of vault.* requests and replies, with the limit its reader passes.
constexpr Field kBase64Fields[] = {
    {"manifest", kMaxManifestBytes},   {"commit", kMaxCommitBytes},
    {"request", kMaxGetRequestBytes},  {"share", kMaxSealedShareBytes},
    {"holder", mesh::kPublicKeyBytes}, {"digest", 32},
    {"ack", mesh::kSignatureBytes},    {"certificate", mesh::kMaxCertificateBytes},
};

const BoxKey& HolderKey() {
  static const BoxKey* key = new BoxKey(BoxKey::FromSigningKey(fuzz::Ids().node_keys[0]));
  return *key;
}

void DecodeField(const mesh::Json& data, const Field& f) {
  std::vector<uint8_t> bytes;
  if (!Base64Field(data, f.name, f.limit, &bytes).ok()) return;
  FUZZ_CHECK(bytes.size() <= f.limit);
  FUZZ_CHECK(ToBase64(bytes) == data[f.name].get_ref<const std::string&>());
  const std::string_view name = f.name;
  if (name == "manifest") {
    Manifest m;
    if (Manifest::Decode(bytes, &m).ok()) FUZZ_CHECK(m.Encode() == bytes);
  } else if (name == "commit") {
    Commit c;
    if (Commit::Decode(bytes, &c).ok()) FUZZ_CHECK(c.Encode() == bytes);
  } else if (name == "request") {
    GetRequest g;
    if (GetRequest::Decode(bytes, &g).ok()) FUZZ_CHECK(g.Encode() == bytes);
  } else if (name == "share") {
    DealerShare share;
    (void)DealerShare::Open(bytes, HolderKey(), &share);
  } else if (name == "certificate") {
    mesh::Certificate cert;
    if (mesh::Certificate::Decode(bytes, &cert).ok()) FUZZ_CHECK(cert.Encode() == bytes);
  }
}

void DecodeObject(const mesh::Json& data) {
  for (const Field& f : kBase64Fields) DecodeField(data, f);
  for (const char* name : {"name", "after"}) {
    std::string s;
    if (StringField(data, name, kMaxSecretNameBytes, &s).ok()) {
      FUZZ_CHECK(s.size() <= kMaxSecretNameBytes);
      (void)CheckSecretName(s);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  HolderKey();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  mesh::Json parsed;
  if (!mesh::ParseJson({data, size}, &parsed).ok()) return 0;
  // The agent's queue copies the message; replies are dumped and parsed by the other side.
  const mesh::Json copy = parsed;
  const std::string text = copy.dump();
  mesh::Json again;
  FUZZ_CHECK(mesh::ParseJson(fuzz::AsBytes(text), &again).ok());
  FUZZ_CHECK(again.dump() == text);
  DecodeObject(copy);
  // Replies nest records in arrays: vault.members "members", vault.get "results".
  if (copy.is_object()) {
    for (const char* list : {"members", "results", "commits"}) {
      const auto it = copy.find(list);
      if (it == copy.end() || !it->is_array()) continue;
      for (const auto& element : *it) DecodeObject(element);
    }
  }
  return 0;
}
