// The health_checks, records and control sections: every knob, and every error with its line.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "unit/config/config_test_util.h"

using namespace pharos::config;
using namespace pharos::config::test;
using namespace std::chrono_literals;

namespace {
const std::string kZones = "zones:\n  - origin: example.com\n    file: example.com.zone\n";
}  // namespace

TEST_CASE("health config: every knob of an https check", "[config]") {
  TempDir t;
  t.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  auto r = t.load(kZones + R"(health_checks:
  web-a:
    type: https
    target: 192.0.2.10:8443
    host: www.example.com
    path: /healthz
    method: HEAD
    headers: {X-Probe: pharos}
    expect_status: [200, 300-302]
    expect_body: ok
    body_limit: 100
    tls_verify: false
    ca_file: ca.pem
    interval: 250ms
    fast_interval: 50ms
    jitter: 20%
    timeout: 100ms
    rise: 1
    fall: 2
    inverted: yes
    disabled: no
)");
  REQUIRE(r.ok());
  REQUIRE(r->health_checks.size() == 1);
  const HealthCheck& c = r->health_checks[0];
  CHECK(c.name == "web-a");
  CHECK(c.type == CheckType::Https);
  CHECK(c.target.address == "192.0.2.10");
  CHECK(c.target.port == 8443);
  CHECK(c.host == "www.example.com");
  CHECK(c.path == "/healthz");
  CHECK(c.method == "HEAD");
  CHECK(c.headers == std::vector<std::pair<std::string, std::string>>{{"X-Probe", "pharos"}});
  CHECK(c.expect_status == std::vector<StatusRange>{{200, 200}, {300, 302}});
  CHECK(c.expect_body == "ok");
  CHECK(c.body_limit == 100);
  CHECK_FALSE(c.tls_verify);
  CHECK(c.ca_file == (t.path() / "ca.pem").string());
  CHECK(c.interval == 250ms);
  CHECK(c.fast_interval == 50ms);
  CHECK(c.jitter == Approx(0.2));
  CHECK(c.timeout == 100ms);
  CHECK(c.rise == 1);
  CHECK(c.fall == 2);
  CHECK(c.inverted);
  CHECK_FALSE(c.disabled);
  CHECK(c.line == 5);
}

TEST_CASE("health config: defaults, default ports, dns and calculated checks", "[config]") {
  TempDir t;
  auto r = t.load(kZones + R"(health_checks:
  b-http: {type: http, target: 192.0.2.1}
  a-dns: {type: dns, target: "[2001:db8::53]", query: {name: www.example.com, type: AAAA}, expect_rcode: NXDOMAIN,
          expect_answer: "2001:db8::1"}
  c-any: {type: calculated, children: [a-dns, b-http]}
  d-all: {type: calculated, children: [a-dns, b-http], min_healthy: all}
)");
  REQUIRE(r.ok());
  const auto& cs = r->health_checks;
  REQUIRE(cs.size() == 4);
  CHECK(cs[0].name == "a-dns");  // sorted by name
  CHECK(cs[0].target.port == 53);
  CHECK(cs[0].query_name == "www.example.com.");
  CHECK(cs[0].query_type == 28);
  CHECK(cs[0].expect_rcode == 3);
  CHECK(cs[1].target.port == 80);
  CHECK(cs[1].interval == 1000ms);
  CHECK(cs[1].timeout == 500ms);
  CHECK(cs[1].rise == 2);
  CHECK(cs[1].fall == 3);
  CHECK(cs[1].expect_status == std::vector<StatusRange>{{200, 399}});
  CHECK(cs[1].body_limit == 5120);
  CHECK(cs[2].min_healthy == 1);
  CHECK(cs[3].min_healthy == 2);
}

