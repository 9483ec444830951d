// GET /metrics against the real binary with every role configured (dns with a policy record,
// health checks, the edge): the exposition parses, every family has HELP and TYPE, the families
// served are exactly those the folder READMEs list, and the values move with traffic and health.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "integration/edge_helpers.h"
#include "testlib/exposition.h"

using namespace pharos;
using namespace pharos::edge::itest;
using pharos::test::DnsClient;
using pharos::test::Exposition;

namespace {

// The folders whose README lists metrics, and the components their names may use.
const char* kReadmes[] = {"query", "server", "zone", "health", "policy", "edge", "metrics"};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Setup {
  Edge e;
  Backend web{"web"};
  uint16_t dns_port = 0;
  uint16_t metrics_port = 0;

  Setup() {
    e.certificate("a", "a.test", "DNS:a.test");
    const std::string zone =
        e.dir().write("example.com.zone", read_file(pharos::test::source_dir() + "/zones/example.com.zone"));
    e.start("server:\n  listen: [\"127.0.0.1:0\"]\n  workers: 2\nzones:\n  - origin: example.com\n    file: " + zone +
            "\nmetrics:\n  listen: \"127.0.0.1:0\"\nhealth_checks:\n  web: {type: http, target: \"" + web.address() +
            "\", path: /healthz, interval: 50ms, timeout: 1s, rise: 1, fall: 1}\n"
            "records:\n  - name: web.example.com\n    ttl: 5\n    policy: failover\n    members:\n"
            "      - {value: 192.0.2.10, role: primary, check: web}\n      - {value: 192.0.2.11, role: secondary}\n"
            "edge:\n  workers: 2\n  https:\n    listen: [\"127.0.0.1:0\"]\n    certificates:\n      - live: live/a\n"
            "  routes:\n    - pool: web\n  pools:\n    web:\n      members:\n        - {address: \"" +
            web.address() + "\", check: web}\n");
    auto d = e.process().wait_for_log(R"(listening address=127\.0\.0\.1:(\d+))");
    auto m = e.process().wait_for_log(R"(metrics: listening on 127\.0\.0\.1:(\d+))");
    if (!d || !m) throw std::runtime_error("pharos did not start:\n" + e.log());
    dns_port = static_cast<uint16_t>(std::stoi(*d));
    metrics_port = static_cast<uint16_t>(std::stoi(*m));
  }

  Exposition scrape() {
    auto r = pharos::test::http_get(metrics_port, "/metrics");
    if (!r || r->status != 200) throw std::runtime_error("GET /metrics failed");
    return pharos::test::parse_exposition(r->body);
  }
};

std::string answer(const DnsClient& c, bool tcp = false) {
  auto p = c.query("web.example.com", LDNS_RR_TYPE_A, tcp);
  if (!p) return "lost";
  std::string out;
  for (const auto& line : pharos::test::section(p.get(), LDNS_SECTION_ANSWER)) out += line.substr(line.rfind('\t') + 1);
  return out;
}

}  // namespace

TEST_CASE("metrics: every family has HELP and TYPE and is listed in a README, and the other way round",
          "[integration][metrics]") {
  Setup s;
  auto reply = pharos::test::http_get(s.metrics_port, "/metrics");
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  Exposition x = pharos::test::parse_exposition(reply->body);
  INFO(reply->body);
  for (const auto& err : x.errors) FAIL_CHECK(err);

  std::map<std::string, std::string> listed;  // name -> type, from the READMEs
  for (const char* folder : kReadmes) {
    std::vector<std::string> errors;
    auto names = pharos::test::readme_metrics(read_file(pharos::test::source_dir() + "/src/" + folder + "/README.md"), errors);
    for (const auto& err : errors) FAIL_CHECK("src/" << folder << "/README.md: " << err);
    CHECK_FALSE(names.empty());
    for (const auto& [name, type] : names) {
      if (!listed.emplace(name, type).second) FAIL_CHECK(name << " is listed in two READMEs");
    }
  }
  const std::regex shape("pharos_(dns|server|zone|health|policy|edge|process|build)_[a-z0-9_]+");
  for (const auto& [name, f] : x.families) {
    INFO(name);
    CHECK(std::regex_match(name, shape));
    CHECK_FALSE(f.help.empty());
    CHECK_FALSE(f.type.empty());
    if (f.type == "counter") CHECK(name.ends_with("_total"));
    auto it = listed.find(name);
    if (it == listed.end()) {
      FAIL_CHECK(name << " is served but no README lists it");
    } else {
      CHECK(it->second == f.type);
    }
  }
  for (const auto& [name, type] : listed) {
    if (!x.families.count(name)) FAIL_CHECK(name << " is listed in a README but not served");
  }

  // Only /metrics there, without a token.
  auto other = pharos::test::http_get(s.metrics_port, "/v1/status");
  REQUIRE(other);
  CHECK(other->status == 404);
}

