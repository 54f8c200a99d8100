// The admin page (/ui) and the endpoints it draws from, on 5 real agents: /v1/topology lists
// every member and link, /v1/vault/holders/NAME a secret's holders, and headless Chromium
// renders the page: a screenshot, and the drawn DOM has every node, every link and the ringed
// holders.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "process.h"
#include "vault_cluster.h"

namespace {

using testing::WaitFor;
using vault_test::VaultCluster;

std::string Chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

size_t Count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

}  // namespace

TEST_CASE("the admin page draws every node, every link and a secret's holders",
          "[integration][ui]") {
  const std::string chromium = Chromium();
  // scripts/install-deps.sh installs Debian's chromium; without it the page is not checked.
  REQUIRE_FALSE(chromium.empty());

  VaultCluster v;
  v.Put(0, "team/db", "a secret", {"-t", "2", "-n", "3"});
  const std::string http = v.c.node(0).http;

  // /v1/topology: five members, each alive, and a connected set of links (at least n-1).
  nlohmann::json topology;
  REQUIRE(WaitFor(
      [&] {
        topology = nlohmann::json::parse(testing::HttpGet(http, "/v1/topology"), nullptr, false);
        return !topology.is_discarded() && topology["nodes"].size() == 5 &&
               topology["links"].size() >= 4 && topology["unanswered"].empty();
      },
      std::chrono::milliseconds(10000)));
  for (const auto& n : topology["nodes"]) CHECK(n.value("status", "") == "alive");
  // /v1/vault/holders/NAME (the name %-escaped): three holders, all alive.
  auto holders =
      nlohmann::json::parse(testing::HttpGet(http, "/v1/vault/holders/team%2Fdb"), nullptr, false);
  REQUIRE(holders.is_object());
  CHECK(holders.value("threshold", 0) == 2);
  REQUIRE(holders["holders"].size() == 3);
  CHECK(testing::HttpGet(http, "/v1/vault/holders/nothing-here").empty());  // 404

  const std::string dir = v.c.dir() + "/chromium";
  std::filesystem::create_directories(dir);
  const std::string url = "http://" + http + "/ui?secret=team%2Fdb";
  const std::vector<std::string> common = {chromium,
                                           "--headless",
                                           "--no-sandbox",
                                           "--disable-gpu",
                                           "--no-first-run",
                                           "--user-data-dir=" + dir + "/profile",
                                           "--window-size=1000,700",
                                           "--virtual-time-budget=5000"};
  auto args = common;
  args.push_back("--screenshot=" + dir + "/ui.png");
  args.push_back(url);
  auto shot = testing::RunProcess(args, {}, {}, std::chrono::seconds(60));
  INFO(shot.err);
  REQUIRE(shot.exit_code == 0);
  const std::string png = vault_test::ReadBinary(dir + "/ui.png");
  REQUIRE(png.size() > 5000);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  // To look at it: MESHVAULT_UI_SCREENSHOT=/tmp/ui.png integration_admin "[ui]"
  if (const char* keep = std::getenv("MESHVAULT_UI_SCREENSHOT")) vault_test::WriteBinary(keep, png);

  args = common;
  args.push_back("--dump-dom");
  args.push_back(url);
  auto dom = testing::RunProcess(args, {}, {}, std::chrono::seconds(60));
  REQUIRE(dom.exit_code == 0);
  const std::string& html = dom.out;
  INFO(html.substr(0, 4000));
  // Every node drawn once, alive, with its name.
  CHECK(Count(html, "<g class=\"member\"") == 5);
  CHECK(Count(html, "data-state=\"alive\"") == 5);
  for (size_t i = 0; i < 5; ++i)
    CHECK(html.find(">" + v.c.node(i).name + " (alive)<") != std::string::npos);
  // Every link, as the page counted it, and as /v1/topology had them (links may change
  // between the two reads only if the mesh does; the cluster is idle here).
  const size_t lines = Count(html, "<line class=\"link\"");
  CHECK(lines >= 4);
  CHECK(html.find("data-links=\"" + std::to_string(lines) + "\"") != std::string::npos);
  CHECK(html.find("data-members=\"5\"") != std::string::npos);
  // The three holders of team/db are ringed.
  CHECK(Count(html, "class=\"alive holder\"") == 3);
  CHECK(html.find("team/db v1: t=2 of 3 holders") != std::string::npos);
}