TEST_CASE("health config: errors name the line and the reason", "[config]") {
  TempDir t;
  auto err = [&](const std::string& checks) { return error_of(t.load(kZones + "health_checks:\n" + checks)); };
  CHECK(err("  a: {target: 192.0.2.1:80}\n") == t.at(5, "health_checks.a: needs a \"type\" (tcp, http, https, dns or calculated)"));
  CHECK(err("  a: {type: ftp, target: 192.0.2.1:21}\n") ==
        t.at(5, "health_checks.a.type: unknown type \"ftp\" (known: tcp, http, https, dns, calculated)"));
  CHECK(err("  a: {type: tcp}\n") == t.at(5, "health_checks.a: needs a \"target\" (address:port)"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1}\n") ==
        t.at(5, "health_checks.a.target: invalid target \"192.0.2.1\" (expected \"address:port\" with a numeric address)"));
  CHECK(err("  a: {type: http, target: web.example.com:80}\n") ==
        t.at(5, "health_checks.a.target: invalid target \"web.example.com:80\" (expected \"address[:port]\" with a numeric address)"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80, path: /x}\n") == t.at(5, "health_checks.a.path: only applies to http and https checks"));
  CHECK(err("  a: {type: http, target: 192.0.2.1, path: x}\n") == t.at(5, "health_checks.a.path: must start with '/'"));
  CHECK(err("  a: {type: http, target: 192.0.2.1, expect_status: 2xx}\n") ==
        t.at(5, "health_checks.a.expect_status: expected a status or range such as 200 or 200-399 (100..599), got \"2xx\""));
  CHECK(err("  a: {type: http, target: 192.0.2.1, tls_verify: false}\n") ==
        t.at(5, "health_checks.a.tls_verify: only applies to https checks"));
  CHECK(err("  a: {type: https, target: 192.0.2.1, ca_file: missing.pem}\n") ==
        t.at(5, "health_checks.a.ca_file: cannot read \"" + (t.path() / "missing.pem").string() + "\""));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80, interval: 5ms}\n") == t.at(5, "health_checks.a.interval: must be at least 10ms"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80, interval: 1s, fast_interval: 2s}\n") ==
        t.at(5, "health_checks.a: fast_interval is longer than interval"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80, jitter: 90%}\n") ==
        t.at(5, "health_checks.a.jitter: expected a fraction of the interval from 0 to 50%, such as 10% or 0.1"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80, fall: 0}\n") == t.at(5, "health_checks.a.fall: 0 is out of range 1..100"));
  CHECK(err("  a: {type: dns, target: 192.0.2.53}\n") == t.at(5, "health_checks.a: a dns check needs query: {name: ..., type: ...}"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80}\n  a: {type: tcp, target: 192.0.2.1:81}\n") ==
        t.at(6, "health_checks: duplicate check \"a\" (first at line 5)"));
  CHECK(err("  a: {type: calculated}\n") == t.at(5, "health_checks.a: a calculated check needs \"children\""));
  CHECK(err("  a: {type: calculated, children: [b]}\n") == t.at(5, "health_checks.a: unknown child check \"b\""));
  CHECK(err("  a: {type: calculated, children: [b]}\n  b: {type: calculated, children: [a]}\n") ==
        t.at(6, "health_checks.b: calculated checks form a cycle through \"a\""));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80}\n  c: {type: calculated, children: [a], min_healthy: 2}\n") ==
        t.at(6, "health_checks.c.min_healthy: 2 is more than its 1 children"));
  CHECK(err("  a: {type: calculated, children: [x], interval: 1s}\n") ==
        t.at(5, "health_checks.a.interval: only applies to probed (not calculated) checks"));
  CHECK(err("  a: {type: tcp, target: 192.0.2.1:80, colour: red}\n")
            .find(":5: unknown key \"colour\" in health_checks.a (known: type, target,") != std::string::npos);
}

