// SplitSecret, the format names, and cutting input text into share lines.
#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "share_payload.h"
#include "text_share.h"
#include "vault/shares.h"

namespace vault {

using mesh::SecureBuffer;
using mesh::Status;

std::string_view ShareFormatName(ShareFormat format) {
  switch (format) {
    case ShareFormat::kText:
      return "text";
    case ShareFormat::kJson:
      return "json";
    case ShareFormat::kVault:
      return "vault";
    case ShareFormat::kVaultHex:
      return "vault-hex";
  }
  return "unknown";
}

std::optional<ShareFormat> ParseShareFormat(std::string_view name) {
  for (ShareFormat f :
       {ShareFormat::kText, ShareFormat::kJson, ShareFormat::kVault, ShareFormat::kVaultHex}) {
    if (name == ShareFormatName(f)) return f;
  }
  return std::nullopt;
}

namespace {

constexpr size_t kMaxLabelBytes = 256;

}  // namespace

Status CheckSplitOptions(const SplitOptions& o) {
  if (o.threshold < shamir::kMinThreshold) {
    return Status::InvalidArgument("threshold " + std::to_string(o.threshold) +
                                   " is too small: it must be at least 2 (with 1, every share "
                                   "would be the secret itself)");
  }
  if (o.shares > shamir::kMaxShares) {
    return Status::InvalidArgument("share count " + std::to_string(o.shares) +
                                   " is too large: at most 255 shares");
  }
  if (o.threshold > o.shares) {
    return Status::InvalidArgument("threshold " + std::to_string(o.threshold) +
                                   " is greater than the share count " + std::to_string(o.shares));
  }
  if (o.max_secret_bytes > kMaxSecretBytesLimit) {
    return Status::InvalidArgument("the secret size limit can be raised to at most " +
                                   std::to_string(kMaxSecretBytesLimit) + " bytes");
  }
  if (o.label.size() > kMaxLabelBytes) {
    return Status::InvalidArgument("the label is longer than 256 bytes");
  }
  for (unsigned char c : o.label) {
    if (c < 0x20 || c == 0x7F) {
      return Status::InvalidArgument("the label contains a control character");
    }
  }
  return Status::OK();
}

namespace {

// One secure allocation holds the payload and every share as x || y; one more holds the output.
Status SplitAuthenticated(std::span<const uint8_t> secret, const SplitOptions& o,
                          SecureBuffer* out) {
  share_payload::SetParams params;
  randombytes_buf(params.set_id.data(), params.set_id.size());
  params.threshold = o.threshold;
  params.count = o.shares;
  const auto n = static_cast<size_t>(o.shares);
  const size_t p_len = secret.size() + share_payload::kOverhead;
  const size_t slot = 1 + p_len;
  SecureBuffer work(p_len + n * slot);
  const std::span<uint8_t> payload(work.data(), p_len);
  share_payload::Seal(params, secret, payload);

  std::vector<std::span<uint8_t>> ys;
  ys.reserve(n);
  for (size_t i = 0; i < n; ++i) ys.emplace_back(work.data() + p_len + i * slot + 1, p_len);
  std::vector<uint8_t> xs(n);
  Status s = shamir::Split(payload, o.threshold, ys, xs, o.kernel);
  if (!s.ok()) return s;

  const bool json = o.format == ShareFormat::kJson;
  std::string head;
  if (json) {
    const nlohmann::json meta = {{"format", "meshvault-shares"},
                                 {"version", 1},
                                 {"set_id", text_share::SetIdString(params.set_id)},
                                 {"threshold", o.threshold},
                                 {"count", o.shares},
                                 {"label", o.label}};
    head = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    head.pop_back();  // reopen the object to append the shares array
    head += ",\"shares\":[";
  } else if (!o.label.empty()) {
    head = "# " + o.label + "\n";
  }
  size_t total = head.size() + 3;
  for (size_t i = 0; i < n; ++i) {
    const text_share::Header h{o.threshold, o.shares, static_cast<int>(i + 1), params.set_id};
    total += text_share::EncodedSize(h, slot) + 3;
  }
  out->Reserve(total);
  out->Append(head);
  for (size_t i = 0; i < n; ++i) {
    const text_share::Header h{o.threshold, o.shares, static_cast<int>(i + 1), params.set_id};
    uint8_t* xy = work.data() + p_len + i * slot;
    xy[0] = xs[i];
    if (json) out->Append(i == 0 ? "\"" : ",\"");
    text_share::Encode(h, {xy, slot}, out);
    out->Append(json ? "\"" : "\n");
  }
  if (json) out->Append("]}\n");
  return Status::OK();
}

Status SplitVault(std::span<const uint8_t> secret, const SplitOptions& o, SecureBuffer* out) {
  const auto n = static_cast<size_t>(o.shares);
  const size_t share_len = secret.size() + 1;  // y bytes then the x byte, as Vault lays it out
  SecureBuffer storage(n * share_len);
  std::vector<std::span<uint8_t>> ys;
  for (size_t i = 0; i < n; ++i) ys.emplace_back(storage.data() + i * share_len, secret.size());
  std::vector<uint8_t> xs(n);
  Status s = shamir::Split(secret, o.threshold, ys, xs, o.kernel);
  if (!s.ok()) return s;
  const bool hex = o.format == ShareFormat::kVaultHex;
  const size_t line_len =
      hex ? share_len * 2 + 1
          : sodium_base64_ENCODED_LEN(share_len, sodium_base64_VARIANT_ORIGINAL);
  out->Reserve(out->size() + n * (line_len + 1));
  for (size_t i = 0; i < n; ++i) {
    uint8_t* share = storage.data() + i * share_len;
    share[secret.size()] = xs[i];
    const size_t at = out->size();
    out->Resize(at + line_len);
    auto* dst = reinterpret_cast<char*>(out->data() + at);
    if (hex) {
      sodium_bin2hex(dst, line_len, share, share_len);
    } else {
      sodium_bin2base64(dst, line_len, share, share_len, sodium_base64_VARIANT_ORIGINAL);
    }
    out->Resize(at + line_len - 1);  // drop the NUL
    out->Append("\n");
  }
  return Status::OK();
}

}  // namespace

Status SplitSecret(std::span<const uint8_t> secret, const SplitOptions& options,
                   SecureBuffer* out) {
  Status s = CheckSplitOptions(options);
  if (!s.ok()) return s;
  if (secret.empty()) return Status::InvalidArgument("the secret is empty");
  // All shares are built in memory at once: refuse what cannot fit rather than abort.
  constexpr uint64_t kMaxShareBytes = uint64_t{2} << 30;
  if (static_cast<uint64_t>(options.shares) * (secret.size() + share_payload::kOverhead + 1) >
      kMaxShareBytes) {
    return Status::ResourceExhausted(
        "the shares would take more than 2 GiB of memory: make "
        "fewer shares or split a smaller secret");
  }
  if (secret.size() > options.max_secret_bytes) {
    return Status::ResourceExhausted(
        "the secret is " + std::to_string(secret.size()) + " bytes, over the limit of " +
        std::to_string(options.max_secret_bytes) + " (raise it with --max-size)");
  }
  if (s = mesh::InitSodium(); !s.ok()) return s;
  *out = SecureBuffer();
  switch (options.format) {
    case ShareFormat::kText:
    case ShareFormat::kJson:
      return SplitAuthenticated(secret, options, out);
    case ShareFormat::kVault:
    case ShareFormat::kVaultHex:
      return SplitVault(secret, options, out);
  }
  return Status::InvalidArgument("unknown share format");
}

std::vector<ShareInput> SplitShareLines(std::string_view text, std::string_view origin_prefix) {
  std::vector<ShareInput> inputs;
  auto trim = [](std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
  };
  const std::string_view all = trim(text);
  if (all.starts_with('{')) {
    inputs.push_back({std::string(origin_prefix) + "1", all});
    return inputs;
  }
  size_t line_no = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    const std::string_view line = trim(text.substr(start, end - start));
    if (!line.empty() && !line.starts_with('#')) {
      inputs.push_back({std::string(origin_prefix) + std::to_string(line_no), line});
    }
    start = end + 1;
  }
  return inputs;
}

}  // namespace vault
