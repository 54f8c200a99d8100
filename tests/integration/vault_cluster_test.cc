// The vault on 5 real `meshvault agent` processes, driven through the CLI (issue 4,
// acceptance): exact round trips, list, versions, delete, nothing in clear on disk or in the
// logs, permissions and the audit log, and (in process, with mesh::Client) replayed get
// requests. Failures and restarts: vault_failure_test.cc.
#include "vault_cluster.h"

#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "mesh/client.h"
#include "mesh/key_files.h"
#include "protocol/codec.h"
#include "protocol/get_request.h"
#include "vault/agent.h"

namespace {

using testing::milliseconds;
using vault_test::Contains;
using vault_test::RandomBytes;
using vault_test::VaultCluster;
using vault_test::WaitFor;

bool NoNodeHolds(VaultCluster& v, const std::string& name, int64_t version) {
  for (size_t i = 0; i < v.c.size(); ++i) {
    for (const auto& row : vault_test::StoredShares(v.c.node(i).data_dir)) {
      if (row.name == name && (version == 0 || row.version == version)) return false;
    }
  }
  return true;
}

// The line of a table output that starts with `first`, or empty.
std::string LineStartingWith(const std::string& text, const std::string& first) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(first + " ", 0) == 0) return line;
  }
  return {};
}

// Finds any 32-byte window of a secret in a file, raw or hex- or base64-encoded (at each of
// the three alignments), and the text-share prefix "mvs1.".
class LeakScanner {
 public:
  explicit LeakScanner(const std::string& secret) {
    Add(secret, 32, "raw");
    std::string hex(secret.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const uint8_t*>(secret.data()),
                   secret.size());
    hex.pop_back();
    std::string upper = hex;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    Add(hex, 64, "hex");
    Add(upper, 64, "HEX");
    for (size_t skip = 0; skip < 3; ++skip) {
      const size_t n = secret.size() - skip;
      std::string b64(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
      sodium_bin2base64(b64.data(), b64.size(),
                        reinterpret_cast<const uint8_t*>(secret.data()) + skip, n,
                        sodium_base64_VARIANT_ORIGINAL);
      b64.resize(b64.size() - 1 - 4);  // the NUL, and the last group (padding)
      Add(b64, 44, "base64");
    }
  }

  // A description of each leak found in `bytes`; empty when none.
  std::vector<std::string> Find(std::string_view bytes) const {
    std::vector<std::string> found;
    if (bytes.find("mvs1.") != std::string_view::npos) found.push_back("share prefix mvs1.");
    for (size_t at = 0; at + 8 <= bytes.size() && found.size() < 4; ++at) {
      uint64_t key = 0;
      std::memcpy(&key, bytes.data() + at, 8);
      auto [lo, hi] = index_.equal_range(key);
      for (auto it = lo; it != hi; ++it) {
        const auto& w = windows_[it->second];
        if (bytes.substr(at, w.text.size()) == w.text) {
          found.push_back(w.kind + " window of the secret at byte " + std::to_string(at));
          break;
        }
      }
    }
    return found;
  }

 private:
  struct Window {
    std::string text;
    std::string kind;
  };
  void Add(const std::string& source, size_t length, const std::string& kind) {
    for (size_t at = 0; at + length <= source.size(); ++at) {
      uint64_t key = 0;
      std::memcpy(&key, source.data() + at, 8);
      index_.emplace(key, windows_.size());
      windows_.push_back({source.substr(at, length), kind});
    }
  }
  std::vector<Window> windows_;
  std::unordered_multimap<uint64_t, size_t> index_;
};

// Every file under every data dir, and every agent log, scanned for the secret.
void CheckNoLeak(const VaultCluster& v, const LeakScanner& scan, const std::string& stage) {
  size_t files = 0;
  for (size_t i = 0; i < v.c.size(); ++i) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(v.c.node(i).data_dir)) {
      if (!e.is_regular_file()) continue;
      files++;
      const auto leaks = scan.Find(vault_test::ReadBinary(e.path().string()));
      INFO(stage << ": " << e.path().string() << ": " << (leaks.empty() ? "" : leaks.front()));
      CHECK(leaks.empty());
    }
    const auto leaks = scan.Find(v.c.Log(i));
    INFO(stage << ": log of " << v.c.node(i).name << ": " << (leaks.empty() ? "" : leaks.front()));
    CHECK(leaks.empty());
  }
  CHECK(files >= v.c.size() * 2);  // at least vault.db and vault.key per node
}

}  // namespace

