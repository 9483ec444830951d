// Hot reload on SIGHUP and on file changes: new versions served whole, broken ones never, and
// no query lost while reloading.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/harness.h"

using namespace pharos::test;
using namespace std::chrono_literals;

namespace {

// Version `v` of a zone whose every answer names its version: the MX target and its address
// change together, so a reply mixing versions would show.
std::string versioned_zone(int v) {
  std::string n = std::to_string(v);
  return "$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h " + n +
         " 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n@ MX 10 mail-v" + n + "\nmail-v" + n + " A 192.0.2." + n +
         "\nwww TXT \"v" + n + "\"\n";
}

uint32_t serial(const DnsClient& c, const std::string& zone = "example.com") {
  auto p = c.query(zone, LDNS_RR_TYPE_SOA);
  if (!p || ldns_pkt_ancount(p.get()) != 1) return 0;
  ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0);
  return ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
}

// Waits (bounded, for liveness only) until `pred` holds.
template <class F>
bool eventually(F pred, std::chrono::milliseconds limit = 10000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

struct Fixture {
  TempDir dir;
  std::string zone_path;
  std::string config_path;
  std::unique_ptr<Pharos> pharos;
  Fixture() {
    zone_path = dir.write("example.com.zone", versioned_zone(1));
    config_path = dir.write("pharos.yaml", pharos_config({{"example.com", zone_path}}));
    pharos = std::make_unique<Pharos>(config_path, dir.path() + "/pharos.log");
  }
  DnsClient client() const { return DnsClient(pharos->port()); }
  size_t reloads() { return count(pharos->process().log(), "reload: done"); }
  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
  }
};

}  // namespace

TEST_CASE("reload: a changed zone is served after SIGHUP", "[integration]") {
  Fixture f;
  auto c = f.client();
  REQUIRE(serial(c) == 1);
  size_t before = f.reloads();
  f.dir.write("example.com.zone", versioned_zone(2));
  f.pharos->process().signal(SIGHUP);
  REQUIRE(eventually([&] { return f.reloads() > before; }));
  CHECK(serial(c) == 2);
}

TEST_CASE("reload: a changed zone file is picked up without a signal", "[integration]") {
  Fixture f;
  auto c = f.client();
  REQUIRE(serial(c) == 1);
  f.dir.write("example.com.zone", versioned_zone(2));
  CHECK(eventually([&] { return serial(c) == 2; }));
  // An in-place write (no rename) is seen as well.
  {
    std::ofstream out(f.zone_path, std::ios::trunc);
    out << versioned_zone(3);
  }
  CHECK(eventually([&] { return serial(c) == 3; }));
  CHECK(f.pharos->process().log().find("reason=\"changed:") != std::string::npos);
}

TEST_CASE("reload: a broken zone keeps the old version serving and says file:line: reason", "[integration]") {
  Fixture f;
  auto c = f.client();
  REQUIRE(serial(c) == 1);
  size_t before = f.reloads();
  f.dir.write("example.com.zone", versioned_zone(2) + "bad A 300.1.2.3\n");
  REQUIRE(eventually([&] { return f.reloads() > before; }));
  CHECK(serial(c) == 1);
  std::string log = f.pharos->process().log();
  CHECK(log.find(f.zone_path + ":9: ") != std::string::npos);
  CHECK(log.find("zone example.com.: load failed, still serving serial=1") != std::string::npos);
  // Fixing it brings the new version.
  f.dir.write("example.com.zone", versioned_zone(4));
  CHECK(eventually([&] { return serial(c) == 4; }));
}

TEST_CASE("reload: a semantically broken zone (CNAME beside data) is refused the same way", "[integration]") {
  Fixture f;
  auto c = f.client();
  size_t before = f.reloads();
  f.dir.write("example.com.zone", versioned_zone(2) + "www CNAME ns1\n");
  REQUIRE(eventually([&] { return f.reloads() > before; }));
  CHECK(serial(c) == 1);
  CHECK(f.pharos->process().log().find("beside other data") != std::string::npos);
}

