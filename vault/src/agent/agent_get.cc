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
  DoGet(m, TrackedResponder(r, [this](Outcome o, bool, const std::string&, double seconds) {
          get_metrics_.Record(o, seconds);
        }));
}

void AgentState::DoGet(const mesh::Message& m, const TrackedResponder& r) {
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
  // t holders are asked first (another for each that fails); "all" asks every holder, for a
  // client that found a bad share among the first t.
  bool all = false;
  if (m.data.contains("all")) {
    if (!m.data["all"].is_boolean()) return r.Error("\"all\" must be true or false");
    all = m.data["all"].get<bool>();
  }
  const auto holders = manifest.HolderIds();
  const size_t want = all ? holders.size() : static_cast<size_t>(manifest.threshold);
  const std::string commit = protocol::ToBase64(head.Encode());
  const mesh::Json forward = {{"request", m.data["request"]}, {"commit", commit}};
  AskSomeHolders(
      holders, want, "vault.share.get", forward,
      [r, commit, t = static_cast<size_t>(manifest.threshold)](std::vector<HolderResult> results) {
        mesh::Json out = mesh::Json::array();
        size_t bytes = commit.size(), shares = 0;
        for (const auto& h : results) {
          mesh::Json one = {{"holder", protocol::Hex(h.id)}, {"name", h.name}};
          if (h.status.ok() && h.reply.is_object() && h.reply.contains("share") &&
              h.reply["share"].is_string()) {
            const auto& share = h.reply["share"].get_ref<const std::string&>();
            bytes += share.size() + 200;
            if (bytes <= kGetReplyBudget) {
              one["share"] = share;
              ++shares;
            } else {
              one["error"] = "deferred: the reply is full";
            }
          } else {
            one["error"] = h.status.ok() ? "malformed reply" : h.status.message();
          }
          out.push_back(std::move(one));
        }
        // The client checks the shares; fewer than t cannot succeed.
        r.Reply({{"commit", commit}, {"results", out}},
                shares >= t ? Outcome::kOk : Outcome::kUnavailable);
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
  PendingRelease release;
  release.record.nonce = request.nonce;
  release.record.audit =
      AuditRecord{now,      manifest.name,       manifest.version,
                  "get",    request.client.name, protocol::Hex(request.client.subject),
                  "granted"};
  release.share.name = manifest.name;
  release.share.version = manifest.version;
  release.share.holder = self_;
  release.share.index = index;
  release.share.manifest_id = id;
  release.share.payload = std::move(stored.payload);
  std::copy(stored.dealer_signature.begin(), stored.dealer_signature.end(),
            release.share.signature.begin());
  release.reply_key = request.reply_key;
  release.client = request.client;
  release.responder = r;
  QueueRelease(std::move(release));
}

void AgentState::QueueRelease(PendingRelease release) {
  releases_.push_back(std::move(release));
  if (releases_.size() > 1) return;  // a flush is already queued
  auto self = shared_from_this();
  worker_->Post([self] { self->FlushReleases(); }, false);
}

void AgentState::FlushReleases() {
  auto batch = std::move(releases_);
  releases_.clear();
  if (batch.empty()) return;
  const int64_t now = NowMs();
  std::vector<ShareStore::NonceRecord> records;
  records.reserve(batch.size());
  for (const auto& b : batch) records.push_back(b.record);
  std::vector<mesh::Status> each;
  if (auto s = store_->RecordNonces(records, now, now - 2 * config_.request_window_ms, &each);
      !s.ok()) {
    Log(mesh::LogLevel::kError, "recording get requests: " + s.message());
    for (const auto& b : batch) {
      b.responder.Error("this holder could not write its audit log (see its log)");
    }
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& b = batch[i];
    if (!each[i].ok()) {
      denied_++;
      Audit(b.share.name, b.share.version, "get", b.client, "denied: " + each[i].message());
      b.responder.Error("permission denied: " + each[i].message());
      continue;
    }
    gets_++;
    b.responder.Reply({{"share", protocol::ToBase64(b.share.SealTo(b.reply_key))}});
  }
}

}  // namespace vault::agent
