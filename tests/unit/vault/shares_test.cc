#include "vault/shares.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "crc32c.h"
#include "gf256.h"
#include "share_payload.h"
#include "text_share.h"

using vault::CombineReport;
using vault::ShareFormat;
using vault::ShareInput;
using vault::SplitOptions;

namespace {

std::vector<std::string> SplitLines(const std::string& secret, int t, int n,
                                    ShareFormat format = ShareFormat::kText,
                                    const std::string& label = "") {
  REQUIRE(mesh::InitSodium().ok());
  SplitOptions o;
  o.threshold = t;
  o.shares = n;
  o.format = format;
  o.label = label;
  mesh::SecureBuffer out;
  const auto s =
      vault::SplitSecret({reinterpret_cast<const uint8_t*>(secret.data()), secret.size()}, o, &out);
  REQUIRE(s.ok());
  std::vector<std::string> lines;
  for (const auto& in : vault::SplitShareLines(out.view(), "line ")) {
    lines.emplace_back(in.text);
  }
  return lines;
}

struct Result {
  mesh::Status status;
  std::string secret;
  CombineReport report;
};

Result Combine(const std::vector<std::string>& lines) {
  std::vector<ShareInput> inputs;
  for (size_t i = 0; i < lines.size(); ++i) {
    inputs.push_back({"share " + std::to_string(i + 1), lines[i]});
  }
  Result r;
  mesh::SecureBuffer secret;
  r.status = vault::CombineShares(inputs, {}, &secret, &r.report);
  r.secret = std::string(secret.view());
  return r;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Replaces the body of a text share with other valid base64url and recomputes the checksum:
// what a deliberate forger (not a typist) would do.
std::string Forge(const std::string& line) {
  const size_t body_end = line.rfind('.');
  const size_t body_start = line.rfind('.', body_end - 1) + 1;
  std::string forged = line.substr(0, body_end + 1);
  const size_t pos = body_start + 5;
  forged[pos] = forged[pos] == 'A' ? 'B' : 'A';
  const uint32_t crc =
      vault::Crc32c({reinterpret_cast<const uint8_t*>(forged.data()), forged.size()});
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", crc);
  return forged + hex;
}

// What an attacker who knows only a set id can make: `count` text shares of a secret of their
// choice that claim to be t-of-n shares of that set, with a valid tag under their own K.
std::vector<std::string> ForgeSet(const std::array<uint8_t, 8>& set_id, int t, int n,
                                  const std::string& secret, int count) {
  using vault::share_payload::kOverhead;
  const vault::share_payload::SetParams params{set_id, t, n};
  mesh::SecureBuffer payload(secret.size() + kOverhead);
  vault::share_payload::Seal(
      params, {reinterpret_cast<const uint8_t*>(secret.data()), secret.size()}, payload.span());
  std::vector<std::vector<uint8_t>> xy(count, std::vector<uint8_t>(1 + payload.size()));
  std::vector<std::span<uint8_t>> ys;
  for (auto& v : xy) ys.emplace_back(v.data() + 1, payload.size());
  std::vector<uint8_t> xs(count);
  REQUIRE(vault::shamir::Split(payload.span(), t, ys, xs).ok());
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    xy[i][0] = xs[i];
    mesh::SecureBuffer out;
    vault::text_share::Encode({t, n, i + 1, set_id}, xy[i], &out);
    lines.emplace_back(out.view());
  }
  return lines;
}

vault::text_share::Decoded DecodeLine(const std::string& line) {
  vault::text_share::Decoded d;
  REQUIRE(vault::text_share::Decode(line, 1 << 20, &d).ok());
  return d;
}

}  // namespace

TEST_CASE("every format round-trips", "[shares]") {
  const std::string secret = "correct horse battery staple";
  for (ShareFormat f :
       {ShareFormat::kText, ShareFormat::kJson, ShareFormat::kVault, ShareFormat::kVaultHex}) {
    auto lines = SplitLines(secret, 3, 5, f, "db root");
    if (f == ShareFormat::kJson) {
      REQUIRE(lines.size() == 1);
      const auto r = Combine(lines);
      REQUIRE(r.status.ok());
      CHECK(r.secret == secret);
      CHECK(r.report.label == "db root");
      CHECK(r.report.format == ShareFormat::kJson);
      continue;
    }
    REQUIRE(lines.size() == 5);
    const auto r = Combine({lines[4], lines[1], lines[2]});
    INFO(vault::ShareFormatName(f));
    REQUIRE(r.status.ok());
    CHECK(r.secret == secret);
    CHECK(r.report.format == f);
  }
}

