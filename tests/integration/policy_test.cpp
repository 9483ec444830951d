// Health-checked policy records against the real binary: real HTTP, HTTPS and TCP backends on
// loopback go down and come back while queries run, and the answers follow.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "integration/harness.h"
#include "unit/health/test_servers.h"

using namespace pharos;
using namespace pharos::test;
using namespace std::chrono_literals;
namespace ht = pharos::health::test;

namespace {

const char* kZone = R"($ORIGIN example.com.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.1
app  A   192.0.2.1
)";

template <class F>
bool eventually(F pred, std::chrono::milliseconds limit = 10000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// The answer's addresses, sorted and space-separated; "SERVFAIL" etc. for a non-NOERROR reply,
// "lost" for no reply.
std::string answer(const DnsClient& c, const std::string& name = "www.example.com", bool tcp = false) {
  auto p = c.query(name, LDNS_RR_TYPE_A, tcp);
  if (!p) return "lost";
  if (rcode_name(p.get()) != "NOERROR") return rcode_name(p.get());
  std::string out;
  for (const auto& line : section(p.get(), LDNS_SECTION_ANSWER)) {
    out += (out.empty() ? "" : " ") + line.substr(line.rfind('\t') + 1);
  }
  return out;
}

// An HTTP(S) backend whose health endpoint answers `status` (switchable while it runs).
struct Backend {
  std::atomic<unsigned> status{200};
  ht::HttpServer server;
  explicit Backend(const ht::KeyCert* cert = nullptr)
      : server([this](const std::string&) { return ht::http_response(status.load(), "ok"); }, cert) {}
  uint16_t port() const { return server.port(); }
};

// Queries run on two threads (UDP and TCP) for as long as this lives, counting lost replies.
struct QueryLoad {
  std::atomic<bool> done{false};
  std::atomic<int> lost{0}, answered{0};
  std::vector<std::thread> threads;
  explicit QueryLoad(uint16_t port) {
    for (bool tcp : {false, true}) {
      threads.emplace_back([this, port, tcp] {
        DnsClient c(port);
        while (!done) {
          std::string a = answer(c, "www.example.com", tcp);
          if (a == "lost" || a.empty()) ++lost;
          else ++answered;
          std::this_thread::sleep_for(2ms);
        }
      });
    }
  }
  ~QueryLoad() { stop(); }
  void stop() {
    done = true;
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

std::string http_check(const std::string& name, uint16_t port, const std::string& extra = "") {
  return "  " + name + ": {type: http, target: 127.0.0.1:" + std::to_string(port) +
         ", path: /healthz, interval: 100ms, timeout: 200ms, rise: 2, fall: 2" + extra + "}\n";
}

std::string failover_record(const std::string& a, const std::string& b, const std::string& extra = "") {
  return "records:\n  - name: www.example.com\n    ttl: 5\n    policy: failover\n" + extra +
         "    members:\n      - {value: 192.0.2.10, role: primary, check: " + a +
         "}\n      - {value: 192.0.2.11, role: secondary, check: " + b + "}\n";
}

struct Setup {
  TempDir dir;
  std::string config;
  std::unique_ptr<Pharos> pharos;
  Setup(const std::string& checks, const std::string& records) {
    std::string zone = dir.write("example.com.zone", kZone);
    config = dir.write("pharos.yaml", pharos_config({{"example.com", zone}}) + "health_checks:\n" + checks + records);
    pharos = std::make_unique<Pharos>(config, dir.path() + "/pharos.log");
  }
  std::string log() { return pharos->process().log(); }
};

}  // namespace

TEST_CASE("policy: HTTP failover follows the primary down and back while queries run", "[integration]") {
  Backend a, b;
  Setup s(http_check("web-a", a.port()) + http_check("web-b", b.port()), failover_record("web-a", "web-b"));
  DnsClient c(s.pharos->port());
  // Cold start: the first answers already follow the probes.
  CHECK(answer(c) == "192.0.2.10");
  QueryLoad load(s.pharos->port());
  // And dig, as a user would watch it, in a loop for the whole failover and back.
  std::unique_ptr<Process> dig;
  const std::string dig_log = s.dir.path() + "/dig.log";
  if (have_program("dig")) {
    dig = std::make_unique<Process>(
        std::vector<std::string>{"sh", "-c",
                                 "while :; do dig +short +tries=1 +time=2 -p " + std::to_string(s.pharos->port()) +
                                     " @127.0.0.1 www.example.com A; sleep 0.02; done"},
        dig_log);
  }
  a.status = 503;
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }));
  // Anti-flap: once failed over, it stays (fall 2 needs two failures; nothing flips back).
  for (int i = 0; i < 20; ++i) CHECK(answer(c) == "192.0.2.11");
  // dig sees it too (it starts a process per query: give it the time it takes).
  if (dig) CHECK(eventually([&] { return dig->log().find("192.0.2.11\n") != std::string::npos; }));
  a.status = 200;
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }));
  if (dig) {
    CHECK(eventually([&] {
      std::string log = dig->log();
      return log.size() >= 11 && log.compare(log.size() - 11, 11, "192.0.2.10\n") == 0;
    }));
  }
  load.stop();
  CHECK(load.lost == 0);
  CHECK(load.answered > 50);
  if (dig) {
    dig->stop();  // sh lets the dig in flight finish, then exits
    // Every dig got one of the two addresses (a timeout would print ";; connection timed out"),
    // and both were seen.
    std::map<std::string, int> seen;
    std::istringstream lines(dig->log());
    for (std::string line; std::getline(lines, line);) ++seen[line];
    INFO(dig->log());
    CHECK(seen["192.0.2.10"] > 0);
    CHECK(seen["192.0.2.11"] > 0);
    CHECK(seen.size() == 2);
  }
  std::string log = s.log();
  std::string subject = "check web-a 127.0.0.1:" + std::to_string(a.port()) + ": ";
  CHECK(log.find(subject + "healthy -> unhealthy after 2 failures: status 503") != std::string::npos);
  CHECK(log.find(subject + "unhealthy -> healthy after 2 successes") != std::string::npos);
  if (have_program("dig")) {
    std::string out = run_capture("dig +short +tries=1 +time=2 -p " + std::to_string(s.pharos->port()) +
                                  " @127.0.0.1 www.example.com A");
    CHECK(out == "192.0.2.10\n");
  }
}

