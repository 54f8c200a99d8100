// get: a signed request with a one-time key; the shares come back sealed to that key, each
// is checked against the dealer's signature, and any t good ones recombine the secret here.
#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "client/client_impl.h"
#include "protocol/get_request.h"
#include "vault/agent.h"
#include "vault/shares.h"

namespace vault::client {

using protocol::Commit;

namespace {

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

mesh::Status ClientImpl::DoGet(const std::string& name, const GetOptions& options,
                               mesh::SecureBuffer* secret, GetResult* result) {
  if (auto s = protocol::CheckSecretName(name); !s.ok()) return s;
  bool retry = false;
  mesh::Status s = GetOnce(name, options, false, secret, result, &retry);
  if (s.ok() || !retry) return s;
  // A fresh request (new nonce and key): the holders already asked recorded the first one.
  std::vector<std::string> earlier = result->problems;
  s = GetOnce(name, options, true, secret, result, &retry);
  if (!s.ok()) return s;
  // Holders that were bad the first time and not this time are still worth naming.
  for (auto& p : earlier) {
    if (std::find(result->problems.begin(), result->problems.end(), p) == result->problems.end())
      result->problems.push_back(std::move(p));
  }
  return s;
}

mesh::Status ClientImpl::GetOnce(const std::string& name, const GetOptions& options, bool all,
                                 mesh::SecureBuffer* secret, GetResult* result, bool* retry) {
  *retry = false;
  const auto reply_key = protocol::BoxKey::Generate();
  protocol::GetRequest request;
  request.name = name;
  request.version = options.version;
  randombytes_buf(request.nonce.data(), request.nonce.size());
  request.reply_key = reply_key.public_key();
  request.time_ms = NowMs();
  request.client = options_.certificate;
  request.Sign(*options_.key);
  mesh::Json reply;
  mesh::Json ask = {{"request", protocol::ToBase64(request.Encode())}};
  if (all) ask["all"] = true;
  if (auto s = Call("vault.get", ask, &reply); !s.ok()) {
    return s;
  }

  // The manifest comes from the entry node: check it and every holder's acknowledgement.
  std::vector<uint8_t> bytes;
  Commit commit;
  if (auto s = protocol::Base64Field(reply, "commit", protocol::kMaxCommitBytes, &bytes); !s.ok()) {
    return mesh::Status::Corruption("get reply: " + s.message());
  }
  if (auto s = Commit::Decode(bytes, &commit); !s.ok()) return s;
  const auto commit_id = protocol::Hash("meshvault commit cache v1", bytes);
  if (verified_commits_.count(commit_id) == 0) {
    // The owner's signature suffices here: each share is checked against the owner's
    // signature over this manifest's id (holders and acks matter to writers, not readers).
    if (auto s = commit.manifest.VerifyOwner(options_.ca_key); !s.ok()) return s;
    if (verified_commits_.size() >= 256) verified_commits_.clear();
    verified_commits_.insert(commit_id);
  }
  const auto& manifest = commit.manifest;
  if (manifest.name != name || manifest.deleted ||
      (options.version != 0 && manifest.version != options.version)) {
    return mesh::Status::Corruption("get reply: the manifest is for another secret or version");
  }

  // Shares are opened and checked in order until t are good; the rest only if those t do
  // not recombine (which only a dishonest dealer could cause).
  std::vector<std::string> problems;
  std::vector<protocol::DealerShare> good;
  std::vector<std::string> good_names;
  bool denied = false;
  const auto results = reply.value("results", mesh::Json::array());
  size_t next = 0;
  const auto take = [&](size_t want) {
    for (; next < results.size() && good.size() < want; ++next) {
      const auto& r = results[next];
      const std::string holder = r.value("name", "?");
      if (r.contains("error")) {
        const std::string error = r.value("error", "");
        denied = denied || error.find("permission denied") != std::string::npos;
        problems.push_back(holder + ": " + error);
        continue;
      }
      std::vector<uint8_t> sealed;
      protocol::DealerShare share;
      auto s = protocol::Base64Field(r, "share", protocol::kMaxSealedShareBytes, &sealed);
      if (s.ok()) s = protocol::DealerShare::Open(sealed, reply_key, &share);
      if (s.ok()) {
        const int index = manifest.HolderIndex(share.holder);
        if (share.name != name || share.version != manifest.version || index < 0 ||
            share.index != index || share.manifest_id != manifest.Id() ||
            protocol::Hex(share.holder) != r.value("holder", "")) {
          s = mesh::Status::Corruption("the share is for another secret, version or holder");
        } else if (!share.VerifySignature(manifest.owner.subject)) {
          s = mesh::Status::Corruption("the dealer signature does not verify");
        }
      }
      if (!s.ok()) {
        problems.push_back(holder + ": bad share (" + s.message() + ")");
        continue;
      }
      good.push_back(std::move(share));
      good_names.push_back(holder);
    }
  };
  // Errors after the last share looked at still name holders that are down.
  const auto note_unread_errors = [&] {
    for (size_t i = next; i < results.size(); ++i) {
      if (results[i].contains("error")) {
        problems.push_back(results[i].value("name", "?") + ": " + results[i].value("error", ""));
      }
    }
  };
  take(static_cast<size_t>(manifest.threshold));

  result->version = manifest.version;
  result->threshold = manifest.threshold;
  result->used.clear();
  if (good.size() < static_cast<size_t>(manifest.threshold)) {
    const std::string why = "get of \"" + name + "\" failed: " + std::to_string(good.size()) +
                            " valid share(s) of the " + std::to_string(manifest.threshold) +
                            " needed (" + JoinProblems(problems) + ")";
    result->problems = problems;
    *retry = !denied && results.size() < manifest.holders.size();
    return denied ? mesh::Status::PermissionDenied(why) : mesh::Status::Unavailable(why);
  }
  CombineOptions combine;
  combine.format = ShareFormat::kText;
  combine.max_secret_bytes = kMaxVaultSecretBytes;
  CombineReport report;
  const auto recombine = [&] {
    std::vector<ShareInput> inputs;
    for (size_t i = 0; i < good.size(); ++i)
      inputs.push_back({good_names[i], good[i].payload.view()});
    return CombineShares(inputs, combine, secret, &report);
  };
  mesh::Status s = recombine();
  if (!s.ok() && next < results.size()) {
    take(results.size());
    s = recombine();
  }
  note_unread_errors();
  result->problems = problems;
  if (!s.ok()) {
    *retry = results.size() < manifest.holders.size();
    return mesh::Status::Corruption("get of \"" + name + "\": the shares do not recombine (" +
                                    s.message() + ")");
  }
  for (const auto& w : report.warnings) result->problems.push_back(w);
  for (const auto& n : good_names) {
    bool warned = false;
    for (const auto& w : report.warnings) warned = warned || w.rfind(n, 0) == 0;
    if (!warned) result->used.push_back(n);
  }
  return mesh::Status::OK();
}

}  // namespace vault::client
