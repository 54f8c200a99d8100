#include <chrono>

#include "client/client_impl.h"
#include "protocol/placement.h"
#include "protocol/sealed_share.h"
#include "vault/agent.h"
#include "vault/shares.h"

namespace vault {

mesh::Status VaultClient::Connect(const std::string& address, mesh::ClientOptions options,
                                  std::unique_ptr<VaultClient>* out) {
  options.max_message_bytes = std::max(options.max_message_bytes, kVaultMaxMessageBytes);
  std::unique_ptr<mesh::Client> link;
  if (auto s = mesh::Client::Connect(address, options, &link); !s.ok()) return s;
  *out = std::make_unique<client::ClientImpl>(std::move(options), std::move(link));
  return mesh::Status::OK();
}

namespace client {

using protocol::Commit;
using protocol::Manifest;

namespace {

constexpr mesh::Millis kRequestTimeout{15000};

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

int64_t ClientImpl::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

mesh::Status ClientImpl::Call(const std::string& event, const mesh::Json& data, mesh::Json* reply) {
  auto s = link_->Request(event, data, kRequestTimeout, reply);
  if (!s.ok()) {
    // Error replies arrive as "<entry node>: <message>"; the message names what failed.
    std::string message = s.message();
    const std::string prefix = link_->server().name + ": ";
    if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
    if (message.find("permission denied") != std::string::npos) {
      return mesh::Status::PermissionDenied(message);
    }
    return mesh::Status::Unavailable(message);
  }
  if (s.ok() && !reply->is_object()) return mesh::Status::Corruption(event + ": bad reply");
  return s;
}

mesh::Status ClientImpl::Head(const std::string& name, uint64_t* version, bool* deleted,
                              std::string* owner) {
  mesh::Json reply;
  if (auto s = Call("vault.head", {{"name", name}}, &reply); !s.ok()) return s;
  *version = 0;
  *deleted = false;
  owner->clear();
  if (!reply.contains("commit")) return mesh::Status::OK();  // no such name yet
  // The head's version and owner come from a commit the client checks itself.
  std::vector<uint8_t> bytes;
  Commit head;
  auto s = protocol::Base64Field(reply, "commit", protocol::kMaxCommitBytes, &bytes);
  if (s.ok()) s = Commit::Decode(bytes, &head);
  if (s.ok()) s = head.Verify(options_.ca_key);
  if (!s.ok() || head.manifest.name != name) {
    return mesh::Status::Corruption("the entry node sent a bad head for \"" + name +
                                    "\": " + s.message());
  }
  *version = head.manifest.version;
  *deleted = head.manifest.deleted;
  *owner = head.manifest.owner.name;
  return mesh::Status::OK();
}

mesh::Status ClientImpl::DoPut(const std::string& name, std::span<const uint8_t> secret,
                               const PutOptions& options, PutResult* result) {
  if (auto s = protocol::CheckSecretName(name); !s.ok()) return s;
  if (secret.empty()) return mesh::Status::InvalidArgument("the secret is empty");
  if (secret.size() > kMaxVaultSecretBytes) {
    return mesh::Status::ResourceExhausted("the secret is larger than 1 MiB");
  }
  SplitOptions split;
  split.threshold = options.threshold;
  split.shares = options.shares;
  split.max_secret_bytes = kMaxVaultSecretBytes;
  if (auto s = CheckSplitOptions(split); !s.ok()) return s;
  if (options.readers.size() > protocol::kMaxReaders) {
    return mesh::Status::InvalidArgument("at most 64 readers");
  }
  for (const auto& reader : options.readers) {
    if (auto s = mesh::CheckName(reader); !s.ok()) {
      return mesh::Status::InvalidArgument("reader \"" + reader + "\": " + s.message());
    }
  }

  // Holders: the best live members for this name. Check before anything is sent.
  mesh::Json reply;
  if (auto s = Call("vault.members", mesh::Json::object(), &reply); !s.ok()) return s;
  // Only members whose node certificates chain to the CA hold shares: the entry node cannot
  // offer keys of its own.
  std::vector<protocol::Candidate> live;
  const int64_t now_s = NowMs() / 1000;
  for (const auto& m : reply.value("members", mesh::Json::array())) {
    protocol::Candidate c;
    std::vector<uint8_t> cert;
    if (!m.is_object() || m.value("status", "") != "alive" ||
        !protocol::Base64Field(m, "certificate", mesh::kMaxCertificateBytes, &cert).ok() ||
        !mesh::Certificate::Decode(cert, &c.certificate).ok() ||
        !mesh::VerifyCertificate(c.certificate, options_.ca_key, now_s, mesh::Role::kNode).ok()) {
      continue;
    }
    c.id = c.certificate.subject;
    c.name = c.certificate.name;
    if (std::none_of(live.begin(), live.end(), [&](const auto& o) { return o.id == c.id; })) {
      live.push_back(std::move(c));
    }
  }
  if (live.size() < static_cast<size_t>(options.shares)) {
    return mesh::Status::Unavailable("put needs " + std::to_string(options.shares) +
                                     " live nodes to hold the shares, and " + "the cluster has " +
                                     std::to_string(live.size()) + "; nothing was sent");
  }
  const auto holders = protocol::ChooseHolders(name, live, options.shares);

  uint64_t head = 0;
  bool deleted = false;
  std::string owner;
  if (auto s = Head(name, &head, &deleted, &owner); !s.ok()) return s;
  if (head != 0 && owner != options_.certificate.name) {
    return mesh::Status::PermissionDenied("permission denied: \"" + name + "\" belongs to " +
                                          owner);
  }

  Manifest manifest;
  manifest.name = name;
  manifest.version = head + 1;
  manifest.threshold = options.threshold;
  manifest.count = options.shares;
  manifest.owner = options_.certificate;
  manifest.readers = options.readers;
  for (const auto& h : holders) manifest.holders.push_back(h.certificate);
  manifest.created_ms = NowMs();
  manifest.Sign(*options_.key);
  const std::string manifest_b64 = protocol::ToBase64(manifest.Encode());
  const auto manifest_id = manifest.Id();

  mesh::SecureBuffer lines;
  if (auto s = SplitSecret(secret, split, &lines); !s.ok()) return s;
  const auto shares = SplitShareLines(lines.view(), "share");
  if (shares.size() != holders.size()) return mesh::Status::Corruption("split gave a bad count");
  // A get reply must carry t sealed shares (base64, with overhead) within its budget.
  const size_t sealed_b64 = (shares[0].text.size() + 512) * 4 / 3;
  if (sealed_b64 * static_cast<size_t>(options.threshold) > kVaultMaxMessageBytes * 3 / 4) {
    return mesh::Status::InvalidArgument(
        "a secret this large allows a threshold of at most " +
        std::to_string(kVaultMaxMessageBytes * 3 / 4 / sealed_b64) + "; nothing was sent");
  }

  Commit commit{manifest, {}};
  std::vector<std::string> problems;
  for (size_t i = 0; i < holders.size(); ++i) {
    protocol::DealerShare share;
    share.name = name;
    share.version = manifest.version;
    share.holder = holders[i].id;
    share.index = static_cast<int>(i);
    share.manifest_id = manifest_id;
    share.payload = mesh::SecureBuffer(shares[i].text.size());
    share.payload.Resize(0);
    share.payload.Append(shares[i].text);
    share.Sign(*options_.key);
    protocol::BoxPublicKey box{};
    if (!protocol::NodeBoxKey(holders[i].id, &box)) {
      problems.push_back(holders[i].name + ": its key has no X25519 form");
      continue;
    }
    const mesh::Json data = {{"holder", protocol::ToBase64(holders[i].id)},
                             {"manifest", manifest_b64},
                             {"share", protocol::ToBase64(share.SealTo(box))}};
    mesh::Json ack_reply;
    std::vector<uint8_t> ack;
    mesh::Signature sig{};
    auto s = Call("vault.store", data, &ack_reply);
    if (s.ok()) s = protocol::Base64Field(ack_reply, "ack", sig.size(), &ack);
    if (s.ok() && ack.size() == sig.size()) {
      std::copy(ack.begin(), ack.end(), sig.begin());
      if (!protocol::VerifyAck(manifest, static_cast<int>(i), sig)) {
        s = mesh::Status::Corruption("its acknowledgement does not verify");
      }
    } else if (s.ok()) {
      s = mesh::Status::Corruption("malformed acknowledgement");
    }
    if (!s.ok()) {
      const bool named = s.message().rfind(holders[i].name + ": ", 0) == 0;
      problems.push_back(named ? s.message() : holders[i].name + ": " + s.message());
      continue;
    }
    commit.acks.push_back(sig);
  }
  if (!problems.empty()) {
    return mesh::Status::Unavailable("put of \"" + name + "\" failed, nothing was committed (" +
                                     JoinProblems(problems) + ")");
  }
  if (auto s = Call("vault.commit", {{"commit", protocol::ToBase64(commit.Encode())}}, &reply);
      !s.ok()) {
    return s;
  }
  result->version = manifest.version;
  result->holders.clear();
  for (const auto& h : holders) result->holders.push_back(h.name);
  return mesh::Status::OK();
}

mesh::Status ClientImpl::DoDelete(const std::string& name, DeleteResult* result) {
  if (auto s = protocol::CheckSecretName(name); !s.ok()) return s;
  uint64_t head = 0;
  bool deleted = false;
  std::string owner;
  if (auto s = Head(name, &head, &deleted, &owner); !s.ok()) return s;
  if (head == 0) return mesh::Status::NotFound("no secret named \"" + name + "\"");
  if (deleted) return mesh::Status::NotFound("\"" + name + "\" is already deleted");
  if (owner != options_.certificate.name) {
    return mesh::Status::PermissionDenied("permission denied: \"" + name + "\" belongs to " +
                                          owner);
  }
  Manifest tomb;
  tomb.name = name;
  tomb.version = head + 1;
  tomb.deleted = true;
  tomb.owner = options_.certificate;
  tomb.created_ms = NowMs();
  tomb.Sign(*options_.key);
  mesh::Json reply;
  if (auto s = Call("vault.delete", {{"manifest", protocol::ToBase64(tomb.Encode())}}, &reply);
      !s.ok()) {
    return s;
  }
  result->version = tomb.version;
  result->problems.clear();
  for (const auto& h : reply.value("holders", mesh::Json::array())) {
    if (!h.value("wiped", false)) {
      result->problems.push_back(h.value("name", "?") + ": " + h.value("error", ""));
    }
  }
  return mesh::Status::OK();
}

mesh::Status ClientImpl::List(mesh::Json* out) {
  return Call("vault.list", mesh::Json::object(), out);
}

mesh::Status ClientImpl::Audit(const std::string& name, mesh::Json* out) {
  if (auto s = protocol::CheckSecretName(name); !s.ok()) return s;
  return Call("vault.audit", {{"name", name}}, out);
}

mesh::Status ClientImpl::NodeStatus(mesh::Json* out) {
  return Call("vault.status", mesh::Json::object(), out);
}

}  // namespace client
}  // namespace vault