TEST_CASE("policy: HTTPS checks verify the certificate with the configured CA", "[integration]") {
  ht::TestPki pki;
  Backend a(&pki.leaf), b(&pki.leaf);
  std::string tls = ", host: health.test, ca_file: " + pki.ca_file;
  // web-a trusts the test CA; web-b verifies against the system store, which does not know it.
  std::string checks = "  web-a: {type: https, target: 127.0.0.1:" + std::to_string(a.port()) +
                       ", path: /healthz, interval: 100ms, timeout: 500ms, rise: 2, fall: 2" + tls + "}\n" +
                       "  web-b: {type: https, target: 127.0.0.1:" + std::to_string(b.port()) +
                       ", path: /healthz, host: health.test, interval: 100ms, timeout: 500ms, rise: 2, fall: 2}\n";
  Setup s(checks, failover_record("web-a", "web-b", "    all_down: servfail\n"));
  DnsClient c(s.pharos->port());
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }));
  a.status = 500;
  // The primary fails and the secondary's certificate is not trusted: all down, SERVFAIL.
  CHECK(eventually([&] { return answer(c) == "SERVFAIL"; }));
  CHECK(s.log().find("check web-b 127.0.0.1:" + std::to_string(b.port()) + ": unknown -> unhealthy") !=
        std::string::npos);
  a.status = 200;
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }));
}

TEST_CASE("policy: a TCP check fails over when its port stops listening", "[integration]") {
  auto a = std::make_unique<ht::TcpListener>(false);
  ht::TcpListener b(false);
  auto tcp = [](const std::string& name, uint16_t port) {
    return "  " + name + ": {type: tcp, target: 127.0.0.1:" + std::to_string(port) +
           ", interval: 100ms, timeout: 200ms, rise: 1, fall: 2}\n";
  };
  Setup s(tcp("a", a->port()) + tcp("b", b.port()), failover_record("a", "b"));
  DnsClient c(s.pharos->port());
  CHECK(answer(c) == "192.0.2.10");
  a->stop();
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }));
  INFO(s.log());
  CHECK(s.log().find("healthy -> unhealthy after 2 failures: connect refused") != std::string::npos);
}