TEST_CASE("metrics: queries, policy answers, health and edge requests move the counters", "[integration][metrics]") {
  Setup s;
  DnsClient dns(s.dns_port);
  REQUIRE(wait_until([&] { return answer(dns) == "192.0.2.10"; }));
  Exposition before = s.scrape();
  REQUIRE(before.value("pharos_health_check_up", {{"check", "web"}}) == 1);
  CHECK(before.value("pharos_build_info") == 1);
  CHECK(before.value("pharos_zone_serial", {{"zone", "example.com."}}) == 2026112201);
  CHECK(before.value("pharos_zone_loads_total", {{"result", "ok"}}) >= 1);
  // The record's id as the metrics name it: the label of its primary's series.
  std::string record;
  for (const auto& smp : before.families.at("pharos_policy_answers_total").samples) {
    if (smp.labels.at("member") == "192.0.2.10") record = smp.labels.at("record");
  }
  REQUIRE_FALSE(record.empty());

  for (int i = 0; i < 5; ++i) CHECK(answer(dns) == "192.0.2.10");
  for (int i = 0; i < 2; ++i) CHECK(answer(dns, true) == "192.0.2.10");
  auto c = s.e.client();
  for (int i = 0; i < 3; ++i) CHECK(backend_of(c->get("a.test", "/")) == "web");

  Exposition after = s.scrape();
  CHECK(after.value("pharos_dns_queries_total", {{"transport", "udp"}}) -
            before.value("pharos_dns_queries_total", {{"transport", "udp"}}) == 5);
  CHECK(after.value("pharos_dns_queries_total", {{"transport", "tcp"}}) -
            before.value("pharos_dns_queries_total", {{"transport", "tcp"}}) == 2);
  CHECK(after.value("pharos_dns_responses_total", {{"rcode", "NOERROR"}}) -
            before.value("pharos_dns_responses_total", {{"rcode", "NOERROR"}}) == 7);
  CHECK(after.value("pharos_dns_queries_by_type_total", {{"type", "A"}}) -
            before.value("pharos_dns_queries_by_type_total", {{"type", "A"}}) == 7);
  CHECK(after.value("pharos_policy_answers_total", {{"record", record}, {"member", "192.0.2.10"}}) -
            before.value("pharos_policy_answers_total", {{"record", record}, {"member", "192.0.2.10"}}) == 7);
  CHECK(after.value("pharos_policy_answers_total", {{"record", record}, {"member", "192.0.2.11"}}) ==
        before.value("pharos_policy_answers_total", {{"record", record}, {"member", "192.0.2.11"}}));
  CHECK(after.value("pharos_edge_requests_total", {{"pool", "web"}, {"status", "2xx"}}) -
            before.value("pharos_edge_requests_total", {{"pool", "web"}, {"status", "2xx"}}) == 3);
  CHECK(after.value("pharos_edge_upstream_duration_seconds_count", {{"pool", "web"}}) -
            before.value("pharos_edge_upstream_duration_seconds_count", {{"pool", "web"}}) == 3);
  CHECK(after.value("pharos_edge_client_requests_total") - before.value("pharos_edge_client_requests_total") == 3);
  CHECK(after.value("pharos_edge_member_up", {{"pool", "web"}}) == 1);
  CHECK(after.value("pharos_health_probes_total", {{"check", "web"}, {"result", "ok"}}) >= 1);
  CHECK(after.value("pharos_health_probe_duration_seconds_count", {{"check", "web"}}) >= 1);

  // The backend's health check fails: the check goes down, the answer fails over.
  s.web.health = 503;
  CHECK(wait_until([&] { return s.scrape().value("pharos_health_check_up", {{"check", "web"}}) == 0; }));
  Exposition down = s.scrape();
  CHECK(down.value("pharos_health_transitions_total", {{"check", "web"}, {"to", "unhealthy"}}) -
            before.value("pharos_health_transitions_total", {{"check", "web"}, {"to", "unhealthy"}}) == 1);
  CHECK(down.value("pharos_health_probes_total", {{"check", "web"}, {"result", "fail"}}) >= 1);
  CHECK(down.value("pharos_edge_member_up", {{"pool", "web"}}) == 0);
  REQUIRE(wait_until([&] { return answer(dns) == "192.0.2.11"; }));
  Exposition failed_over = s.scrape();
  CHECK(failed_over.value("pharos_policy_answers_total", {{"record", record}, {"member", "192.0.2.11"}}) >= 1);
}

TEST_CASE("metrics: answer counts survive a reload, a zone that fails to load is counted", "[integration][metrics]") {
  Setup s;
  DnsClient dns(s.dns_port);
  REQUIRE(wait_until([&] { return answer(dns) == "192.0.2.10"; }));
  for (int i = 0; i < 4; ++i) answer(dns);
  auto count = [&](const Exposition& x) { return x.value("pharos_policy_answers_total", {{"member", "192.0.2.10"}}); };
  const double before = count(s.scrape());
  REQUIRE(before >= 5);
  const size_t from = s.e.process().log_size();
  s.e.process().signal(SIGHUP);
  REQUIRE(s.e.process().wait_for_log("reload: done", 10000ms, from));
  Exposition after = s.scrape();
  CHECK(after.value("pharos_server_reloads_total", {{"result", "ok"}}) == 1);
  CHECK(count(after) == before);  // the old set's counts are kept (the new set is a new block)
  answer(dns);
  CHECK(count(s.scrape()) == before + 1);

  // A broken zone file: the reload fails, the old version keeps serving, both are counted.
  s.e.dir().write("example.com.zone", "$ORIGIN example.com.\n@ IN SOA broken\n");
  REQUIRE(wait_until([&] { return s.scrape().value("pharos_server_reloads_total", {{"result", "error"}}) == 1; }));
  Exposition failed = s.scrape();
  CHECK(failed.value("pharos_zone_loads_total", {{"result", "error"}}) == 1);
  CHECK(failed.value("pharos_zone_serial", {{"zone", "example.com."}}) == 2026112201);
  CHECK(count(failed) == before + 1);
}