TEST_CASE(
    "vault: exact round trips of 1 B and 32 B and 200 KiB secrets with list and versions "
    "and delete",
    "[integration]") {
  VaultCluster v;
  const std::string one = "\n";  // 1 byte, a newline: nothing may trim it
  std::string bin = RandomBytes(32);
  bin[0] = bin[13] = bin[31] = '\0';
  // Given with --in FILE. (1 MiB: its own test case below.)
  const std::string file = RandomBytes(200 * 1024);
  const std::string file_in = v.c.dir() + "/file.in";
  vault_test::WriteBinary(file_in, file);

  const auto put_one = v.Put(0, "one", one);
  CHECK(put_one.value("version", 0) == 1);
  const auto one_holders = VaultCluster::Holders(put_one);
  CHECK(one_holders.size() == 5);
  auto r = v.Cli(1, {"put", "app/bin32", "-t", "2", "-n", "3"}, bin);
  REQUIRE(r.code == 0);
  CHECK(Contains(r.out, "stored app/bin32 version 1: 2 of 3 shares needed; holders "));
  r = v.Cli(2, {"put", "file", "--in", file_in});
  REQUIRE(r.code == 0);

  {  // get through the node that took the put, and through any other
    r = v.Cli(0, {"get", "one"});
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, one));
    r = v.Cli(1, {"get", "app/bin32"});
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, bin));
    r = v.Cli(2, {"get", "file"});
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, file));
    CHECK(r.err.empty());
    // The manifests are gossiped: once node 4 knows them, it routes gets too.
    REQUIRE(WaitFor([&] { return v.List(4).size() == 3; }, milliseconds(5000)));
    r = v.Cli(4, {"get", "app/bin32"});
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, bin));
    const std::string out_file = v.c.dir() + "/file.out";
    r = v.Cli(3, {"get", "file", "--out", out_file});
    CHECK(r.code == 0);
    CHECK(r.out.empty());
    CHECK(vault_test::SameBytes(vault_test::ReadBinary(out_file), file));
    struct stat st {};
    REQUIRE(::stat(out_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }

  {  // list shows name, version, t/n and live holders
    auto list = v.List(0);
    REQUIRE(list.size() == 3);
    REQUIRE(list.count("one") == 1);
    const auto& e = list["one"];
    CHECK(e.value("version", 0) == 1);
    CHECK(e.value("threshold", 0) == 3);
    CHECK(e.value("shares", 0) == 5);
    CHECK(e.value("live_holders", 0) == 5);
    CHECK(e.value("owner", "") == "client");
    std::vector<std::string> names;
    for (const auto& h : e["holders"]) {
      names.push_back(h.value("name", ""));
      CHECK(h.value("state", "") == "alive");
    }
    CHECK(names == one_holders);
    CHECK(list["app/bin32"].value("threshold", 0) == 2);
    CHECK(list["app/bin32"].value("shares", 0) == 3);
    CHECK(list["app/bin32"]["holders"].size() == 3);
    CHECK(list["file"].value("live_holders", 0) == 5);
    r = v.Cli(0, {"list"});
    REQUIRE(r.code == 0);
    CHECK(Contains(r.out, "Live holders"));
    const std::string row = LineStartingWith(r.out, "app/bin32");
    INFO(r.out);
    CHECK(Contains(row, " 1 "));
    CHECK(Contains(row, "2/3"));
    CHECK(Contains(row, "3/3"));
    CHECK(Contains(row, "client"));
  }

  {  // a new version replaces the old; its shares leave the holders
    const std::string second = RandomBytes(48);
    const auto put2 = v.Put(0, "one", second);
    CHECK(put2.value("version", 0) == 2);
    r = v.Cli(0, {"get", "one"});
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, second));
    CHECK(v.List(0)["one"].value("version", 0) == 2);
    r = v.Cli(0, {"get", "one", "--version", "1"});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(Contains(r.err, "version 1"));
    r = v.Cli(0, {"get", "one", "--version", "2"});
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, second));
    // Every holder learns the new manifest and wipes its version-1 share.
    CHECK(WaitFor([&] { return NoNodeHolds(v, "one", 1); }, milliseconds(5000)));
    size_t v2 = 0;
    for (size_t i = 0; i < v.c.size(); ++i) {
      v2 += vault_test::HoldsShare(v.c.node(i).data_dir, "one", 2) ? 1 : 0;
    }
    CHECK(v2 == 5);
  }

  {  // delete: get fails with exit 2 and says so, list drops it, the shares are wiped
    r = v.Cli(0, {"delete", "one"});
    CHECK(r.code == 0);
    CHECK(Contains(r.out, "deleted one"));
    r = v.Cli(0, {"get", "one"});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(Contains(r.err, "\"one\""));
    CHECK(Contains(r.err, "deleted"));
    CHECK(v.List(0).count("one") == 0);
    CHECK(v.List(0).count("file") == 1);
    CHECK(v.List(0).size() == 2);
    CHECK(NoNodeHolds(v, "one", 0));
    CHECK(WaitFor([&] { return v.List(3).count("one") == 0; }, milliseconds(5000)));
    r = v.Cli(0, {"delete", "one"});
    CHECK(r.code == 2);
    CHECK(Contains(r.err, "already deleted"));
    r = v.Cli(0, {"get", "file"});  // the others are untouched
    CHECK(r.code == 0);
    CHECK(vault_test::SameBytes(r.out, file));
  }

  {  // bad names and unknown names
    r = v.Cli(0, {"put", "../x"}, "value");
    CHECK(r.code == 1);
    CHECK(Contains(r.err, "name"));
    r = v.Cli(0, {"get", "no-such-secret"});
    CHECK(r.code == 2);
    CHECK(Contains(r.err, "no secret named \"no-such-secret\""));
    r = v.Cli(0, {"put", "empty"}, "");
    CHECK(r.code == 1);
    CHECK(Contains(r.err, "empty"));
    CHECK(v.List(0).size() == 2);
  }
}