TEST_CASE("policy: a reload keeps the state of unchanged checks (no flap back to the primary)", "[integration]") {
  Backend a, b;
  std::string checks = http_check("web-a", a.port()) + http_check("web-b", b.port());
  Setup s(checks, failover_record("web-a", "web-b"));
  DnsClient c(s.pharos->port());
  a.status = 503;
  REQUIRE(eventually([&] { return answer(c) == "192.0.2.11"; }));
  QueryLoad load(s.pharos->port());
  std::atomic<int> wrong{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    DnsClient w(s.pharos->port());
    while (!done) {
      if (answer(w) != "192.0.2.11") ++wrong;
    }
  });
  // A new TTL and a new record: the checks are unchanged, so their verdicts carry over.
  s.dir.write("pharos.yaml", pharos_config({{"example.com", s.dir.path() + "/example.com.zone"}}) +
                                 "health_checks:\n" + checks + failover_record("web-a", "web-b") +
                                 "  - {name: app.example.com, policy: simple, members: [192.0.2.77]}\n");
  s.pharos->process().signal(SIGHUP);
  CHECK(eventually([&] { return answer(c, "app.example.com") == "192.0.2.77"; }));
  std::this_thread::sleep_for(200ms);
  done = true;
  watcher.join();
  load.stop();
  CHECK(wrong == 0);
  CHECK(load.lost == 0);
  CHECK(s.log().find("kept=2 new=0") != std::string::npos);
}

TEST_CASE("policy: a config whose records do not fit the zone is refused with file:line", "[integration]") {
  Backend a, b;
  std::string checks = http_check("web-a", a.port()) + http_check("web-b", b.port());
  Setup s(checks, failover_record("web-a", "web-b"));
  DnsClient c(s.pharos->port());
  REQUIRE(answer(c) == "192.0.2.10");
  s.dir.write("pharos.yaml", pharos_config({{"example.com", s.dir.path() + "/example.com.zone"}}) +
                                 "health_checks:\n" + checks + failover_record("web-a", "web-b") +
                                 "  - {name: nothere.example.com, members: [192.0.2.9]}\n");
  s.pharos->process().signal(SIGHUP);
  CHECK(eventually([&] { return s.log().find("reload failed, keeping the running config") != std::string::npos; }));
  CHECK(s.log().find(s.config + ":") != std::string::npos);
  CHECK(s.log().find("has no name nothere.example.com.") != std::string::npos);
  CHECK(answer(c) == "192.0.2.10");
  // checkconf says the same and fails.
  std::string out = run_capture(pharos_binary() + " checkconf " + s.config + " 2>&1; echo rc=$?");
  INFO(out);
  CHECK(out.find("has no name nothere.example.com.") != std::string::npos);
  CHECK(out.find("rc=1") != std::string::npos);
}

TEST_CASE("control: pharos ctl overrides move answers while queries run, and clearing restores them",
          "[integration]") {
  Backend a, b;
  std::string checks = http_check("web-a", a.port()) + http_check("web-b", b.port());
  // A relative socket path is relative to the config file.
  Setup s(checks, failover_record("web-a", "web-b") + "control:\n  socket: ctl.sock\n");
  DnsClient c(s.pharos->port());
  REQUIRE(answer(c) == "192.0.2.10");
  std::string ctl = pharos_binary() + " ctl --config " + s.config + " ";
  auto run = [&](const std::string& words) {
    std::string out = run_capture(ctl + words + " 2>&1; echo rc=$?");
    UNSCOPED_INFO(words << " -> " << out);
    return out;
  };
  QueryLoad load(s.pharos->port());

  // Force the primary's check down: the secondary answers at once, without a probe failing.
  std::string out = run("override down --check web-a --reason 'test: down'");
  CHECK(out.find("override 1: check web-a down until cleared: test: down") != std::string::npos);
  CHECK(out.find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }, 2000ms));
  CHECK(run("override list").find("check web-a  down") != std::string::npos);
  CHECK(run("override clear 1").find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }, 2000ms));

  // Drain one member of one record: it leaves the answer while its check stays healthy.
  out = run("override drain --record 'www.example.com. A' --value 192.0.2.10 --reason maintenance");
  CHECK(out.find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }, 2000ms));
  out = run("status");
  CHECK(out.find("192.0.2.10  drain") != std::string::npos);
  CHECK(out.find("maintenance") != std::string::npos);
  CHECK(run("override clear 2").find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }, 2000ms));

  // Force up with an expiry while the primary really fails: it answers until the override ends.
  a.status = 503;
  REQUIRE(eventually([&] { return answer(c) == "192.0.2.11"; }));
  CHECK(run("override up --check web-a --for 1s").find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }, 2000ms));
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }, 5000ms));
  CHECK(run("override list").find("no overrides") != std::string::npos);

  // Bad input is refused with the reason and exit code 1 (server) or 2 (usage); nothing changes.
  out = run("override drain --record 'www.example.com. A' --value 192.0.2.99");
  CHECK(out.find("no member \"192.0.2.99\"") != std::string::npos);
  CHECK(out.find("rc=1") != std::string::npos);
  CHECK(run("override sideways --check web-a").find("rc=2") != std::string::npos);
  CHECK(run("override list").find("no overrides") != std::string::npos);

  // Reload through the API.
  CHECK(run("reload").find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return s.log().find("reason=\"control API\"") != std::string::npos; }));
  load.stop();
  CHECK(load.lost == 0);
  CHECK(answer(c) == "192.0.2.11");
}

