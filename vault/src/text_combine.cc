#include "text_combine.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ct.h"
#include "join.h"
#include "share_payload.h"
#include "text_share.h"

namespace vault {

using mesh::SecureBuffer;
using mesh::Status;

namespace {

struct Candidate {
  std::string origin;
  text_share::Decoded share;
};

// The set parameters every share of one set carries (all covered by the payload's tag).
using SetKey = std::tuple<std::string, int, int, size_t>;

SetKey KeyOf(const Candidate& c) {
  return {text_share::SetIdString(c.share.header.set_id), c.share.header.threshold,
          c.share.header.count, c.share.y.size()};
}

std::string Describe(const SetKey& k) {
  return "set " + std::get<0>(k) + ", " + std::to_string(std::get<1>(k)) + " of " +
         std::to_string(std::get<2>(k)) + ", " + std::to_string(std::get<3>(k)) + " bytes";
}

// Advances `idx` (strictly increasing, values < m) to the next t-combination.
bool NextCombination(std::vector<size_t>* idx, size_t m) {
  const size_t t = idx->size();
  for (size_t i = t; i-- > 0;) {
    if ((*idx)[i] < m - t + i) {
      ++(*idx)[i];
      for (size_t j = i + 1; j < t; ++j) (*idx)[j] = (*idx)[j - 1] + 1;
      return true;
    }
  }
  return false;
}

// Walks t-subsets of the candidates in lexicographic order, skipping those with a repeated x
// or (with `need_one_of`) with no member flagged there. Every step counts against the budget.
class SubsetWalk {
 public:
  SubsetWalk(const std::vector<Candidate>& cands, size_t t, size_t* budget)
      : cands_(cands), idx_(t), budget_(budget) {
    for (size_t i = 0; i < t; ++i) idx_[i] = i;
  }

  // Fills `subset` with the next eligible subset; false when done or out of budget.
  bool Next(std::vector<shamir::Share>* subset, const std::vector<bool>* need_one_of) {
    for (;;) {
      if (!first_ && !NextCombination(&idx_, cands_.size())) return false;
      first_ = false;
      if (*budget_ == 0) {
        exhausted_ = true;
        return false;
      }
      --*budget_;
      bool distinct = true;
      bool has_needed = need_one_of == nullptr;
      subset->clear();
      for (size_t i : idx_) {
        const auto& s = cands_[i].share;
        for (const auto& prev : *subset) distinct = distinct && prev.x != s.x;
        has_needed = has_needed || (*need_one_of)[i];
        subset->push_back({s.x, s.y});
      }
      if (distinct && has_needed) return true;
    }
  }
  const std::vector<size_t>& indices() const { return idx_; }
  bool exhausted() const { return exhausted_; }

 private:
  const std::vector<Candidate>& cands_;
  std::vector<size_t> idx_;
  size_t* budget_;
  bool first_ = true;
  bool exhausted_ = false;
};

std::string Origins(const std::vector<Candidate>& cands, const std::vector<size_t>& idx) {
  std::vector<std::string> names;
  names.reserve(idx.size());
  for (size_t i : idx) names.push_back(cands[i].origin);
  return Join(names, ", ");
}

}  // namespace

Status CombineTextShares(std::span<const ShareInput> inputs, const CombineOptions& o,
                         SecureBuffer* secret, CombineReport* report) {
  const size_t max_y = o.max_secret_bytes + share_payload::kOverhead;
  std::vector<Candidate> cands;
  cands.reserve(inputs.size());
  std::vector<std::string> problems;
  for (const auto& in : inputs) {
    Candidate c{in.origin, {}};
    Status s = text_share::Decode(in.text, max_y, &c.share);
    if (s.ok()) {
      cands.push_back(std::move(c));
    } else {
      problems.push_back(in.origin + ": " + s.message());
    }
  }
  if (cands.empty()) return Status::InvalidArgument("no usable share: " + Join(problems, "; "));
  const auto with_problems = [&](std::string msg) {
    if (!problems.empty()) msg += " (" + Join(problems, "; ") + ")";
    return msg;
  };

  // 1. One set, one threshold, one length. These header fields are not trusted until a tag
  // verifies, so there is no majority vote: any disagreement is refused.
  std::map<SetKey, std::vector<std::string>> groups;
  for (const auto& c : cands) groups[KeyOf(c)].push_back(c.origin);
  if (groups.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [key, origins] : groups)
      parts.push_back(Join(origins, ", ") + ": " + Describe(key));
    return Status::InvalidArgument(with_problems("the shares do not belong to one set (" +
                                                 Join(parts, "; ") +
                                                 "): give only shares of one set"));
  }
  // 2. Exact duplicates (same x and bytes) are dropped; the index field is display only.
  std::vector<Candidate> unique;
  for (auto& c : cands) {
    const auto dup = std::find_if(unique.begin(), unique.end(), [&](const Candidate& u) {
      return u.share.x == c.share.x &&
             ct::Declassify(sodium_memcmp(u.share.y.data(), c.share.y.data(), c.share.y.size())) ==
                 0;
    });
    if (dup != unique.end()) {
      problems.push_back(c.origin + ": duplicate of " + dup->origin);
    } else {
      unique.push_back(std::move(c));
    }
  }
  cands = std::move(unique);

