// The vault agent's state and handlers. Every handler runs on the worker thread; the node's
// I/O thread only queues work (see Register). Entry-node handlers serve clients and fan out
// to holders; holder handlers keep this node's shares. Protocol: docs/vault.md.
#ifndef VAULT_AGENT_AGENT_STATE_H_
#define VAULT_AGENT_AGENT_STATE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/worker.h"
#include "protocol/certificate_cache.h"
#include "protocol/manifest.h"
#include "protocol/sealed_share.h"
#include "vault/agent.h"
#include "vault/share_store.h"

namespace vault::agent {

class AgentState : public std::enable_shared_from_this<AgentState> {
 public:
  AgentState(const AgentConfig& config, mesh::Node* node, std::unique_ptr<ShareStore> store);

  // Registers the vault events on the node and starts the worker.
  void Register();
  void Shutdown();
  AgentStatus Status();
  // Thread-safe (the store serialises its own use).
  mesh::Status Placement(const std::string& name, SecretPlacement* out);

 private:
  using Handler = void (AgentState::*)(const mesh::Message&, const mesh::Responder&);
  void On(const std::string& event, Handler handler, mesh::Role caller);
  void Log(mesh::LogLevel level, const std::string& line) const;
  int64_t NowMs() const;

  // Shared steps.
  // Stores a verified commit or tombstone when newer; holders commit their share or delete
  // shares it replaces. *applied says whether it was newer.
  mesh::Status ApplyCommit(const protocol::Commit& commit, bool* applied);
  mesh::Status DecodeCommit(const mesh::Json& data, const char* field, protocol::Commit* out);
  // Decodes and verifies a manifest the caller (a client link) must own.
  mesh::Status DecodeOwnManifest(const mesh::Message& m, const char* field,
                                 protocol::Manifest* out);
  // The request may write (name, version): no other owner holds the name and the version is
  // newer than the head.
  mesh::Status CheckWritable(const protocol::Manifest& manifest);
  // Logs a store failure and returns a generic error for the remote side (no local paths).
  mesh::Status Internal(const std::string& what, const mesh::Status& s) const;
  // The stored head for `name`; NotFound when none.
  mesh::Status Head(const std::string& name, protocol::Commit* out);
  std::string MemberName(const mesh::PublicKey& id) const;
  void Tick();

  // Client-facing (entry node): agent_client.cc, agent_put.cc, agent_get.cc.
  void OnHead(const mesh::Message& m, const mesh::Responder& r);
  void OnStore(const mesh::Message& m, const mesh::Responder& r);
  void DoStore(const mesh::Message& m, const TrackedResponder& r);
  void OnCommit(const mesh::Message& m, const mesh::Responder& r);
  void DoCommit(const mesh::Message& m, const TrackedResponder& r);
  void OnDelete(const mesh::Message& m, const mesh::Responder& r);
  void OnGet(const mesh::Message& m, const mesh::Responder& r);
  void DoGet(const mesh::Message& m, const TrackedResponder& r);
  void OnList(const mesh::Message& m, const mesh::Responder& r);
  void OnAudit(const mesh::Message& m, const mesh::Responder& r);
  void OnStatus(const mesh::Message& m, const mesh::Responder& r);
  void OnMembers(const mesh::Message& m, const mesh::Responder& r);

  // Node-facing (holders and anti-entropy).
  void OnShareStore(const mesh::Message& m, const mesh::Responder& r);
  void OnShareGet(const mesh::Message& m, const mesh::Responder& r);
  void OnShareDelete(const mesh::Message& m, const mesh::Responder& r);
  void OnShareAudit(const mesh::Message& m, const mesh::Responder& r);
  void OnManifest(const mesh::Message& m, const mesh::Responder& r);
  void OnSync(const mesh::Message& m, const mesh::Responder& r);
  void SyncWithPeer();
  protocol::Digest ManifestDigest();

  // Asks the holders in `holders` for `event` and calls `done` on the worker with one result
  // per holder asked, in `holders` order. AskHolders asks all of them in parallel (those known
  // to have failed are answered at once). AskSomeHolders asks `want` of them, live members
  // first in random order, and asks another for each that fails, until `want` succeeded or all
  // were asked: reads need t shares, not n.
  struct HolderResult {
    mesh::PublicKey id{};
    std::string name;
    mesh::Status status;
    mesh::Json reply;
  };
  using HoldersDone = std::function<void(std::vector<HolderResult>)>;
  void AskHolders(const std::vector<mesh::PublicKey>& holders, const std::string& event,
                  const mesh::Json& data, HoldersDone done);
  void AskSomeHolders(const std::vector<mesh::PublicKey>& holders, size_t want,
                      const std::string& event, const mesh::Json& data, HoldersDone done);
  // One fan-out's state (worker thread). Invariant: in_flight + succeeded <= want.
  struct Fanout {
    std::vector<HolderResult> results;  // holders order
    std::vector<bool> asked, known_down;
    std::vector<size_t> order;  // indexes into results, in the order to ask
    size_t next = 0, in_flight = 0, succeeded = 0, want = 0;
    std::string event;
    mesh::Json data;
    HoldersDone done;
  };
  // Asks until `want` are in flight or succeeded; calls done once nothing is in flight.
  void Launch(const std::shared_ptr<Fanout>& f);

  // Releases wait here until the worker has no earlier task, then their nonces and audit
  // records are written in one transaction (group commit: one fsync for the batch).
  struct PendingRelease {
    ShareStore::NonceRecord record;
    protocol::DealerShare share;
    protocol::BoxPublicKey reply_key{};
    mesh::Certificate client;
    mesh::Responder responder;
  };
  void QueueRelease(PendingRelease release);
  void FlushReleases();

  void Audit(const std::string& name, uint64_t version, const std::string& action,
             const mesh::Certificate& client, const std::string& outcome);

  const AgentConfig config_;
  mesh::Node* const node_;
  const std::unique_ptr<ShareStore> store_;
  const protocol::BoxKey box_key_;
  const mesh::PublicKey self_;
  static constexpr size_t kMaxQueuedTasks = 1024;  // more waiting: "busy"
  std::unique_ptr<Worker> worker_;
  std::atomic<uint64_t> puts_{0}, gets_{0}, denied_{0};
  // Clients' puts and gets at this entry node (agent_metrics.h). A put is tracked by its
  // manifest id from its first vault.store to its commit, its first failed store, or
  // uncommitted_ttl_ms (abandoned); at most kMaxTrackedPuts at once (worker thread only).
  OpMetrics put_metrics_, get_metrics_;
  struct PutTrack {
    std::chrono::steady_clock::time_point start;
    bool failed = false;  // its outcome is recorded; later stores of it are not
  };
  static constexpr size_t kMaxTrackedPuts = 4096;
  std::map<std::string, PutTrack> put_tracks_;
  void PutAnswered(bool commit, Outcome outcome, bool replied, const std::string& key,
                   double seconds);
  void PrunePutTracks();
  // Anti-entropy (worker thread): the cursor into a peer's heads and the passes completed.
  static constexpr size_t kSyncPage = 256;
  std::string sync_cursor_;
  int sync_passes_ = 0;
  protocol::CertificateCache client_certs_;  // worker thread only
  std::vector<PendingRelease> releases_;     // worker thread only
};

}  // namespace vault::agent

#endif  // VAULT_AGENT_AGENT_STATE_H_