namespace {

// `pharos ctl --config CONFIG WORDS --json`, parsed; throws (failing the test) when the output
// is not JSON.
boost::json::value ctl_json(const std::string& config, const std::string& words) {
  const std::string out = run_capture(pharos_binary() + " ctl --config " + config + " " + words + " --json 2>&1");
  UNSCOPED_INFO("ctl " << words << " -> " << out);
  return boost::json::parse(out);
}

// The member of explain's first policy record whose value is `value`.
const boost::json::object& explained_member(const boost::json::value& v, const std::string& value) {
  for (const auto& m : v.at("policy_records").at(0).at("members").as_array()) {
    if (m.at("value") == value.c_str()) return m.as_object();
  }
  throw std::runtime_error("no member " + value + " in " + boost::json::serialize(v));
}

}  // namespace

TEST_CASE("control: the status lists each zone's serial, records and load time, and follows a reload",
          "[integration]") {
  Backend a;
  Setup s(http_check("web-a", a.port()),
          "records:\n  - {name: app.example.com, policy: simple, members: [{value: 192.0.2.20, check: web-a}]}\n"
          "control:\n  socket: ctl.sock\n");
  boost::json::value st = ctl_json(s.config, "status");
  const boost::json::array& zones = st.at("zones").as_array();
  REQUIRE(zones.size() == 1);
  CHECK(zones[0].at("origin") == "example.com.");
  CHECK(zones[0].at("serial") == 1);
  CHECK(zones[0].at("records") == 5);
  CHECK(std::string(zones[0].at("file").as_string()).ends_with("example.com.zone"));
  const std::string loaded = std::string(zones[0].at("loaded_at").as_string());
  CHECK(st.at("queries").is_number());

  // A new serial, reloaded through the API: the status shows it, loaded later.
  std::string zone = kZone;
  zone.replace(zone.find("hostmaster 1 "), 13, "hostmaster 2 ");
  s.dir.write("example.com.zone", zone + "new  A   192.0.2.2\n");
  DnsClient c(s.pharos->port());
  const uint64_t before = st.at("queries").to_number<uint64_t>();
  CHECK(answer(c, "app.example.com") == "192.0.2.20");
  run_capture(pharos_binary() + " ctl --config " + s.config + " reload");
  CHECK(eventually([&] { return ctl_json(s.config, "status").at("zones").at(0).at("serial") == 2; }));
  st = ctl_json(s.config, "status");
  CHECK(st.at("zones").at(0).at("records") == 6);
  CHECK(std::string(st.at("zones").at(0).at("loaded_at").as_string()) > loaded);
  CHECK(st.at("queries").to_number<uint64_t>() >= before + 1);
  // The human table has them too.
  const std::string human = run_capture(pharos_binary() + " ctl --config " + s.config + " status");
  CHECK(human.find("example.com.  2       6") != std::string::npos);
}