TEST_CASE("vault: a 1 MiB secret (the largest allowed) round-trips through put --in FILE and get",
          "[integration]") {
  VaultCluster v;
  const std::string big = RandomBytes(size_t{1} << 20);
  const std::string big_in = v.c.dir() + "/big.in";
  vault_test::WriteBinary(big_in, big);
  auto r = v.Cli(2, {"put", "big", "--in", big_in});
  REQUIRE(r.code == 0);
  CHECK(Contains(r.out, "stored big version 1: 3 of 5 shares needed"));
  CHECK(v.List(2)["big"].value("live_holders", 0) == 5);
  r = v.Cli(2, {"get", "big"});
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, big));
  INFO("get stderr: " << r.err);
  CHECK(r.err.empty());
  const std::string out_file = v.c.dir() + "/big.out";
  r = v.Cli(2, {"get", "big", "--out", out_file});
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(vault_test::ReadBinary(out_file), big));
  // One byte more is refused before anything is sent.
  vault_test::WriteBinary(big_in, big + "x");
  r = v.Cli(2, {"put", "bigger", "--in", big_in});
  CHECK(r.code == 1);
  CHECK(v.List(2).count("bigger") == 0);
}

TEST_CASE(
    "vault: no secret bytes and no share in any data dir file or log after put and get "
    "and delete",
    "[integration]") {
  VaultCluster v;
  const std::string secret = RandomBytes(4096);
  const LeakScanner scan(secret);
  // The scanner itself finds a leak.
  REQUIRE_FALSE(scan.Find("xx" + secret.substr(1000, 32) + "yy").empty());
  REQUIRE_FALSE(scan.Find("mvs1.3of5").empty());

  const auto put = v.Put(0, "leak/check", secret);
  CHECK(VaultCluster::Holders(put).size() == 5);
  CheckNoLeak(v, scan, "after put");

  auto r = v.Cli(0, {"get", "leak/check"});
  REQUIRE(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, secret));
  REQUIRE(WaitFor([&] { return v.List(3).count("leak/check") == 1; }, milliseconds(5000)));
  r = v.Cli(3, {"get", "leak/check"});
  REQUIRE(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, secret));
  CheckNoLeak(v, scan, "after get");

  r = v.Cli(0, {"delete", "leak/check"});
  REQUIRE(r.code == 0);
  CHECK(NoNodeHolds(v, "leak/check", 0));
  CheckNoLeak(v, scan, "after delete");
}

