// The agent's plumbing: event registration, the manifest store rules, anti-entropy, and the
// fan-out to holders.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "agent/agent_state.h"

namespace vault {
namespace {

class AgentImpl : public Agent {
 public:
  explicit AgentImpl(std::shared_ptr<agent::AgentState> state) : state_(std::move(state)) {}
  ~AgentImpl() override { state_->Shutdown(); }
  AgentStatus Status() override { return state_->Status(); }
  mesh::Status Placement(const std::string& name, SecretPlacement* out) override {
    return state_->Placement(name, out);
  }

 private:
  std::shared_ptr<agent::AgentState> state_;
};

}  // namespace

mesh::Status Agent::Create(const AgentConfig& config, mesh::Node* node,
                           std::unique_ptr<Agent>* out) {
  if (!config.key || !config.key->valid()) {
    return mesh::Status::InvalidArgument("vault agent needs the node's signing key");
  }
  if (config.data_dir.empty()) return mesh::Status::InvalidArgument("vault agent needs a data dir");
  std::unique_ptr<ShareStore> store;
  if (auto s = ShareStore::Open(config.data_dir, &store); !s.ok()) return s;
  auto state = std::make_shared<agent::AgentState>(config, node, std::move(store));
  state->Register();
  *out = std::make_unique<AgentImpl>(std::move(state));
  return mesh::Status::OK();
}

namespace agent {

using protocol::Commit;

AgentState::AgentState(const AgentConfig& config, mesh::Node* node,
                       std::unique_ptr<ShareStore> store)
    : config_(config),
      node_(node),
      store_(std::move(store)),
      box_key_(protocol::BoxKey::FromSigningKey(*config.key)),
      self_(config.key->public_key()) {}

void AgentState::Register() {
  worker_ = std::make_unique<Worker>(
      config_.sync_interval, [this] { Tick(); }, kMaxQueuedTasks,
      [this](const std::string& what) { Log(mesh::LogLevel::kError, "task failed: " + what); });
  using mesh::Role;
  On("vault.head", &AgentState::OnHead, Role::kClient);
  On("vault.store", &AgentState::OnStore, Role::kClient);
  On("vault.commit", &AgentState::OnCommit, Role::kClient);
  On("vault.delete", &AgentState::OnDelete, Role::kClient);
  On("vault.get", &AgentState::OnGet, Role::kClient);
  On("vault.list", &AgentState::OnList, Role::kClient);
  On("vault.audit", &AgentState::OnAudit, Role::kClient);
  On("vault.status", &AgentState::OnStatus, Role::kClient);
  On("vault.members", &AgentState::OnMembers, Role::kClient);
  On("vault.share.store", &AgentState::OnShareStore, Role::kNode);
  On("vault.share.get", &AgentState::OnShareGet, Role::kNode);
  On("vault.share.delete", &AgentState::OnShareDelete, Role::kNode);
  On("vault.share.audit", &AgentState::OnShareAudit, Role::kNode);
  On("vault.manifest", &AgentState::OnManifest, Role::kNode);
  On("vault.sync", &AgentState::OnSync, Role::kNode);
}

void AgentState::On(const std::string& event, Handler handler, mesh::Role caller) {
  std::weak_ptr<AgentState> weak = weak_from_this();
  node_->On(event, [weak, handler, caller, event](const mesh::Message& m, mesh::Responder r) {
    auto self = weak.lock();
    if (!self) return r.Error("vault agent stopped");
    if (m.from_role != caller) {
      return r.Error("permission denied: " + event + " is for " +
                     std::string(mesh::RoleName(caller)) + "s");
    }
    const bool queued = self->worker_->Post([self, handler, m, r] { (*self.*handler)(m, r); });
    if (!queued) r.Error("vault agent busy or stopping; try again");
  });
}

void AgentState::Shutdown() {
  if (worker_) worker_->Stop();
}

AgentStatus AgentState::Status() {
  AgentStatus st;
  std::vector<ManifestRow> rows;
  if (store_->ListManifests(&rows).ok()) {
    for (const auto& row : rows) (row.deleted ? st.tombstones : st.secrets)++;
  }
  store_->CountShares(&st.shares_held);
  st.puts = puts_;
  st.gets = gets_;
  st.denied = denied_;
  put_metrics_.Snapshot(&st.client_puts, &st.put_latency);
  get_metrics_.Snapshot(&st.client_gets, &st.get_latency);
  return st;
}

void AgentState::Log(mesh::LogLevel level, const std::string& line) const {
  if (config_.log) config_.log(level, "vault: " + line);
}

int64_t AgentState::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

mesh::Status AgentState::DecodeCommit(const mesh::Json& data, const char* field, Commit* out) {
  std::vector<uint8_t> bytes;
  if (auto s = protocol::Base64Field(data, field, protocol::kMaxCommitBytes, &bytes); !s.ok()) {
    return s;
  }
  if (auto s = Commit::Decode(bytes, out); !s.ok()) return s;
  return out->Verify(config_.ca_key);
}

mesh::Status AgentState::Head(const std::string& name, Commit* out) {
  ManifestRow row;
  auto s = store_->GetManifest(name, &row);
  // Rows were verified before they were stored; decode only.
  if (s.ok()) s = Commit::Decode(row.encoded, out);
  if (s.ok() || s.code() == mesh::Status::Code::kNotFound) return s;
  return Internal("reading the head of " + name, s);
}

mesh::Status AgentState::Placement(const std::string& name, SecretPlacement* out) {
  if (auto s = protocol::CheckSecretName(name); !s.ok()) return s;
  Commit head;
  if (auto s = Head(name, &head); !s.ok()) return s;
  const auto members = node_->Members();
  SecretPlacement p;
  p.version = head.manifest.version;
  p.threshold = head.manifest.threshold;
  p.deleted = head.manifest.deleted;
  for (const auto& cert : head.manifest.holders) {
    auto m = std::find_if(members.begin(), members.end(),
                          [&](const mesh::MemberInfo& i) { return i.id == cert.subject; });
    p.holders.push_back(
        {cert.name, m == members.end() ? "unknown" : std::string(MemberStateName(m->state))});
  }
  *out = std::move(p);
  return mesh::Status::OK();
}

mesh::Status AgentState::Internal(const std::string& what, const mesh::Status& s) const {
  Log(mesh::LogLevel::kError, what + ": " + s.message());
  return mesh::Status::IOError("this node's store failed (see its log)");
}

mesh::Status AgentState::ApplyCommit(const Commit& commit, bool* applied) {
  *applied = false;
  const auto& m = commit.manifest;
  Commit head;
  if (Head(m.name, &head).ok()) {
    if (head.manifest.version >= m.version) return mesh::Status::OK();
    if (head.manifest.owner.name != m.owner.name) {
      return mesh::Status::PermissionDenied("\"" + m.name + "\" belongs to " +
                                            head.manifest.owner.name);
    }
  }
  ManifestRow row{m.name, m.version, m.deleted, commit.Encode()};
  if (auto s = store_->PutManifest(row, applied); !s.ok()) {
    return Internal("storing the manifest of " + m.name, s);
  }
  if (!*applied) return mesh::Status::OK();
  int removed = 0;
  if (m.deleted) {
    // Versions after the tombstone (a later put) keep their shares.
    store_->DeleteShares(m.name, m.version, &removed);
    if (removed > 0) Audit(m.name, m.version, "delete", m.owner, "granted");
  } else {
    if (m.HolderIndex(self_) >= 0) {
      const auto id = m.Id();
      if (auto s = store_->CommitShare(m.name, m.version, id); !s.ok()) {
        Log(mesh::LogLevel::kWarn,
            "holder of " + m.name + " v" + std::to_string(m.version) + " but " + s.message());
      }
    }
    store_->DeleteShares(m.name, m.version, &removed);
  }
  Log(mesh::LogLevel::kInfo,
      (m.deleted ? "deleted " : "committed ") + m.name + " v" + std::to_string(m.version) +
          (removed ? ", wiped " + std::to_string(removed) + " old share(s)" : ""));
  return mesh::Status::OK();
}

std::string AgentState::MemberName(const mesh::PublicKey& id) const {
  for (const auto& m : node_->Members()) {
    if (m.id == id) return m.name;
  }
  return mesh::ShortId(id);
}

void AgentState::Audit(const std::string& name, uint64_t version, const std::string& action,
                       const mesh::Certificate& client, const std::string& outcome) {
  AuditRecord rec{NowMs(), name, version, action, client.name, protocol::Hex(client.subject),
                  outcome};
  if (auto s = store_->AppendAudit(rec); !s.ok()) {
    Log(mesh::LogLevel::kError, "audit write failed: " + s.message());
  }
}

void AgentState::AskHolders(const std::vector<mesh::PublicKey>& holders, const std::string& event,
                            const mesh::Json& data, HoldersDone done) {
  AskSomeHolders(holders, holders.size(), event, data, std::move(done));
}

void AgentState::AskSomeHolders(const std::vector<mesh::PublicKey>& holders, size_t want,
                                const std::string& event, const mesh::Json& data,
                                HoldersDone done) {
  auto f = std::make_shared<Fanout>();
  f->results.resize(holders.size());
  f->asked.assign(holders.size(), false);
  f->known_down.assign(holders.size(), false);
  f->want = std::min(want, holders.size());
  f->event = event;
  f->data = data;
  f->done = std::move(done);
  const auto members = node_->Members();
  std::vector<size_t> alive, suspect, down;
  for (size_t i = 0; i < holders.size(); ++i) {
    auto& result = f->results[i];
    result.id = holders[i];
    result.name = mesh::ShortId(result.id);
    auto member = std::find_if(members.begin(), members.end(),
                               [&](const mesh::MemberInfo& m) { return m.id == result.id; });
    if (member != members.end()) result.name = member->name;
    if (member == members.end() || member->state == mesh::MemberState::kDead ||
        member->state == mesh::MemberState::kLeft) {
      result.status = mesh::Status::Unavailable(
          "unreachable (" +
          (member == members.end() ? std::string("not a member")
                                   : std::string(MemberStateName(member->state))) +
          ")");
      f->known_down[i] = true;
      down.push_back(i);
    } else {
      (member->state == mesh::MemberState::kAlive ? alive : suspect).push_back(i);
    }
  }
  // Random order among equals spreads reads over all holders.
  for (size_t i = alive.size(); i > 1; --i) {
    std::swap(alive[i - 1], alive[randombytes_uniform(static_cast<uint32_t>(i))]);
  }
  f->order = alive;
  f->order.insert(f->order.end(), suspect.begin(), suspect.end());
  f->order.insert(f->order.end(), down.begin(), down.end());

  auto self = shared_from_this();
  worker_->Post([self, f] { self->Launch(f); }, false);
}

void AgentState::Launch(const std::shared_ptr<Fanout>& f) {
  while (f->in_flight + f->succeeded < f->want && f->next < f->order.size()) {
    const size_t i = f->order[f->next++];
    f->asked[i] = true;
    if (f->known_down[i]) continue;  // its result is already set; ask another
    f->in_flight++;
    auto self = shared_from_this();
    node_->Request(f->results[i].id, f->event, f->data, config_.holder_timeout,
                   [self, f, i](const mesh::Status& s, const mesh::Json& reply) {
                     self->worker_->Post(
                         [self, f, i, s, reply] {
                           f->results[i].status = s;
                           f->results[i].reply = reply;
                           f->in_flight--;
                           if (s.ok()) f->succeeded++;
                           self->Launch(f);
                         },
                         false);
                   });
  }
  if (f->in_flight > 0 || !f->done) return;
  std::vector<HolderResult> out;
  for (size_t i = 0; i < f->results.size(); ++i) {
    if (f->asked[i]) out.push_back(std::move(f->results[i]));
  }
  auto done = std::move(f->done);
  f->done = nullptr;
  done(std::move(out));
}

void AgentState::OnManifest(const mesh::Message& m, const mesh::Responder&) {
  Commit commit;
  if (auto s = DecodeCommit(m.data, "commit", &commit); !s.ok()) {
    Log(mesh::LogLevel::kWarn, "dropped a gossiped manifest: " + s.message());
    return;
  }
  bool applied = false;
  if (auto s = ApplyCommit(commit, &applied); !s.ok()) {
    Log(mesh::LogLevel::kWarn, "refused a gossiped manifest: " + s.message());
  }
}

protocol::Digest AgentState::ManifestDigest() {
  std::vector<ManifestRow> rows;
  store_->ListManifests(&rows);
  std::vector<uint8_t> list;
  protocol::ByteWriter w(&list);
  for (const auto& row : rows) {
    w.Str8(row.name);
    w.U64(row.version);
  }
  return protocol::Hash("meshvault manifest digest v1", list);
}

void AgentState::OnSync(const mesh::Message& m, const mesh::Responder& r) {
  std::vector<uint8_t> theirs;
  std::string after;
  if (auto s = protocol::Base64Field(m.data, "digest", 32, &theirs); !s.ok()) {
    return r.Error(s.message());
  }
  if (m.data.contains("after")) {
    if (auto s = protocol::StringField(m.data, "after", protocol::kMaxSecretNameBytes, &after);
        !s.ok()) {
      return r.Error(s.message());
    }
  }
  const auto mine = ManifestDigest();
  if (std::equal(mine.begin(), mine.end(), theirs.begin(), theirs.end())) {
    return r.Reply({{"same", true}});
  }
  // One page of heads after the asker's cursor; it walks the whole set over rounds.
  std::vector<ManifestRow> rows;
  if (auto s = store_->ListManifests(&rows); !s.ok()) {
    return r.Error(Internal("listing manifests", s).message());
  }
  mesh::Json commits = mesh::Json::array();
  std::string next;
  size_t bytes = 0;
  for (const auto& row : rows) {
    if (row.name <= after) continue;
    bytes += row.encoded.size() * 4 / 3 + 8;
    if (commits.size() >= kSyncPage || bytes > kVaultMaxMessageBytes / 4) break;
    commits.push_back(protocol::ToBase64(row.encoded));
    next = row.name;
  }
  if (commits.size() < kSyncPage && bytes <= kVaultMaxMessageBytes / 4) next.clear();  // the end
  r.Reply({{"same", false}, {"commits", commits}, {"next", next}});
}

void AgentState::SyncWithPeer() {
  std::vector<mesh::PublicKey> peers;
  for (const auto& m : node_->Members()) {
    if (!m.self && m.state == mesh::MemberState::kAlive) peers.push_back(m.id);
  }
  if (peers.empty()) return;
  const auto peer = peers[randombytes_uniform(static_cast<uint32_t>(peers.size()))];
  const auto digest = ManifestDigest();
  auto self = shared_from_this();
  node_->Request(
      peer, "vault.sync", {{"digest", protocol::ToBase64(digest)}, {"after", sync_cursor_}},
      config_.holder_timeout, [self](const mesh::Status& s, const mesh::Json& reply) {
        if (!s.ok() || !reply.is_object()) return;
        self->worker_->Post(
            [self, reply] {
              const auto commits = reply.value("commits", mesh::Json::array());
              for (const auto& c : commits) {
                Commit commit;
                if (!c.is_string()) continue;
                if (!self->DecodeCommit(mesh::Json{{"commit", c}}, "commit", &commit).ok()) {
                  continue;
                }
                bool applied = false;
                self->ApplyCommit(commit, &applied);
              }
              const auto next = reply.value("next", std::string());
              self->sync_cursor_ = next;
              if (next.empty()) self->sync_passes_++;  // in step, or a page walk ended
            },
            false);
      });
}

void AgentState::Tick() {
  // A share of a committed put is uncommitted only while this node has not learnt its
  // manifest; so prune only once anti-entropy has walked a peer's whole set since start.
  int removed = 0;
  if (sync_passes_ >= 2) store_->PruneUncommitted(NowMs() - config_.uncommitted_ttl_ms, &removed);
  if (removed > 0)
    Log(mesh::LogLevel::kInfo,
        "dropped " + std::to_string(removed) + " share(s) of puts that never committed");
  PrunePutTracks();
  SyncWithPeer();
}

}  // namespace agent
}  // namespace vault
