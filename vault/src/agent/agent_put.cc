// Writes: put (store each share, then commit) and delete, at the entry node and the holders.
#include "agent/agent_state.h"

namespace vault::agent {

using protocol::Commit;
using protocol::Manifest;

mesh::Status AgentState::DecodeOwnManifest(const mesh::Message& m, const char* field,
                                           Manifest* out) {
  std::vector<uint8_t> bytes;
  if (auto s = protocol::Base64Field(m.data, field, protocol::kMaxManifestBytes, &bytes); !s.ok()) {
    return s;
  }
  if (auto s = Manifest::Decode(bytes, out); !s.ok()) return s;
  if (auto s = out->Verify(config_.ca_key); !s.ok()) return s;
  if (out->owner.subject != m.from || out->owner.name != m.from_name) {
    return mesh::Status::PermissionDenied("permission denied: the manifest is signed by " +
                                          out->owner.name + ", not by this client");
  }
  return mesh::Status::OK();
}

mesh::Status AgentState::CheckWritable(const Manifest& manifest) {
  Commit head;
  auto s = Head(manifest.name, &head);
  if (s.code() == mesh::Status::Code::kNotFound) return mesh::Status::OK();
  if (!s.ok()) return s;
  if (head.manifest.owner.name != manifest.owner.name) {
    return mesh::Status::PermissionDenied("permission denied: \"" + manifest.name +
                                          "\" belongs to " + head.manifest.owner.name);
  }
  if (manifest.version <= head.manifest.version) {
    return mesh::Status::InvalidArgument("stale version " + std::to_string(manifest.version) +
                                         " of \"" + manifest.name + "\": the current one is " +
                                         std::to_string(head.manifest.version));
  }
  return mesh::Status::OK();
}

void AgentState::OnHead(const mesh::Message& m, const mesh::Responder& r) {
  std::string name;
  if (auto s = protocol::StringField(m.data, "name", protocol::kMaxSecretNameBytes, &name);
      !s.ok()) {
    return r.Error(s.message());
  }
  Commit head;
  auto s = Head(name, &head);
  if (s.code() == mesh::Status::Code::kNotFound) return r.Reply({{"version", 0}});
  if (!s.ok()) return r.Error(s.message());
  // The commit lets the client check the version it builds on (a lying entry node could
  // otherwise make it sign a version that freezes the name).
  r.Reply({{"version", head.manifest.version},
           {"deleted", head.manifest.deleted},
           {"owner", head.manifest.owner.name},
           {"commit", protocol::ToBase64(head.Encode())}});
}

// Entry node: forwards one sealed share to its holder and returns the holder's ack.
void AgentState::OnStore(const mesh::Message& m, const mesh::Responder& r) {
  DoStore(m, TrackedResponder(
                 r, [this](Outcome o, bool replied, const std::string& key, double seconds) {
                   PutAnswered(/*commit=*/false, o, replied, key, seconds);
                 }));
}

void AgentState::DoStore(const mesh::Message& m, const TrackedResponder& r) {
  Manifest manifest;
  if (auto s = DecodeOwnManifest(m, "manifest", &manifest); !s.ok()) return r.Error(s.message());
  const protocol::Digest manifest_id = manifest.Id();
  std::string key(manifest_id.begin(), manifest_id.end());
  if (put_tracks_.size() < kMaxTrackedPuts) {
    put_tracks_.try_emplace(key, PutTrack{std::chrono::steady_clock::now()});
  }
  r.set_key(std::move(key));
  if (manifest.deleted) return r.Error("a tombstone is not stored; use vault.delete");
  if (auto s = CheckWritable(manifest); !s.ok()) return r.Error(s.message());
  std::vector<uint8_t> holder;
  if (auto s = protocol::Base64Field(m.data, "holder", mesh::kPublicKeyBytes, &holder);
      !s.ok() || holder.size() != mesh::kPublicKeyBytes) {
    return r.Error("bad holder id");
  }
  mesh::PublicKey id{};
  std::copy(holder.begin(), holder.end(), id.begin());
  if (manifest.HolderIndex(id) < 0) return r.Error("that node is not a holder in the manifest");
  if (!m.data.contains("share") || !m.data["share"].is_string()) {
    return r.Error("missing string field \"share\"");
  }
  const mesh::Json forward = {{"manifest", m.data["manifest"]}, {"share", m.data["share"]}};
  AskHolders({id}, "vault.share.store", forward, [r](std::vector<HolderResult> results) {
    auto& res = results.front();
    if (!res.status.ok()) return r.Error(res.name + ": " + res.status.message());
    r.Reply(res.reply);
  });
}

// Holder: checks and keeps its share, durably, then acknowledges.
void AgentState::OnShareStore(const mesh::Message& m, const mesh::Responder& r) {
  std::vector<uint8_t> bytes;
  Manifest manifest;
  if (auto s = protocol::Base64Field(m.data, "manifest", protocol::kMaxManifestBytes, &bytes);
      !s.ok()) {
    return r.Error(s.message());
  }
  if (auto s = Manifest::Decode(bytes, &manifest); !s.ok()) return r.Error(s.message());
  if (auto s = manifest.Verify(config_.ca_key); !s.ok()) return r.Error(s.message());
  const int index = manifest.HolderIndex(self_);
  if (index < 0 || manifest.deleted) return r.Error("this node is not a holder of that version");
  if (auto s = CheckWritable(manifest); !s.ok()) return r.Error(s.message());
  std::vector<uint8_t> sealed;
  if (auto s = protocol::Base64Field(m.data, "share", protocol::kMaxSealedShareBytes, &sealed);
      !s.ok()) {
    return r.Error(s.message());
  }
  protocol::DealerShare share;
  if (auto s = protocol::DealerShare::Open(sealed, box_key_, &share); !s.ok()) {
    return r.Error(s.message());
  }
  if (share.name != manifest.name || share.version != manifest.version || share.holder != self_ ||
      share.index != index || share.manifest_id != manifest.Id()) {
    return r.Error("the share is addressed to another secret, version or holder");
  }
  if (!share.VerifySignature(manifest.owner.subject)) {
    return r.Error("the dealer signature on the share does not verify");
  }
  if (share.payload.empty()) return r.Error("empty share");
  if (auto s = store_->PutShare(share.name, share.version, share.payload.span(), share.signature,
                                share.manifest_id, NowMs());
      !s.ok()) {
    Log(mesh::LogLevel::kError, "storing a share of " + share.name + " failed: " + s.message());
    return r.Error("this holder could not store the share (see its log)");
  }
  puts_++;
  Audit(manifest.name, manifest.version, "put", manifest.owner, "granted");
  const auto ack = protocol::SignAck(*config_.key, manifest.Id(), index);
  r.Reply({{"ack", protocol::ToBase64(ack)}});
}

// Entry node: a put whose every holder acknowledged becomes visible everywhere.
void AgentState::OnCommit(const mesh::Message& m, const mesh::Responder& r) {
  DoCommit(m, TrackedResponder(
                  r, [this](Outcome o, bool replied, const std::string& key, double seconds) {
                    PutAnswered(/*commit=*/true, o, replied, key, seconds);
                  }));
}

void AgentState::DoCommit(const mesh::Message& m, const TrackedResponder& r) {
  Commit commit;
  if (auto s = DecodeCommit(m.data, "commit", &commit); !s.ok()) return r.Error(s.message());
  const auto& manifest = commit.manifest;
  const protocol::Digest id = manifest.Id();
  r.set_key(std::string(id.begin(), id.end()));
  if (manifest.owner.subject != m.from || manifest.deleted) {
    return r.Error("permission denied: only the owner commits a put");
  }
  bool applied = false;
  if (auto s = ApplyCommit(commit, &applied); !s.ok()) return r.Error(s.message());
  if (!applied) {
    // Success only for a retry of the commit already in place; another put of the same
    // version won the race, and this one's shares may have been replaced.
    Commit head;
    if (!Head(manifest.name, &head).ok() || head.manifest.Id() != manifest.Id()) {
      return r.Error("conflict: version " + std::to_string(manifest.version) + " of \"" +
                     manifest.name + "\" was committed by another put; nothing was changed");
    }
  }
  if (applied) {
    if (auto s = node_->Broadcast("vault.manifest", {{"commit", m.data["commit"]}}); !s.ok()) {
      Log(mesh::LogLevel::kWarn,
          "manifest gossip failed (anti-entropy will carry it): " + s.message());
    }
  }
  r.Reply({{"version", manifest.version}});
}

// Entry node: stores and gossips the owner's tombstone, and asks the holders to wipe.
void AgentState::OnDelete(const mesh::Message& m, const mesh::Responder& r) {
  Manifest tomb;
  if (auto s = DecodeOwnManifest(m, "manifest", &tomb); !s.ok()) return r.Error(s.message());
  if (!tomb.deleted) return r.Error("vault.delete takes a tombstone");
  Commit head;
  if (auto s = Head(tomb.name, &head); !s.ok()) {
    return r.Error(s.code() == mesh::Status::Code::kNotFound
                       ? "no secret named \"" + tomb.name + "\""
                       : s.message());
  }
  if (head.manifest.deleted) return r.Error("\"" + tomb.name + "\" is already deleted");
  if (auto s = CheckWritable(tomb); !s.ok()) return r.Error(s.message());
  const Commit commit{tomb, {}};
  bool applied = false;
  if (auto s = ApplyCommit(commit, &applied); !s.ok()) return r.Error(s.message());
  const mesh::Json data = {{"commit", protocol::ToBase64(commit.Encode())}};
  node_->Broadcast("vault.manifest", data);
  const auto version = tomb.version;
  AskHolders(head.manifest.HolderIds(), "vault.share.delete", data,
             [r, version](std::vector<HolderResult> results) {
               mesh::Json holders = mesh::Json::array();
               for (const auto& h : results) {
                 holders.push_back({{"name", h.name},
                                    {"wiped", h.status.ok()},
                                    {"error", h.status.ok() ? "" : h.status.message()}});
               }
               r.Reply({{"version", version}, {"holders", holders}});
             });
}

// Holder: applies a tombstone, wiping its shares of the name.
void AgentState::OnShareDelete(const mesh::Message& m, const mesh::Responder& r) {
  Commit commit;
  if (auto s = DecodeCommit(m.data, "commit", &commit); !s.ok()) return r.Error(s.message());
  if (!commit.manifest.deleted) return r.Error("vault.share.delete takes a tombstone");
  bool applied = false;
  if (auto s = ApplyCommit(commit, &applied); !s.ok()) return r.Error(s.message());
  r.Reply({{"applied", applied}});
}

// A put's outcome is recorded once: at its commit, or at its first failed store (the client
// then gives up; later stores of it are not counted again). Stores that succeed record
// nothing. Untracked puts (too many at once) record each answer's own time.
void AgentState::PutAnswered(bool commit, Outcome outcome, bool replied, const std::string& key,
                             double seconds) {
  if (replied && !commit) return;
  auto it = key.empty() ? put_tracks_.end() : put_tracks_.find(key);
  if (it == put_tracks_.end()) return put_metrics_.Record(outcome, seconds);
  const double since_first =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.start).count();
  if (!it->second.failed) put_metrics_.Record(outcome, since_first);
  if (commit) {
    put_tracks_.erase(it);
  } else {
    it->second.failed = true;
  }
}

// Puts whose commit never came within uncommitted_ttl_ms were abandoned by their client.
void AgentState::PrunePutTracks() {
  const auto cutoff =
      std::chrono::steady_clock::now() - std::chrono::milliseconds(config_.uncommitted_ttl_ms);
  for (auto it = put_tracks_.begin(); it != put_tracks_.end();) {
    if (it->second.start >= cutoff) {
      ++it;
      continue;
    }
    if (!it->second.failed) put_metrics_.Count(Outcome::kAbandoned);
    it = put_tracks_.erase(it);
  }
}

}  // namespace vault::agent