TEST_CASE("vault: a client neither owner nor reader is denied and audited while a reader may get",
          "[integration]") {
  VaultCluster v;
  const std::string secret = RandomBytes(64);
  v.Put(0, "team/db", secret);
  REQUIRE(WaitFor([&] { return v.List(1).count("team/db") == 1; }, milliseconds(5000)));

  auto r = v.Cli(1, {"get", "team/db"}, {}, "other");
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(Contains(r.err, "permission denied"));

  // The owner sees the refusal in the audit log (the entry node refuses before any holder is
  // asked, and records it).
  r = v.Cli(0, {"audit", "team/db", "--format", "json"});
  REQUIRE(r.code == 0);
  const auto records = nlohmann::json::parse(r.out);
  int denied = 0, put = 0;
  for (const auto& rec : records) {
    if (rec.value("client", "") == "other" && rec.value("action", "") == "get" &&
        rec.value("outcome", "").rfind("denied", 0) == 0) {
      denied++;
    }
    if (rec.value("client", "") == "client" && rec.value("action", "") == "put") put++;
  }
  INFO(r.out);
  CHECK(denied >= 1);
  CHECK(put == 5);
  r = v.Cli(0, {"audit", "team/db"});
  CHECK(r.code == 0);
  CHECK(Contains(r.out, "other"));
  CHECK(Contains(r.out, "denied"));

  // Nor may it read the audit log, list the name, overwrite or delete it.
  r = v.Cli(0, {"audit", "team/db"}, {}, "other");
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "permission denied"));
  CHECK(v.List(0, "other").count("team/db") == 0);
  r = v.Cli(0, {"put", "team/db"}, "mine now", "other");
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "permission denied"));
  r = v.Cli(0, {"delete", "team/db"}, {}, "other");
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "permission denied"));
  r = v.Cli(0, {"get", "team/db"});
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, secret));

  // Named as a reader, it may get (and list) the secret, and that release is audited too.
  const std::string shared = RandomBytes(40);
  v.Put(0, "team/shared", shared, {"--reader", "other"});
  r = v.Cli(0, {"get", "team/shared"}, {}, "other");
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, shared));
  CHECK(v.List(0, "other").count("team/shared") == 1);
  r = v.Cli(0, {"audit", "team/shared", "--format", "json"}, {}, "other");
  REQUIRE(r.code == 0);
  int granted = 0;
  for (const auto& rec : nlohmann::json::parse(r.out)) {
    granted += rec.value("client", "") == "other" && rec.value("outcome", "") == "granted";
  }
  CHECK(granted >= 3);
  r = v.Cli(0, {"get", "team/shared"}, {}, "stranger");
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "permission denied"));
}