TEST_CASE("reload: a broken config keeps the running config and zones", "[integration]") {
  Fixture f;
  auto c = f.client();
  size_t before = f.reloads();
  f.dir.write("pharos.yaml", "server:\n  listen: [\"127.0.0.1:0\"]\n  wrkers: 2\nzones: []\n");
  REQUIRE(eventually([&] { return f.reloads() > before; }));
  CHECK(serial(c) == 1);
  std::string log = f.pharos->process().log();
  CHECK(log.find(f.config_path + ":3: ") != std::string::npos);
  CHECK(log.find("reload failed, keeping the running config") != std::string::npos);
}

TEST_CASE("reload: zones added to and removed from a zone directory", "[integration]") {
  TempDir dir;
  dir.write("zones/example.com.zone", versioned_zone(1));
  std::string cfg = dir.write("pharos.yaml",
                              "server:\n  listen: [\"127.0.0.1:0\"]\n  workers: 1\nzones:\n  - directory: zones\n");
  Pharos pharos(cfg, dir.path() + "/pharos.log");
  DnsClient c(pharos.port());
  REQUIRE(serial(c) == 1);
  CHECK(rcode_name(c.query("other.test", LDNS_RR_TYPE_SOA).get()) == "REFUSED");
  dir.write("zones/other.test.zone", "$ORIGIN other.test.\n$TTL 60\n@ SOA ns h 9 2 3 4 5\n@ NS ns\nns A 192.0.2.9\n");
  CHECK(eventually([&] { return serial(c, "other.test") == 9; }));
  std::filesystem::remove(dir.path() + "/zones/other.test.zone");
  CHECK(eventually([&] {
    auto p = c.query("other.test", LDNS_RR_TYPE_SOA);
    return p && rcode_name(p.get()) == "REFUSED";
  }));
  CHECK(serial(c) == 1);
}

TEST_CASE("reload: unchanged zones are not read again", "[integration]") {
  TempDir dir;
  std::string a = dir.write("a.zone", versioned_zone(1));
  std::string b = dir.write("b.zone",
                            "$ORIGIN b.test.\n$TTL 60\n@ SOA ns h 5 2 3 4 5\n@ NS ns\nns A 192.0.2.9\n");
  std::string cfg = dir.write("pharos.yaml", pharos_config({{"example.com", a}, {"b.test", b}}));
  Pharos pharos(cfg, dir.path() + "/pharos.log");
  DnsClient c(pharos.port());
  dir.write("a.zone", versioned_zone(2));
  REQUIRE(eventually([&] { return serial(c) == 2; }));
  CHECK(eventually([&] { return pharos.process().log().find("loaded=1 unchanged=1") != std::string::npos; }));
}

TEST_CASE("reload: under continuous queries no query is lost and no reply mixes versions", "[integration]") {
  Fixture f;
  auto c = f.client();
  std::atomic<bool> done{false};
  std::atomic<int> lost{0}, mixed{0}, answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&, t] {
      DnsClient mine(f.pharos->port());
      while (!done.load()) {
        auto p = mine.query("example.com", LDNS_RR_TYPE_MX, t == 1);
        if (!p) {
          ++lost;
          continue;
        }
        ++answered;
        // The MX target mail-vN and its address 192.0.2.N must come from the same version.
        auto ans = section(p.get(), LDNS_SECTION_ANSWER);
        auto add = section(p.get(), LDNS_SECTION_ADDITIONAL);
        if (ans.size() != 1 || add.size() != 1) {
          ++mixed;
          continue;
        }
        std::string target = ans[0].substr(ans[0].find("mail-v") + 6);
        std::string version = target.substr(0, target.find('.'));
        if (add[0].rfind("mail-v" + version + ".", 0) != 0 ||
            add[0].substr(add[0].rfind('.') + 1) != version) {
          ++mixed;
        }
      }
    });
  }
  for (int v = 2; v <= 21; ++v) {
    size_t before = f.reloads();
    f.dir.write("example.com.zone", versioned_zone(v));
    f.pharos->process().signal(SIGHUP);
    REQUIRE(eventually([&] { return f.reloads() > before; }));
  }
  // The last SIGHUP's reload may finish after one triggered by the file watcher.
  CHECK(eventually([&] { return serial(c) == 21; }));
  done = true;
  for (auto& t : clients) t.join();
  CHECK(answered.load() > 100);
  CHECK(lost.load() == 0);
  CHECK(mixed.load() == 0);
}
