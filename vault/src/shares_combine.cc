// CombineShares: format detection, the json wrapper, and the unauthenticated Vault formats.
// Text shares are recombined in text_combine.cc.
#include <sodium.h>

#include <algorithm>
#include <map>
#include <vector>

#include "ct.h"
#include "join.h"
#include "secret_json.h"
#include "text_combine.h"
#include "text_share.h"
#include "vault/shares.h"

namespace vault {

using mesh::SecureBuffer;
using mesh::Status;

namespace {

// True when every character is a hex digit, computed without branching on (or indexing a
// table by) the characters; only the verdict is public.
bool IsHexLine(std::string_view s) {
  unsigned bad = 0;
  for (char ch : s) {
    const unsigned c = static_cast<unsigned char>(ch);
    const unsigned lower = c | 0x20U;
    const unsigned digit = (c - '0') < 10U;  // comparisons compile to setcc, not jumps
    const unsigned alpha = (lower - 'a') < 6U;
    bad |= (digit | alpha) ^ 1U;
  }
  return !s.empty() && s.size() % 2 == 0 && ct::Declassify(bad) == 0;
}

// Short all-hex lines that are also well-formed base64 could be either: a Vault base64 share
// of a few bytes is all hex digits with real probability (1/256 for a 2-byte secret). From 24
// characters on, that chance is below 4^-24 per line and hex is taken.
bool AmbiguousHex(std::span<const ShareInput> inputs) {
  for (const auto& in : inputs) {
    if (in.text.size() >= 24 || in.text.size() % 4 != 0) return false;
  }
  return true;
}

Status CombineVault(std::span<const ShareInput> inputs, const CombineOptions& o, bool hex,
                    SecureBuffer* secret, CombineReport* report) {
  const std::string_view name = hex ? "vault-hex" : "vault base64";
  std::vector<SecureBuffer> raw;
  std::vector<std::string> problems;
  const size_t max_len = o.max_secret_bytes + 1;
  for (const auto& in : inputs) {
    const size_t cap = hex ? in.text.size() / 2 : in.text.size() / 4 * 3 + 3;
    if (cap > max_len + 3) {
      return Status::ResourceExhausted(in.origin +
                                       ": share is longer than the secret size limit "
                                       "allows (raise it with --max-size)");
    }
    if (!ct::Ascii(in.text)) {  // libsodium would read bytes 0x80-0xFF as '/'
      return Status::InvalidArgument(in.origin + ": not a valid " + std::string(name) +
                                     " share (and not a meshvault text share)");
    }
    SecureBuffer b(cap);
    size_t len = 0;
    const char* end = nullptr;
    const int rc = hex ? sodium_hex2bin(b.data(), b.size(), in.text.data(), in.text.size(), nullptr,
                                        &len, &end)
                       : sodium_base642bin(b.data(), b.size(), in.text.data(), in.text.size(),
                                           nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL);
    if (ct::Declassify(rc) != 0 || ct::Declassify(end) != in.text.data() + in.text.size()) {
      return Status::InvalidArgument(in.origin + ": not a valid " + std::string(name) +
                                     " share (and not a meshvault text share)");
    }
    len = ct::Declassify(len);
    if (len < 2) {
      return Status::InvalidArgument(in.origin +
                                     ": share is too short (a Vault share holds at "
                                     "least one secret byte and the x byte)");
    }
    if (len > max_len) {
      return Status::ResourceExhausted(in.origin +
                                       ": share is longer than the secret size "
                                       "limit allows (raise it with --max-size)");
    }
    b.Resize(len);
    MESHVAULT_DECLASSIFY(b.data() + len - 1, 1);  // x is public
    if (b.data()[len - 1] == 0) {
      return Status::InvalidArgument(in.origin +
                                     ": share has x coordinate 0, which no valid "
                                     "share has");
    }
    raw.push_back(std::move(b));
  }
  std::vector<shamir::Share> shares;
  std::vector<size_t> origin_of;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i].size() != raw[0].size()) {
      return Status::InvalidArgument("shares differ in length: " + inputs[0].origin + " holds " +
                                     std::to_string(raw[0].size()) + " bytes, " + inputs[i].origin +
                                     " holds " + std::to_string(raw[i].size()) +
                                     " (are they from different secrets?)");
    }
    const uint8_t x = raw[i].data()[raw[i].size() - 1];
    const std::span<const uint8_t> y(raw[i].data(), raw[i].size() - 1);
    bool duplicate = false;
    for (size_t j = 0; j < shares.size(); ++j) {
      if (shares[j].x != x) continue;
      if (ct::Declassify(sodium_memcmp(shares[j].y.data(), y.data(), y.size())) == 0) {
        problems.push_back(inputs[i].origin + ": duplicate of " + inputs[origin_of[j]].origin);
        duplicate = true;
        break;
      }
      return Status::InvalidArgument(inputs[i].origin + " and " + inputs[origin_of[j]].origin +
                                     " have the same x coordinate but differ: one is damaged");
    }
    if (!duplicate) {
      shares.push_back({x, y});
      origin_of.push_back(i);
    }
  }
  if (shares.size() < 2) {
    std::string msg = "need at least 2 distinct shares, got " + std::to_string(shares.size());
    if (!problems.empty()) msg += " (" + Join(problems, "; ") + ")";
    return Status::InvalidArgument(msg);
  }
  *secret = SecureBuffer(raw[0].size() - 1);
  Status s = shamir::Combine(shares, secret->span(), o.kernel);
  if (!s.ok()) return s;
  report->format = hex ? ShareFormat::kVaultHex : ShareFormat::kVault;
  report->threshold = 0;
  report->shares_used = static_cast<int>(shares.size());
  report->warnings = std::move(problems);
  return Status::OK();
}