TEST_CASE("vault: a replayed get request is refused by every holder and a stale one by the entry",
          "[integration]") {
  using vault::protocol::GetRequest;
  VaultCluster v;
  const std::string secret = RandomBytes(100);
  v.Put(0, "replay/me", secret);
  REQUIRE(WaitFor([&] { return v.List(2).count("replay/me") == 1; }, milliseconds(5000)));

  mesh::SigningKey key;
  mesh::Certificate cert, ca;
  REQUIRE(mesh::ReadPrivateKeyFile(v.c.dir() + "/certs/client.key", &key).ok());
  REQUIRE(mesh::ReadCertificateFile(v.c.dir() + "/certs/client.crt", &cert).ok());
  REQUIRE(mesh::ReadCertificateFile(v.c.dir() + "/ca.crt", &ca).ok());
  mesh::ClientOptions o;
  o.key = std::make_shared<const mesh::SigningKey>(std::move(key));
  o.certificate = cert;
  o.ca_key = ca.subject;
  o.max_message_bytes = vault::kVaultMaxMessageBytes;
  std::unique_ptr<mesh::Client> link, other_link;
  REQUIRE(mesh::Client::Connect(v.c.node(0).address, o, &link).ok());
  REQUIRE(mesh::Client::Connect(v.c.node(2).address, o, &other_link).ok());

  const auto reply_key = vault::protocol::BoxKey::Generate();
  const auto now_ms = [] {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  };
  const auto request = [&](int64_t time_ms) {
    GetRequest g;
    g.name = "replay/me";
    randombytes_buf(g.nonce.data(), g.nonce.size());
    g.reply_key = reply_key.public_key();
    g.time_ms = time_ms;
    g.client = cert;
    g.Sign(*o.key);
    return mesh::Json{{"request", vault::protocol::ToBase64(g.Encode())}};
  };
  const auto send = [&](mesh::Client& to, const mesh::Json& data, size_t holders_asked) {
    mesh::Json reply;
    const auto s = to.Request("vault.get", data, mesh::Millis(10000), &reply);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(reply.contains("results"));
    REQUIRE(reply["results"].size() == holders_asked);
    return reply["results"];
  };

  // By default the entry node asks t holders; with "all", every holder.
  CHECK(send(*link, request(now_ms()), 3).size() == 3);
  auto data = request(now_ms());
  data["all"] = true;
  for (const auto& result : send(*link, data, 5)) {
    INFO(result.dump());
    CHECK_FALSE(result.contains("error"));
    REQUIRE(result.contains("share"));
    // Each share opens with the one-time key and is the holder's share of this secret.
    std::vector<uint8_t> sealed;
    REQUIRE(vault::protocol::Base64Field(result, "share", 1 << 20, &sealed).ok());
    vault::protocol::DealerShare share;
    REQUIRE(vault::protocol::DealerShare::Open(sealed, reply_key, &share).ok());
    CHECK(share.name == "replay/me");
    CHECK(share.version == 1);
    CHECK(share.VerifySignature(cert.subject));
  }
  // The same bytes again, through the same node and through another: refused by each holder
  // (without "all" too: the entry node asks another holder for each refusal).
  data.erase("all");
  for (mesh::Client* to : {link.get(), other_link.get()}) {
    for (const auto& result : send(*to, data, 5)) {
      INFO(result.dump());
      CHECK_FALSE(result.contains("share"));
      CHECK(Contains(result.value("error", ""), "replayed"));
    }
  }
  // A fresh nonce with a time far outside the window: refused too (by the entry node).
  {
    mesh::Json reply;
    const auto s =
        link->Request("vault.get", request(now_ms() - 10 * 60 * 1000), mesh::Millis(10000), &reply);
    CHECK_FALSE(s.ok());
    CHECK(Contains(s.message(), "permission denied"));
    CHECK(Contains(s.message(), "window"));
  }
  // The refusals are in the audit log.
  auto r = v.Cli(0, {"audit", "replay/me", "--format", "json"});
  REQUIRE(r.code == 0);
  int replayed = 0;
  for (const auto& rec : nlohmann::json::parse(r.out)) {
    replayed += Contains(rec.value("outcome", ""), "replayed") ? 1 : 0;
  }
  CHECK(replayed == 10);
  // A request from the CLI still works.
  r = v.Cli(0, {"get", "replay/me"});
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, secret));
}
