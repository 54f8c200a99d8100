// Reads: get at the entry node (check, fan out to the holders) and at a holder (check, audit,
// release the share sealed to the reader's one-time key).
#include "agent/agent_state.h"
#include "protocol/get_request.h"

namespace vault::agent {

using protocol::Commit;
using protocol::GetRequest;

namespace {

// Sealed shares beyond this many bytes in one get reply are left out ("deferred"); put keeps
// t shares within it, so a get always carries enough.
constexpr size_t kGetReplyBudget = kVaultMaxMessageBytes - (1 << 20);

mesh::Status DecodeRequest(const mesh::Json& data, GetRequest* out) {
  std::vector<uint8_t> bytes;
  if (auto s = protocol::Base64Field(data, "request", protocol::kMaxGetRequestBytes, &bytes);
      !s.ok()) {
    return s;
  }
  return GetRequest::Decode(bytes, out);
}

// The requester as the audit log names it: unverified names are marked as such.
mesh::Certificate Unverified(mesh::Certificate cert) {
  cert.name = "unverified:" + cert.name.substr(0, 48);
  return cert;
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
  // Refuse what every holder would refuse before fanning out; holders check again.
  if (auto s = request.Verify(config_.ca_key, NowMs(), config_.request_window_ms, &client_certs_);
      !s.ok()) {
    return r.Error("permission denied: " + s.message());
  }
  if (!manifest.MayRead(request.client.name)) {
    denied_++;
    const std::string why =
        request.client.name + " is not the owner or a reader of \"" + manifest.name + "\"";
    Audit(manifest.name, manifest.version, "get", request.client, "denied: " + why);
    return r.Error("permission denied: " + why);
  }
  if (manifest.deleted) return r.Error("\"" + request.name + "\" was deleted");
  if (request.version != 0 && request.version != manifest.version) {
    return r.Error("version " + std::to_string(request.version) + " of \"" + request.name +
                   "\" is not available; the current version is " +
                   std::to_string(manifest.version));
  }
  const std::string commit = protocol::ToBase64(head.Encode());
  const mesh::Json forward = {{"request", m.data["request"]}, {"commit", commit}};
  AskHolders(manifest.HolderIds(), "vault.share.get", forward,
             [r, commit](std::vector<HolderResult> results) {
               mesh::Json out = mesh::Json::array();
               size_t bytes = commit.size();
               for (const auto& h : results) {
                 mesh::Json one = {{"holder", protocol::Hex(h.id)}, {"name", h.name}};
                 if (h.status.ok() && h.reply.is_object() && h.reply.contains("share") &&
                     h.reply["share"].is_string()) {
                   const auto& share = h.reply["share"].get_ref<const std::string&>();
                   bytes += share.size() + 200;
                   if (bytes <= kGetReplyBudget) {
                     one["share"] = share;
                   } else {
                     one["error"] = "deferred: the reply is full";
                   }
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
  std::vector<uint8_t> bytes;
  if (auto s = protocol::Base64Field(m.data, "commit", protocol::kMaxCommitBytes, &bytes);
      !s.ok()) {
    return r.Error(s.message());
  }
  Commit commit;
  if (auto s = Commit::Decode(bytes, &commit); !s.ok()) return r.Error(s.message());
  const auto& manifest = commit.manifest;
  const int index = manifest.HolderIndex(self_);
  if (manifest.name != request.name || manifest.deleted || index < 0 ||
      (request.version != 0 && request.version != manifest.version)) {
    return r.Error("this node holds no share of that version");
  }
  const auto deny = [&](const mesh::Certificate& who, const std::string& why) {
    denied_++;
    Audit(manifest.name, manifest.version, "get", who, "denied: " + why);
    r.Error("permission denied: " + why);
  };
  // The request first (cheap), then the commit: a copy identical to the local head needs no
  // second verification; a newer one is verified and applied; an older one is refused.
  if (auto s = request.Verify(config_.ca_key, now, config_.request_window_ms, &client_certs_);
      !s.ok()) {
    return deny(Unverified(request.client), s.message());
  }
  ManifestRow head;
  const auto head_status = store_->GetManifest(manifest.name, &head);
  if (!head_status.ok() && head_status.code() != mesh::Status::Code::kNotFound) {
    return r.Error(Internal("reading the head of " + manifest.name, head_status).message());
  }
  const bool known = head_status.ok() && head.encoded == bytes;
  if (!known) {
    if (head_status.ok() && head.version >= manifest.version) {
      return r.Error("that version is not this holder's current one");
    }
    if (auto s = commit.Verify(config_.ca_key); !s.ok()) return r.Error(s.message());
  }
  if (!manifest.MayRead(request.client.name)) {
    return deny(request.client,
                request.client.name + " is not the owner or a reader of \"" + manifest.name + "\"");
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
  // Released only under the manifest it was stored under: another put's commit for the same
  // version (which may name other readers) gets nothing.
  const auto id = manifest.Id();
  if (!std::equal(stored.manifest_id.begin(), stored.manifest_id.end(), id.begin(), id.end()) ||
      stored.dealer_signature.size() != mesh::kSignatureBytes) {
    return r.Error("this holder's share of that version belongs to another put");
  }
  // The nonce and the release's audit record are durable together before the share leaves.
  const AuditRecord granted{now,      manifest.name,       manifest.version,
                            "get",    request.client.name, protocol::Hex(request.client.subject),
                            "granted"};
  if (auto s =
          store_->RecordNonce(request.nonce, now, now - 2 * config_.request_window_ms, &granted);
      !s.ok()) {
    if (s.code() == mesh::Status::Code::kPermissionDenied) return deny(request.client, s.message());
    Log(mesh::LogLevel::kError, "get " + manifest.name + ": " + s.message());
    return r.Error("this holder could not write its audit log (see its log)");
  }
  protocol::DealerShare share;
  share.name = manifest.name;
  share.version = manifest.version;
  share.holder = self_;
  share.index = index;
  share.manifest_id = id;
  share.payload = std::move(stored.payload);
  std::copy(stored.dealer_signature.begin(), stored.dealer_signature.end(),
            share.signature.begin());
  gets_++;
  r.Reply({{"share", protocol::ToBase64(share.SealTo(request.reply_key))}});
}

}  // namespace vault::agent