TEST_CASE("records config: every policy and its knobs", "[config]") {
  TempDir t;
  auto r = t.load(kZones + R"(health_checks:
  web-a: {type: tcp, target: 192.0.2.10:80}
  web-b: {type: tcp, target: 192.0.2.11:80}
records:
  - name: www.example.com
    type: A
    ttl: 30
    policy: failover
    members:
      - {value: 192.0.2.10, role: primary, check: web-a}
      - {value: 192.0.2.11, tier: 1, check: web-b}
  - name: api.example.com
    type: AAAA
    policy: weighted
    count: 2
    all_down: fallback
    fallback: ["2001:db8::ff"]
    members:
      - {value: "2001:db8::1", weight: 3, check: web-a}
      - {value: "2001:db8::2", weight: 0}
      - "2001:db8::3"
  - id: pool
    policy: multivalue
    max_answers: 2
    all_down: servfail
    members: [192.0.2.1, 192.0.2.2, 192.0.2.3]
  - name: geo.example.com
    policy: cidr
    groups:
      - {cidr: [10.0.0.0/8, "2001:db8::/32"], members: [{record: pool}]}
      - {default: true, members: [192.0.2.99]}
  - name: alias.example.com
    type: CNAME
    policy: weighted
    members: [{value: www.example.com., weight: 1}, {value: api.example.com., weight: 2}]
)");
  REQUIRE(r.ok());
  const auto& rs = r->records;
  REQUIRE(rs.size() == 5);
  CHECK(rs[0].name == "www.example.com.");
  CHECK(rs[0].id == "www.example.com. A");
  CHECK(rs[0].ttl == 30);
  CHECK(rs[0].policy == Policy::Failover);
  CHECK(rs[0].members[0].tier == 0);
  CHECK(rs[0].members[1].tier == 1);
  CHECK(rs[0].members[1].check == "web-b");
  CHECK(rs[1].type == 28);
  CHECK(rs[1].count == 2);
  CHECK(rs[1].all_down == AllDown::Fallback);
  CHECK(rs[1].fallback == std::vector<std::string>{"2001:db8::ff"});
  CHECK(rs[1].members[0].weight == 3);
  CHECK(rs[1].members[1].weight == 0);
  CHECK(rs[1].members[2].weight == 1);
  CHECK(rs[1].members[2].value == "2001:db8::3");
  CHECK(rs[2].id == "pool");
  CHECK(rs[2].name.empty());
  CHECK(rs[2].max_answers == 2);
  CHECK(rs[2].all_down == AllDown::ServFail);
  CHECK(rs[3].policy == Policy::Cidr);
  REQUIRE(rs[3].groups.size() == 2);
  CHECK(rs[3].groups[0].prefixes.size() == 2);
  CHECK(rs[3].groups[0].prefixes[1].v6);
  CHECK(rs[3].groups[0].prefixes[1].len == 32);
  CHECK(rs[3].groups[0].members[0].record == "pool");
  CHECK(rs[3].groups[1].is_default);
  CHECK(rs[4].type == 5);
  CHECK(r->warnings.empty());
}

