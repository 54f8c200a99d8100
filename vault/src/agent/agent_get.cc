// Reads: get at the entry node (fan out to the holders) and at a holder (check, audit,
// release the share sealed to the reader's one-time key).
#include "agent/agent_state.h"
#include "protocol/get_request.h"

namespace vault::agent {

using protocol::Commit;
using protocol::GetRequest;

namespace {

mesh::Status DecodeRequest(const mesh::Json& data, GetRequest* out) {
  std::vector<uint8_t> bytes;
  if (auto s = protocol::Base64Field(data, "request", protocol::kMaxGetRequestBytes, &bytes);
      !s.ok()) {
    return s;
  }
  return GetRequest::Decode(bytes, out);
}

}  // namespace

void AgentState::OnGet(const mesh::Message& m, const mesh::Responder& r) {
  GetRequest request;
  if (auto s = DecodeRequest(m.data, &request); !s.ok()) return r.Error(s.message());
  if (request.client.subject != m.from) {
    return r.Error("permission denied: the request is signed by another client");
  }
  Commit head;
  if (auto s = Head(request.name, &head); !s.ok()) {
    return r.Error(s.code() == mesh::Status::Code::kNotFound
                       ? "no secret named \"" + request.name + "\""
                       : s.message());
  }
  const auto& manifest = head.manifest;
  if (manifest.deleted) return r.Error("\"" + request.name + "\" was deleted");
  if (request.version != 0 && request.version != manifest.version) {
    return r.Error("version " + std::to_string(request.version) + " of \"" + request.name +
                   "\" is not available; the current version is " +
                   std::to_string(manifest.version));
  }
  const std::string commit = protocol::ToBase64(head.Encode());
  const mesh::Json forward = {{"request", m.data["request"]}, {"commit", commit}};
  AskHolders(manifest.holders, "vault.share.get", forward,
             [r, commit](std::vector<HolderResult> results) {
               mesh::Json out = mesh::Json::array();
               for (const auto& h : results) {
                 mesh::Json one = {{"holder", protocol::Hex(h.id)}, {"name", h.name}};
                 if (h.status.ok() && h.reply.is_object() && h.reply.contains("share")) {
                   one["share"] = h.reply["share"];
                 } else {
                   one["error"] = h.status.ok() ? "malformed reply" : h.status.message();
                 }
                 out.push_back(std::move(one));
               }
               r.Reply({{"commit", commit}, {"results", out}});
             });
}

void AgentState::OnShareGet(const mesh::Message& m, const mesh::Responder& r) {
  const int64_t now = NowMs();
  GetRequest request;
  if (auto s = DecodeRequest(m.data, &request); !s.ok()) return r.Error(s.message());
  // The forwarded commit names the version; a copy identical to the local head needs no
  // second verification.
  std::vector<uint8_t> bytes;
  if (auto s = protocol::Base64Field(m.data, "commit", protocol::kMaxCommitBytes, &bytes);
      !s.ok()) {
    return r.Error(s.message());
  }
  Commit commit;
  ManifestRow row;
  const bool known = store_->GetManifest(request.name, &row).ok() && row.encoded == bytes;
  if (auto s = Commit::Decode(bytes, &commit); !s.ok()) return r.Error(s.message());
  if (!known) {
    if (auto s = commit.Verify(config_.ca_key); !s.ok()) return r.Error(s.message());
  }
  const auto& manifest = commit.manifest;
  const int index = manifest.HolderIndex(self_);
  if (manifest.name != request.name || manifest.deleted || index < 0) {
    return r.Error("this node holds no share of that version");
  }
  const auto deny = [&](const std::string& why) {
    denied_++;
    Audit(manifest.name, manifest.version, "get", request.client, "denied: " + why);
    r.Error("permission denied: " + why);
  };
  if (auto s = request.Verify(config_.ca_key, now, config_.request_window_ms, &client_certs_);
      !s.ok()) {
    return deny(s.message());
  }
  if (!manifest.MayRead(request.client.name)) {
    return deny(request.client.name + " is not the owner or a reader of \"" + manifest.name + "\"");
  }
  if (!known) {
    bool applied = false;
    if (auto s = ApplyCommit(commit, &applied); !s.ok()) return r.Error(s.message());
  }
  StoredShare stored;
  if (auto s = store_->GetShare(manifest.name, manifest.version, &stored); !s.ok()) {
    Log(mesh::LogLevel::kError, "get " + manifest.name + ": " + s.message());
    // Local details (paths) stay in the log.
    return r.Error(s.code() == mesh::Status::Code::kNotFound
                       ? "this holder has lost its share of that version"
                   : s.code() == mesh::Status::Code::kCorruption
                       ? "this holder's stored share failed authentication"
                       : "this holder could not read its share (see its log)");
  }
  // The nonce and the release's audit record are durable together before the share leaves.
  const AuditRecord granted{now,      manifest.name,       manifest.version,
                            "get",    request.client.name, protocol::Hex(request.client.subject),
                            "granted"};
  if (auto s =
          store_->RecordNonce(request.nonce, now, now - 2 * config_.request_window_ms, &granted);
      !s.ok()) {
    if (s.code() == mesh::Status::Code::kPermissionDenied) return deny(s.message());
    Log(mesh::LogLevel::kError, "get " + manifest.name + ": " + s.message());
    return r.Error("this holder could not write its audit log (see its log)");
  }
  protocol::DealerShare share;
  share.name = manifest.name;
  share.version = manifest.version;
  share.holder = self_;
  share.index = index;
  share.payload = std::move(stored.payload);
  if (stored.dealer_signature.size() != share.signature.size()) {
    return r.Error("stored dealer signature is malformed");
  }
  std::copy(stored.dealer_signature.begin(), stored.dealer_signature.end(),
            share.signature.begin());
  gets_++;
  r.Reply({{"share", protocol::ToBase64(share.SealTo(request.reply_key))}});
}

}  // namespace vault::agent