Status CombineJson(const ShareInput& input, const CombineOptions& o, SecureBuffer* secret,
                   CombineReport* report) {
  const SecretJson doc = SecretJson::parse(input.text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument(input.origin + ": not a valid JSON object");
  }
  auto field = [&](const char* key) { return doc.find(key); };
  if (field("format") == doc.end() || *field("format") != "meshvault-shares") {
    return Status::InvalidArgument(input.origin +
                                   ": JSON is not a meshvault share set "
                                   "(\"format\" must be \"meshvault-shares\")");
  }
  if (field("version") == doc.end() || !field("version")->is_number_integer() ||
      *field("version") != 1) {
    return Status::InvalidArgument(input.origin + ": unsupported share set version");
  }
  const auto shares = field("shares");
  if (shares == doc.end() || !shares->is_array()) {
    return Status::InvalidArgument(input.origin + ": JSON has no \"shares\" array");
  }
  if (shares->size() > static_cast<size_t>(shamir::kMaxShares)) {
    return Status::InvalidArgument(input.origin + ": the JSON holds more than 255 shares");
  }
  std::vector<ShareInput> lines;
  for (size_t i = 0; i < shares->size(); ++i) {
    const auto& v = (*shares)[i];
    if (!v.is_string()) {
      return Status::InvalidArgument(input.origin + ": shares[" + std::to_string(i) +
                                     "] is not a string");
    }
    const auto& str = v.get_ref<const SecretString&>();
    lines.push_back(
        {input.origin + " shares[" + std::to_string(i) + "]", {str.data(), str.size()}});
  }
  Status s = CombineTextShares(lines, o, secret, report);
  if (!s.ok()) return s;
  const auto threshold = field("threshold");
  if (threshold != doc.end() && *threshold != report->threshold) {
    return Status::InvalidArgument(input.origin +
                                   ": the JSON's threshold does not match its "
                                   "shares");
  }
  const auto set_id = field("set_id");
  if (set_id != doc.end() &&
      (!set_id->is_string() || set_id->get_ref<const SecretString&>() != report->set_id.c_str())) {
    return Status::InvalidArgument(input.origin + ": the JSON's set_id does not match its shares");
  }
  const auto label = field("label");
  if (label != doc.end() && label->is_string()) {
    const auto& l = label->get_ref<const SecretString&>();
    report->label.assign(l.data(), l.size());
  }
  report->format = ShareFormat::kJson;
  return Status::OK();
}

}  // namespace