TEST_CASE("records config: errors name the line and the reason", "[config]") {
  TempDir t;
  const std::string checks = "health_checks:\n  web: {type: tcp, target: 192.0.2.1:80}\n";  // lines 4-5
  auto err = [&](const std::string& records) { return error_of(t.load(kZones + checks + "records:\n" + records)); };
  CHECK(err("  - {type: A, members: [192.0.2.1]}\n") ==
        t.at(7, "records[0]: needs a name (or an id, for a pool used by other records)"));
  CHECK(err("  - {name: www.example.com, members: [not-an-address]}\n")
            .find(":7: records[0].members[0].value: \"not-an-address\" is not valid A data:") != std::string::npos);
  CHECK(err("  - {name: www.example.com, type: SOA, members: [x]}\n") ==
        t.at(7, "records[0].type: SOA cannot be a policy record"));
  CHECK(err("  - {name: www.example.com, policy: random, members: [192.0.2.1]}\n") ==
        t.at(7, "records[0].policy: unknown policy \"random\" (known: simple, weighted, failover, multivalue, cidr)"));
  CHECK(err("  - {name: www.example.com, policy: failover, members: [192.0.2.1]}\n") ==
        t.at(7, "records[0].members[0]: a failover member needs a tier or role"));
  CHECK(err("  - {name: www.example.com, members: [{value: 192.0.2.1, weight: 2}]}\n") ==
        t.at(7, "records[0].members[0].weight: only applies to weighted records"));
  CHECK(err("  - {name: www.example.com, policy: weighted, members: [{value: 192.0.2.1, weight: 256}]}\n") ==
        t.at(7, "records[0].members[0].weight: 256 is out of range 0..255"));
  CHECK(err("  - {name: www.example.com, members: [{value: 192.0.2.1, check: nope}]}\n") ==
        t.at(7, "records www.example.com. A: unknown check \"nope\""));
  CHECK(err("  - {name: www.example.com, members: [{record: nope}]}\n") ==
        t.at(7, "records www.example.com. A: unknown record \"nope\""));
  CHECK(err("  - {name: www.example.com, members: [{value: 192.0.2.1, record: x}]}\n") ==
        t.at(7, "records[0].members[0]: give exactly one of value and record"));
  CHECK(err("  - {name: www.example.com, all_down: fallback, members: [192.0.2.1]}\n") ==
        t.at(7, "records[0]: all_down: fallback needs fallback values"));
  CHECK(err("  - {name: www.example.com, members: [192.0.2.1]}\n  - {name: www.example.com, members: [192.0.2.2]}\n") ==
        t.at(8, "records: duplicate id \"www.example.com. A\" (first at line 7)"));
  CHECK(err("  - {id: a, members: [{record: b}]}\n  - {id: b, members: [{record: a}]}\n") ==
        t.at(8, "records b: nesting forms a cycle through \"a\""));
  CHECK(err("  - {id: a, type: AAAA, members: [\"2001:db8::1\"]}\n  - {name: www.example.com, members: [{record: a}]}\n") ==
        t.at(8, "records www.example.com. A: nested record \"a\" is of type AAAA, not A"));
  CHECK(err("  - {name: www.example.com, policy: cidr, groups: [{cidr: 10.0.0.1/8, members: [192.0.2.1]}]}\n") ==
        t.at(7, "records[0].groups[0].cidr: \"10.0.0.1/8\": host bits are set (did you mean 10.0.0.1/8 with the host part zero?)"));
  CHECK(err("  - {name: www.example.com, policy: cidr, groups: [{default: true, members: [192.0.2.1]}, "
            "{default: true, members: [192.0.2.2]}]}\n") ==
        t.at(7, "records[0].groups[1]: a second default group (first at line 7)"));
  CHECK(err("  - {name: alias.example.com, type: CNAME, policy: multivalue, members: [a.example.com., b.example.com.]}\n") ==
        t.at(7, "records[0]: a CNAME record answers one value; set max_answers: 1"));
  CHECK(err("  - {name: www.example.com, policy: weighted, count: 3, members: [192.0.2.1, 192.0.2.2]}\n") ==
        t.at(7, "records[0].count: 3 is more than the 2 members"));
  // A pool nobody uses is only a warning.
  auto w = t.load(kZones + "records:\n  - {id: unused, members: [192.0.2.1]}\n");
  REQUIRE(w.ok());
  REQUIRE(w->warnings.size() == 1);
  CHECK(w->warnings[0] == t.at(5, "record \"unused\" has no name and no record uses it"));
}

TEST_CASE("control config: listen, socket, token", "[config]") {
  TempDir t;
  auto r = t.load(kZones + "control:\n  listen: 127.0.0.1:8053\n  socket: run/pharos.sock\n");
  REQUIRE(r.ok());
  CHECK(r->control.has_listen);
  CHECK(r->control.listen.port == 8053);
  CHECK(r->control.socket == (t.path() / "run/pharos.sock").string());
  CHECK(error_of(t.load(kZones + "control:\n  listen: 0.0.0.0:8053\n")) ==
        t.at(5, "control.listen: 0.0.0.0:8053 is not a loopback address; set control.token"));
  CHECK(error_of(t.load(kZones + "control:\n  listen: 0.0.0.0:8053\n  token: short\n")) ==
        t.at(6, "control.token: use at least 16 characters"));
  CHECK(t.load(kZones + "control:\n  listen: 0.0.0.0:8053\n  token: 0123456789abcdef0123\n").ok());
}