TEST_CASE("control: explain names the failover members, their health and the chosen one, before and after "
          "the primary's backend is killed",
          "[integration]") {
  auto a = std::make_unique<Backend>();
  Backend b;
  Setup s(http_check("web-a", a->port()) + http_check("web-b", b.port()),
          failover_record("web-a", "web-b") + "control:\n  socket: ctl.sock\n");
  DnsClient c(s.pharos->port());
  REQUIRE(answer(c) == "192.0.2.10");

  boost::json::value v = ctl_json(s.config, "explain www.example.com A --client 203.0.113.7");
  CHECK(v.at("rcode") == "NOERROR");
  CHECK(v.at("zone") == "example.com.");
  REQUIRE(v.at("answer").as_array().size() == 1);
  CHECK(std::string(v.at("answer").at(0).as_string()).ends_with("192.0.2.10"));
  const boost::json::object& r = v.at("policy_records").at(0).as_object();
  CHECK(r.at("record") == "www.example.com. A");
  CHECK(r.at("policy") == "failover");
  CHECK(r.at("ttl") == 5);
  CHECK(r.at("outcome") == "answer");
  CHECK(r.at("fail_open") == false);
  CHECK(r.at("chosen").at(0).at("value") == "192.0.2.10");
  {
    const auto& primary = explained_member(v, "192.0.2.10");
    CHECK(primary.at("standing") == "healthy");
    CHECK(primary.at("chosen") == true);
    CHECK(primary.at("tier") == 0);
    CHECK(primary.at("check").at("name") == "web-a");
    CHECK(primary.at("check").at("state") == "healthy");
    const auto& secondary = explained_member(v, "192.0.2.11");
    CHECK(secondary.at("standing") == "healthy");
    CHECK(secondary.at("chosen") == false);
  }

  // The primary's backend goes away: the check fails, the secondary answers, explain says why.
  a.reset();
  REQUIRE(eventually([&] { return answer(c) == "192.0.2.11"; }));
  v = ctl_json(s.config, "explain www.example.com A --client 203.0.113.7");
  CHECK(std::string(v.at("answer").at(0).as_string()).ends_with("192.0.2.11"));
  {
    const auto& primary = explained_member(v, "192.0.2.10");
    CHECK(primary.at("standing") == "unhealthy");
    CHECK(primary.at("chosen") == false);
    CHECK(primary.at("check").at("state") == "unhealthy");
    CHECK(primary.at("check").at("last_result").as_string() != "");
    CHECK(std::string(primary.at("why").as_string()).starts_with("check web-a unhealthy"));
    const auto& secondary = explained_member(v, "192.0.2.11");
    CHECK(secondary.at("standing") == "healthy");
    CHECK(secondary.at("chosen") == true);
  }
  // The readable report, and bad input refused with the reason.
  const std::string ctl = pharos_binary() + " ctl --config " + s.config;
  std::string out = run_capture(ctl + " explain www.example.com --client 203.0.113.7 2>&1; echo rc=$?");
  INFO(out);
  CHECK(out.find("POLICY RECORD www.example.com. A (failover, ttl 5): answer") != std::string::npos);
  CHECK(out.find("192.0.2.11  healthy    yes") != std::string::npos);
  CHECK(out.find("192.0.2.10  unhealthy") != std::string::npos);
  CHECK(out.find("rc=0") != std::string::npos);
  out = run_capture(ctl + " explain www.example.com BOGUS 2>&1; echo rc=$?");
  CHECK(out.find("unknown type \"BOGUS\"") != std::string::npos);
  CHECK(out.find("rc=1") != std::string::npos);
  out = run_capture(ctl + " explain www.example.com --subnet 10.0.0.0/99 2>&1; echo rc=$?");
  CHECK(out.find("invalid subnet") != std::string::npos);
}