TEST_CASE("the label is kept as a comment in text format", "[shares]") {
  REQUIRE(mesh::InitSodium().ok());
  SplitOptions o;
  o.label = "prod unseal";
  mesh::SecureBuffer out;
  REQUIRE(vault::SplitSecret({reinterpret_cast<const uint8_t*>("s"), 1}, o, &out).ok());
  CHECK(out.view().starts_with("# prod unseal\n"));
}

TEST_CASE("combine: fewer than t shares", "[shares][bad]") {
  const auto lines = SplitLines("secret", 3, 5);
  const auto r = Combine({lines[0], lines[1]});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "need 3 shares of set"));
  CHECK(Contains(r.status.message(), "got 2"));
}

TEST_CASE("combine: a duplicate share", "[shares][bad]") {
  const auto lines = SplitLines("secret", 3, 5);
  const auto r = Combine({lines[0], lines[1], lines[0]});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "need 3 shares"));
  CHECK(Contains(r.status.message(), "share 3: duplicate of share 1"));
  // With enough distinct shares, the duplicate is only a warning.
  const auto ok = Combine({lines[0], lines[1], lines[0], lines[2]});
  REQUIRE(ok.status.ok());
  CHECK(ok.secret == "secret");
  REQUIRE(ok.report.warnings.size() == 1);
  CHECK(Contains(ok.report.warnings[0], "duplicate"));
}

TEST_CASE("combine: shares from two different sets", "[shares][bad]") {
  const auto a = SplitLines("secret", 2, 3);
  const auto b = SplitLines("secret", 2, 3);
  const auto r = Combine({a[0], b[1]});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "do not belong to one set"));
  // A stray share of another set is refused even beside t good ones: header fields are not
  // trusted before a tag verifies, so they are never chosen by majority.
  const auto stray = Combine({a[0], b[1], a[2]});
  CHECK_FALSE(stray.status.ok());
  CHECK(Contains(stray.status.message(), "share 2: set "));
}

TEST_CASE("combine: one character changed", "[shares][bad]") {
  auto lines = SplitLines("secret", 2, 3);
  lines[1][20] = lines[1][20] == 'x' ? 'y' : 'x';
  const auto r = Combine({lines[0], lines[1]});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "share 2: checksum mismatch"));
}

TEST_CASE("combine: a truncated share", "[shares][bad]") {
  auto lines = SplitLines("secret", 2, 3);
  lines[0].resize(lines[0].size() - 10);
  const auto r = Combine({lines[0], lines[1]});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "share 1: share is truncated or malformed"));
}

TEST_CASE("combine: garbage", "[shares][bad]") {
  auto r = Combine({"hello world", "!!!"});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "not a valid vault base64 share"));
  r = Combine({"{not json"});
  CHECK(Contains(r.status.message(), "not a valid JSON object"));
  r = Combine({R"({"format":"other"})"});
  CHECK(Contains(r.status.message(), "not a meshvault share set"));
}

TEST_CASE("combine: mixed formats", "[shares][bad]") {
  const auto text = SplitLines("secret", 2, 3);
  const auto vault = SplitLines("secret", 2, 3, ShareFormat::kVault);
  const auto r = Combine({text[0], vault[1]});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "mixed share formats"));
  CHECK(Contains(r.status.message(), "share 1 is text"));
  CHECK(Contains(r.status.message(), "share 2 is vault"));
  // vault-hex beside vault base64 of the same secret length.
  const auto hex = SplitLines("secret", 2, 3, ShareFormat::kVaultHex);
  const auto r2 = Combine({hex[0], vault[1]});
  CHECK(Contains(r2.status.message(), "mixed share formats"));
}

TEST_CASE("split: bad parameters and secrets", "[shares][bad]") {
  REQUIRE(mesh::InitSodium().ok());
  auto split = [](int t, int n, size_t secret_len, size_t max = vault::kDefaultMaxSecretBytes) {
    SplitOptions o;
    o.threshold = t;
    o.shares = n;
    o.max_secret_bytes = max;
    std::vector<uint8_t> secret(secret_len, 7);
    mesh::SecureBuffer out;
    return vault::SplitSecret(secret, o, &out);
  };
  CHECK(Contains(split(4, 3, 8).message(), "threshold 4 is greater than the share count 3"));
  CHECK(Contains(split(1, 3, 8).message(), "threshold 1 is too small"));
  CHECK(Contains(split(2, 256, 8).message(), "share count 256 is too large"));
  CHECK(split(2, 3, 0).message() == "the secret is empty");
  const auto over = split(2, 3, vault::kDefaultMaxSecretBytes + 1);
  CHECK(over.code() == mesh::Status::Code::kResourceExhausted);
  CHECK(Contains(over.message(), "over the limit of 1048576"));
  CHECK(split(2, 3, vault::kDefaultMaxSecretBytes + 1, 2 << 20).ok());
}