Status CombineShares(std::span<const ShareInput> inputs, const CombineOptions& options,
                     SecureBuffer* secret, CombineReport* report) {
  if (Status s = mesh::InitSodium(); !s.ok()) return s;
  if (options.max_secret_bytes > kMaxSecretBytesLimit) {
    return Status::InvalidArgument("the secret size limit can be raised to at most " +
                                   std::to_string(kMaxSecretBytesLimit) + " bytes");
  }
  if (inputs.empty()) return Status::InvalidArgument("no shares were given");
  if (inputs.size() > static_cast<size_t>(shamir::kMaxShares)) {
    return Status::InvalidArgument(std::to_string(inputs.size()) +
                                   " shares were given; a set has at most 255");
  }
  *report = CombineReport();

  // Classify each input; every input must be of one format.
  std::map<ShareFormat, std::vector<std::string>> kinds;
  for (const auto& in : inputs) {
    ShareFormat f = ShareFormat::kVault;
    if (options.format) {
      f = *options.format;
    } else if (ct::StartsWith(in.text, "{")) {
      f = ShareFormat::kJson;
    } else if (ct::Contains(in.text, '.')) {  // '.' is in neither the hex nor base64 alphabet
      f = ShareFormat::kText;
    } else if (IsHexLine(in.text)) {
      f = ShareFormat::kVaultHex;
    }
    kinds[f].push_back(in.origin);
  }
  // A hex line is also valid base64; when base64 lines are present, hex-looking lines are
  // read as base64 unless their hex reading has the base64 lines' length (real mixing).
  if (!options.format && kinds.count(ShareFormat::kVault) && kinds.count(ShareFormat::kVaultHex)) {
    const auto b64_len = [](std::string_view s) {
      const size_t pad = ct::EndsWith(s, "==") ? 2 : ct::EndsWith(s, "=") ? 1 : 0;
      return s.size() / 4 * 3 - pad;
    };
    size_t b64 = 0;
    for (const auto& in : inputs) {
      if (!IsHexLine(in.text)) b64 = b64_len(in.text);
    }
    bool mixed = false;
    for (const auto& in : inputs) {
      mixed = mixed || (IsHexLine(in.text) && in.text.size() / 2 == b64);
    }
    if (!mixed) {
      auto& v = kinds[ShareFormat::kVault];
      // (the merged lines are re-read as base64 below)
      const auto& h = kinds[ShareFormat::kVaultHex];
      v.insert(v.end(), h.begin(), h.end());
      kinds.erase(ShareFormat::kVaultHex);
    }
  }
  if (kinds.size() > 1) {
    std::vector<std::string> parts;
    parts.reserve(kinds.size());
    for (const auto& [f, origins] : kinds) {
      parts.push_back(Join(origins, ", ") + " " + (origins.size() > 1 ? "are " : "is ") +
                      std::string(ShareFormatName(f)));
    }
    return Status::InvalidArgument("mixed share formats: " + Join(parts, "; ") +
                                   "; give shares of one format");
  }
  switch (kinds.begin()->first) {
    case ShareFormat::kJson:
      if (inputs.size() != 1) {
        return Status::InvalidArgument("give one JSON share set at a time");
      }
      return CombineJson(inputs[0], options, secret, report);
    case ShareFormat::kText:
      return CombineTextShares(inputs, options, secret, report);
    case ShareFormat::kVault:
      return CombineVault(inputs, options, false, secret, report);
    case ShareFormat::kVaultHex:
      if (!options.format && AmbiguousHex(inputs)) {
        return Status::InvalidArgument(
            "these short shares read as both vault-hex and vault base64; say which with "
            "--format vault-hex or --format vault");
      }
      return CombineVault(inputs, options, true, secret, report);
  }
  return Status::InvalidArgument("unknown share format");
}

}  // namespace vault