TEST_CASE("control: ctl drain takes a host or a member out of the answers, undrain brings it back",
          "[integration]") {
  Backend a, b;
  Setup s(http_check("web-a", a.port()) + http_check("web-b", b.port()),
          failover_record("web-a", "web-b") + "control:\n  socket: ctl.sock\n");
  DnsClient c(s.pharos->port());
  REQUIRE(answer(c) == "192.0.2.10");
  const std::string ctl = pharos_binary() + " ctl --config " + s.config + " ";
  auto run = [&](const std::string& words) {
    std::string out = run_capture(ctl + words + " 2>&1; echo rc=$?");
    UNSCOPED_INFO(words << " -> " << out);
    return out;
  };

  std::string out = run("drain web-a --for 10m --reason 'kernel upgrade'");
  CHECK(out.find("override 1: check web-a drain until ") != std::string::npos);
  CHECK(out.find("kernel upgrade") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }, 2000ms));
  boost::json::value v = ctl_json(s.config, "explain www.example.com");
  CHECK(explained_member(v, "192.0.2.10").at("check").at("override").at("action") == "drain");
  out = run("undrain web-a");
  CHECK(out.find("override 1 cleared: check web-a drain") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }, 2000ms));
  CHECK(run("undrain web-a").find("no drain override on check web-a") != std::string::npos);

  // One member of one record.
  out = run("drain --record 'www.example.com. A' --value 192.0.2.10");
  CHECK(out.find("rc=0") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.11"; }, 2000ms));
  v = ctl_json(s.config, "explain www.example.com");
  CHECK(explained_member(v, "192.0.2.10").at("standing") == "drained");
  CHECK(explained_member(v, "192.0.2.10").at("why") == "member override drain");
  CHECK(run("undrain --record 'www.example.com. A' --value 192.0.2.10").find("cleared") != std::string::npos);
  CHECK(eventually([&] { return answer(c) == "192.0.2.10"; }, 2000ms));
  CHECK(run("override list").find("no overrides") != std::string::npos);
  CHECK(run("drain").find("rc=2") != std::string::npos);
}

TEST_CASE("control: the status page shows the zone serial, the check state and the answering member in "
          "headless Chromium",
          "[integration]") {
  if (!have_program("chromium")) {
    WARN("chromium is not installed (tools/lib/common.sh installs it): status page not tested");
    return;
  }
  Backend a, b;
  const std::string token = "status-page-token-0123456789";
  Setup s(http_check("web-a", a.port()) + http_check("web-b", b.port()),
          failover_record("web-a", "web-b") + "control:\n  listen: 127.0.0.1:" + std::to_string(free_port()) +
              "\n  token: " + token + "\n");
  auto port = s.pharos->process().wait_for_log(R"(control: listening on 127\.0\.0\.1:(\d+))");
  REQUIRE(port);
  const std::string url = "http://127.0.0.1:" + *port + "/#token=" + token;
  const std::string out_dir = PHAROS_TEST_OUTPUT_DIR;
  std::filesystem::create_directories(out_dir);
  const std::string shot = out_dir + "/status_page.png";
  std::filesystem::remove(shot);
  // Root cannot run Chromium's sandbox; the page is our own.
  const std::string chromium = std::string("chromium --headless --disable-gpu --no-first-run --hide-scrollbars") +
                               (geteuid() == 0 ? " --no-sandbox" : "") + " --user-data-dir=" + s.dir.path() +
                               "/chromium --virtual-time-budget=5000 --window-size=1280,1100";
  const std::string dom = run_capture(chromium + " --dump-dom '" + url + "' 2>/dev/null");
  INFO(dom);
  CHECK(dom.find("<td>example.com.</td><td>1</td><td>5</td>") != std::string::npos);
  CHECK(dom.find("data-check=\"web-a\" data-state=\"healthy\"") != std::string::npos);
  CHECK(dom.find("data-member=\"192.0.2.10\" data-answering=\"yes\"") != std::string::npos);
  CHECK(dom.find("data-member=\"192.0.2.11\" data-answering=\"no\"") != std::string::npos);
  CHECK(dom.find("cannot reach") == std::string::npos);
  CHECK(dom.find("error 401") == std::string::npos);
  run_capture(chromium + " --screenshot=" + shot + " '" + url + "' 2>/dev/null");
  CHECK(std::filesystem::exists(shot));
  std::printf("status page screenshot: %s\n", shot.c_str());

  // Without the token the page loads but says what is missing, and shows no data.
  const std::string refused = run_capture(chromium + " --dump-dom 'http://127.0.0.1:" + *port + "/' 2>/dev/null");
  CHECK(refused.find("error 401") != std::string::npos);
  CHECK(refused.find("data-check=") == std::string::npos);
}