TEST_CASE("combine: a forged share with a valid checksum is detected", "[shares][auth]") {
  const auto lines = SplitLines("attack at dawn", 3, 5);
  const auto forged = Forge(lines[2]);
  // Exactly t shares, one forged: refused, never a wrong secret.
  const auto r = Combine({lines[0], lines[1], forged});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "do not recombine"));
  CHECK(r.secret.empty());
  // More than t with some bad: succeeds and names the bad ones.
  const auto ok = Combine({forged, lines[0], Forge(lines[3]), lines[1], lines[4]});
  REQUIRE(ok.status.ok());
  CHECK(ok.secret == "attack at dawn");
  REQUIRE(ok.report.warnings.size() == 2);
  CHECK(Contains(ok.report.warnings[0], "share 1: share does not match the others"));
  CHECK(Contains(ok.report.warnings[1], "share 3: share does not match the others"));
  // Too many bad.
  const auto bad = Combine({forged, lines[0], Forge(lines[3]), lines[1]});
  CHECK(Contains(bad.status.message(), "more than 1 of them are bad"));
}

TEST_CASE("combine: every t-subset and sizes up to 1 MiB", "[shares]") {
  REQUIRE(mesh::InitSodium().ok());
  for (size_t size : {size_t{1}, size_t{32}, size_t{1000}, size_t{1} << 20}) {
    std::string secret(size, '\0');
    randombytes_buf(secret.data(), size);
    const auto lines = SplitLines(secret, 2, 4);
    for (int i = 0; i < 4; ++i) {
      for (int j = i + 1; j < 4; ++j) {
        const auto r = Combine({lines[i], lines[j]});
        REQUIRE(r.status.ok());
        REQUIRE(r.secret == secret);
      }
    }
  }
}

TEST_CASE("json metadata must agree with its shares", "[shares][bad]") {
  auto lines = SplitLines("secret", 2, 3, ShareFormat::kJson);
  std::string doc = lines[0];
  const auto pos = doc.find("\"threshold\":2");
  REQUIRE(pos != std::string::npos);
  doc.replace(pos, 13, "\"threshold\":3");
  const auto r = Combine({doc});
  CHECK(Contains(r.status.message(), "threshold does not match"));
}

TEST_CASE("vault format: lengths and x coordinates are checked", "[shares][bad]") {
  const auto a = SplitLines("secret", 2, 3, ShareFormat::kVaultHex);
  const auto b = SplitLines("secret!", 2, 3, ShareFormat::kVaultHex);
  CHECK(Contains(Combine({a[0], b[1]}).status.message(), "shares differ in length"));
  std::string zero_x = a[0];
  zero_x.replace(zero_x.size() - 2, 2, "00");
  CHECK(Contains(Combine({zero_x, a[1]}).status.message(), "x coordinate 0"));
  CHECK(Contains(Combine({a[0]}).status.message(), "need at least 2 distinct shares"));
}

TEST_CASE("forged shares cannot lower the threshold", "[shares][auth]") {
  // Review finding: t was once chosen by majority over unauthenticated headers. Two forged
  // 2-of-5 lines with the real set id beside one real 3-of-5 share must not win.
  const auto real = SplitLines("the real secret", 3, 5);
  const auto set_id = DecodeLine(real[0]).header.set_id;
  const auto forged = ForgeSet(set_id, 2, 5, "ATTACKER-CHOSEN", 2);
  for (const auto& input : {std::vector<std::string>{forged[0], forged[1], real[0]},
                            std::vector<std::string>{forged[0], forged[1], real[0], real[1]}}) {
    const auto r = Combine(input);
    CHECK_FALSE(r.status.ok());
    CHECK(Contains(r.status.message(), "do not belong to one set"));
    CHECK(r.secret.empty());
  }
}

TEST_CASE("a majority of lines from another set does not win", "[shares][auth]") {
  const auto real = SplitLines("the real secret", 2, 3);
  const auto other = SplitLines("ATTACKER-CHOSEN", 2, 3);
  const auto r = Combine({other[0], other[1], real[0]});
  CHECK_FALSE(r.status.ok());
  CHECK(r.secret.empty());
}