  const text_share::Header& h = cands.front().share.header;
  const auto t = static_cast<size_t>(h.threshold);
  const std::string set_id = text_share::SetIdString(h.set_id);
  size_t distinct_x = 0;
  for (size_t i = 0; i < cands.size(); ++i) {
    bool seen = false;
    for (size_t j = 0; j < i; ++j) seen = seen || cands[j].share.x == cands[i].share.x;
    distinct_x += seen ? 0 : 1;
  }
  if (distinct_x < t) {
    return Status::InvalidArgument(with_problems("need " + std::to_string(t) + " shares of set " +
                                                 set_id + " to recover the secret, got " +
                                                 std::to_string(distinct_x)));
  }

  // 3. The first t-subset whose payload verifies.
  const share_payload::SetParams params{h.set_id, h.threshold, h.count};
  const size_t ylen = cands.front().share.y.size();
  SecureBuffer payload(ylen);
  SecureBuffer other(ylen);
  size_t budget = kMaxSubsetSteps;
  std::vector<shamir::Share> subset;
  std::vector<shamir::Share> winner;
  std::vector<size_t> winner_idx;
  SubsetWalk walk(cands, t, &budget);
  while (winner.empty() && walk.Next(&subset, nullptr)) {
    Status s = shamir::Interpolate(subset, 0, payload.span(), o.kernel);
    if (!s.ok()) return s;
    if (ct::Declassify(share_payload::Verify(params, payload.span()))) {
      winner = subset;
      winner_idx = walk.indices();
    }
  }
  if (winner.empty()) {
    std::string msg;
    if (walk.exhausted()) {
      msg = "gave up after " + std::to_string(kMaxSubsetSteps) + " combinations of the " +
            std::to_string(cands.size()) + " shares of set " + set_id + " without finding " +
            std::to_string(t) + " that recombine: remove bad shares";
    } else if (cands.size() == t) {
      msg = "the " + std::to_string(t) + " shares of set " + set_id +
            " do not recombine: at least one was altered after it was made (its checksum is "
            "intact, so the change was not a typo)";
    } else {
      msg = "no " + std::to_string(t) + " of the " + std::to_string(cands.size()) +
            " shares of set " + set_id + " recombine: more than " +
            std::to_string(cands.size() - t) + " of them are bad";
    }
    return Status::Corruption(with_problems(msg));
  }

  // 4. Which other shares lie on the recovered polynomial (the winners do by construction).
  std::vector<bool> off_polynomial(cands.size(), false);
  std::vector<size_t> off_idx;
  for (size_t j = 0; j < cands.size(); ++j) {
    if (std::find(winner_idx.begin(), winner_idx.end(), j) != winner_idx.end()) continue;
    Status s = shamir::Interpolate(winner, cands[j].share.x, other.span(), o.kernel);
    if (!s.ok()) return s;
    if (ct::Declassify(sodium_memcmp(other.data(), cands[j].share.y.data(), ylen)) != 0) {
      off_polynomial[j] = true;
      off_idx.push_back(j);
    }
  }
  // 5. No other subset may verify: a second valid polynomial means someone holding shares
  // forged a set of their own (t-1 real shares and one forged line suffice). Refuse rather
  // than pick. Only subsets with an off-polynomial share can give a different polynomial.
  if (!off_idx.empty()) {
    SubsetWalk rivals(cands, t, &budget);
    while (rivals.Next(&subset, &off_polynomial)) {
      Status s = shamir::Interpolate(subset, 0, other.span(), o.kernel);
      if (!s.ok()) return s;
      if (ct::Declassify(share_payload::Verify(params, other.span())) &&
          ct::Declassify(sodium_memcmp(other.data(), payload.data(), ylen)) != 0) {
        return Status::Corruption(
            "conflicting shares: " + Origins(cands, winner_idx) + " and " +
            Origins(cands, rivals.indices()) + " recombine to two different verified secrets; " +
            "someone holding shares of set " + set_id + " made forged ones. Nothing was output");
      }
    }
    if (rivals.exhausted()) {
      return Status::Corruption(
          "could not rule out forged shares in the time allowed: " + Origins(cands, off_idx) +
          " do not match the others; remove them and try again");
    }
    for (size_t j : off_idx) {
      problems.push_back(cands[j].origin +
                         ": share does not match the others (altered or damaged); it was not used");
    }
  }

  const auto recovered = share_payload::SecretOf(payload.span());
  *secret = SecureBuffer(recovered.size());
  std::copy(recovered.begin(), recovered.end(), secret->data());
  report->format = ShareFormat::kText;
  report->threshold = h.threshold;
  report->shares_used = static_cast<int>(t);
  report->set_id = set_id;
  report->warnings = std::move(problems);
  return Status::OK();
}

}  // namespace vault