TEST_CASE("t-1 real shares plus one forged line are caught as a conflict", "[shares][auth]") {
  // An attacker holding shares 1 and 2 of a 3-of-5 set solves for a third line that, with
  // them, recombines to a secret of their choice with a valid tag. Beside honest shares the
  // two verified secrets conflict: combine refuses instead of picking one.
  const std::string secret = "the real secret";
  const auto real = SplitLines(secret, 3, 5);
  const auto a = DecodeLine(real[0]);
  const auto b = DecodeLine(real[1]);
  const vault::share_payload::SetParams params{a.header.set_id, 3, 5};
  mesh::SecureBuffer wanted(secret.size() + vault::share_payload::kOverhead);
  const std::string evil = "ATTACKER-SECRET";
  REQUIRE(evil.size() == secret.size());
  vault::share_payload::Seal(params, {reinterpret_cast<const uint8_t*>(evil.data()), evil.size()},
                             wanted.span());
  uint8_t xf = 1;
  while (xf == a.x || xf == b.x) ++xf;
  // Lagrange weights at 0 for {xa, xb, xf}: wanted = wa*ya + wb*yb + wf*yf.
  using vault::gf256::Inverse;
  using vault::gf256::Mul;
  auto weight = [](uint8_t xi, uint8_t xj, uint8_t xk) {
    return Mul(Mul(xj, xk),
               Inverse(Mul(static_cast<uint8_t>(xi ^ xj), static_cast<uint8_t>(xi ^ xk))));
  };
  const uint8_t wa = weight(a.x, b.x, xf), wb = weight(b.x, a.x, xf), wf = weight(xf, a.x, b.x);
  std::vector<uint8_t> xy(1 + wanted.size());
  xy[0] = xf;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const uint8_t rest = static_cast<uint8_t>(wanted.data()[i] ^ Mul(wa, a.y[i]) ^ Mul(wb, b.y[i]));
    xy[1 + i] = Mul(rest, Inverse(wf));
  }
  mesh::SecureBuffer line;
  vault::text_share::Encode({3, 5, 3, a.header.set_id}, xy, &line);
  const std::string forged(line.view());
  // Alone with the attacker's own shares it "works": they control every input.
  const auto own = Combine({real[0], real[1], forged});
  REQUIRE(own.status.ok());
  CHECK(own.secret == evil);
  // Beside honest shares, in any order: refused.
  for (const auto& input :
       {std::vector<std::string>{real[0], real[1], forged, real[2]},
        std::vector<std::string>{forged, real[0], real[1], real[3], real[4]},
        std::vector<std::string>{real[4], real[3], real[2], forged, real[1], real[0]}}) {
    const auto r = Combine(input);
    CHECK_FALSE(r.status.ok());
    CHECK(Contains(r.status.message(), "conflicting shares"));
    CHECK(r.secret.empty());
  }
}

TEST_CASE("more than 255 inputs are refused before decoding", "[shares][bad]") {
  std::vector<std::string> many(30000, "0101");
  const auto r = Combine(many);
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "at most 255"));
}

TEST_CASE("the subset search is bounded whatever the input", "[shares][bad]") {
  // Many lines with the same x (differently damaged copies) beside distinct ones: the walk
  // counts every subset it looks at, so it ends.
  const auto real = SplitLines("bounded", 100, 255);
  std::vector<std::string> input;
  for (int i = 0; i < 99; ++i) input.push_back(real[i]);
  for (int i = 0; i < 150; ++i) input.push_back(Forge(real[200]));
  const auto r = Combine(input);
  CHECK_FALSE(r.status.ok());
}

TEST_CASE("short lines that read as both hex and base64 need --format", "[shares][bad]") {
  const auto r = Combine({"abcd", "ef01"});
  CHECK_FALSE(r.status.ok());
  CHECK(Contains(r.status.message(), "--format"));
}

TEST_CASE("error messages never quote a malformed share", "[shares][bad]") {
  // A line with a valid checksum but not the mvs1 prefix: the message must not repeat it.
  std::string body = "SECRETSECRETSECRET.";
  const uint32_t crc = vault::Crc32c({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", crc);
  const auto r = Combine({body + hex, body + hex});
  CHECK_FALSE(r.status.ok());
  CHECK_FALSE(Contains(r.status.message(), "SECRET"));
}
