// Policy records through the real query engine (parse, resolve, encode), replies read by ldns:
// a policy record answers instead of the zone's placeholder data; its all-down rules become
// NODATA and SERVFAIL; CNAME policies are chased; ANY does not leak placeholders; ECS is
// validated and echoed with the answer's scope.
#include <catch2/catch.hpp>

#include <set>

#include "unit/policy/policy_fixture.h"
#include "unit/zone_helpers.h"

using namespace pharos;
using namespace pharos::test;
using pharos::policy::test::Fixture;
using health::Health;

namespace {

const std::string kYaml = R"(health_checks:
  a: {type: tcp, target: 192.0.2.10:80}
  b: {type: tcp, target: 192.0.2.11:80}
records:
  - {name: www.example.com, ttl: 30, policy: failover, members: [{value: 192.0.2.10, role: primary, check: a}, {value: 192.0.2.11, role: secondary, check: b}]}
  - {name: lb.example.com, policy: multivalue, all_down: nodata, members: [{value: 192.0.2.20, check: a}]}
  - {name: geo.example.com, policy: cidr, groups: [{cidr: [10.0.0.0/8], members: [192.0.2.8]}, {default: true, members: [192.0.2.99]}]}
  - {name: api.example.com, type: AAAA, policy: weighted, all_down: servfail, members: [{value: "2001:db8::10", check: a}]}
  - {name: fresh.example.com, type: CNAME, policy: failover, members: [{value: www.example.com., tier: 0, check: b}, {value: api.example.com., tier: 1}]}
  - {name: "*.wild.example.com", policy: simple, members: [192.0.2.77]}
)";

struct PolicyEngine {
  Fixture f{kYaml};
  Engine e{{}};
  PolicyEngine() {
    for (const auto& e : f.errors) UNSCOPED_INFO(e);
    REQUIRE(f.errors.empty());
    e.snapshot().zones = f.zones();
    e.snapshot().policies = f.set;
    e.snapshot().health = f.view;
  }
  // Standings as the publisher computes them, from the view the test has set.
  void publish() {
    auto& snap = e.snapshot();
    const health::HealthView* v = snap.health && snap.health->registry == snap.policies->registry() ? snap.health.get() : nullptr;
    snap.standings = std::make_shared<const policy::Standings>(*snap.policies, v);
  }
  Packet ask(const std::string& name, uint16_t type, const QueryOptions& o = {}) {
    publish();
    return e.ask(name, type, query::Transport::Udp, o);
  }
};

std::vector<std::string> answer(const Packet& p) { return section(p.get(), LDNS_SECTION_ANSWER); }

}  // namespace

TEST_CASE("policy answers: the record's choice replaces the zone's placeholder, with its TTL", "[query][policy]") {
  PolicyEngine t;
  auto p = t.ask("www.example.com", LDNS_RR_TYPE_A);
  CHECK(rcode_name(p.get()) == "NOERROR");
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(answer(p) == std::vector<std::string>{"www.example.com.\t30\tin\ta\t192.0.2.10"});
  t.f.state("a", Health::Unhealthy);
  CHECK(answer(t.ask("www.example.com", LDNS_RR_TYPE_A)) ==
        std::vector<std::string>{"www.example.com.\t30\tin\ta\t192.0.2.11"});
  // Other types at the name still answer from the zone.
  auto aaaa = t.ask("www.example.com", LDNS_RR_TYPE_AAAA);
  CHECK(answer(aaaa).empty());
  CHECK(section(aaaa.get(), LDNS_SECTION_AUTHORITY).size() == 1);
}

TEST_CASE("policy answers: all down as nodata is NODATA with the SOA, as servfail is SERVFAIL", "[query][policy]") {
  PolicyEngine t;
  t.f.state("a", Health::Unhealthy);
  auto p = t.ask("lb.example.com", LDNS_RR_TYPE_A);
  CHECK(rcode_name(p.get()) == "NOERROR");
  CHECK(answer(p).empty());
  REQUIRE(section(p.get(), LDNS_SECTION_AUTHORITY).size() == 1);
  CHECK(section(p.get(), LDNS_SECTION_AUTHORITY)[0].find("soa") != std::string::npos);
  auto s = t.ask("api.example.com", LDNS_RR_TYPE_AAAA);
  CHECK(rcode_name(s.get()) == "SERVFAIL");
  CHECK(answer(s).empty());
  CHECK_FALSE(ldns_pkt_aa(s.get()));
}

TEST_CASE("policy answers: a CNAME policy is chased to the chosen target", "[query][policy]") {
  PolicyEngine t;
  auto p = t.ask("fresh.example.com", LDNS_RR_TYPE_A);
  CHECK(answer(p) == std::vector<std::string>{"fresh.example.com.\t60\tin\tcname\twww.example.com.",
                                              "www.example.com.\t30\tin\ta\t192.0.2.10"});
  t.f.state("b", Health::Unhealthy);
  auto q = t.ask("fresh.example.com", LDNS_RR_TYPE_AAAA);
  CHECK(answer(q) == std::vector<std::string>{"api.example.com.\t60\tin\taaaa\t2001:db8::10",
                                              "fresh.example.com.\t60\tin\tcname\tapi.example.com."});
  // The zone's placeholder CNAME is not answered: the policy owns the name.
  auto cname = t.ask("fresh.example.com", LDNS_RR_TYPE_CNAME);
  CHECK(answer(cname) == std::vector<std::string>{"fresh.example.com.\t60\tin\tcname\tapi.example.com."});
}

TEST_CASE("policy answers: a wildcard policy answers every name under it", "[query][policy]") {
  PolicyEngine t;
  CHECK(answer(t.ask("x.wild.example.com", LDNS_RR_TYPE_A)) ==
        std::vector<std::string>{"x.wild.example.com.\t60\tin\ta\t192.0.2.77"});
}

TEST_CASE("policy answers: ANY shows the policy's choice, never the placeholder", "[query][policy]") {
  PolicyEngine t;
  auto p = t.ask("www.example.com", LDNS_RR_TYPE_ANY);
  CHECK(answer(p) == std::vector<std::string>{"www.example.com.\t30\tin\ta\t192.0.2.10"});
  t.f.state("a", Health::Unhealthy);
  auto n = t.ask("lb.example.com", LDNS_RR_TYPE_ANY);
  CHECK(answer(n).empty());
  CHECK(section(n.get(), LDNS_SECTION_AUTHORITY).size() == 1);
}

TEST_CASE("policy answers: ECS chooses the group and comes back with its scope", "[query][policy]") {
  PolicyEngine t;
  QueryOptions o;
  o.ecs = ecs_option("10.1.2.0", 24);
  auto p = t.ask("geo.example.com", LDNS_RR_TYPE_A, o);
  CHECK(answer(p) == std::vector<std::string>{"geo.example.com.\t60\tin\ta\t192.0.2.8"});
  auto echo = edns_option(p.get(), 8);
  REQUIRE(echo.size() == 7);
  CHECK(echo[2] == 24);  // source as sent
  CHECK(echo[3] == 8);   // scope: 10/8 decided it
  CHECK(echo[4] == 10);
  // A name whose answer does not depend on the client: scope 0.
  auto w = t.ask("www.example.com", LDNS_RR_TYPE_A, o);
  echo = edns_option(w.get(), 8);
  REQUIRE(echo.size() == 7);
  CHECK(echo[3] == 0);
  // Elsewhere: the default group.
  o.ecs = ecs_option("192.0.2.0", 24);
  CHECK(answer(t.ask("geo.example.com", LDNS_RR_TYPE_A, o)) ==
        std::vector<std::string>{"geo.example.com.\t60\tin\ta\t192.0.2.99"});
  // A malformed option: FORMERR without an OPT.
  o.ecs = {0, 1, 24, 5, 10, 1, 2};
  auto bad = t.ask("geo.example.com", LDNS_RR_TYPE_A, o);
  CHECK(rcode_name(bad.get()) == "FORMERR");
}

TEST_CASE("policy answers: without ECS the query's source address chooses", "[query][policy]") {
  PolicyEngine t;
  auto q = make_query("geo.example.com", LDNS_RR_TYPE_A);
  std::vector<uint8_t> out(65535);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  inet_pton(AF_INET, "10.20.30.40", &peer.sin_addr);
  t.publish();
  size_t n = t.e.processor().process(t.e.snapshot(), q.data(), q.size(), out.data(), out.size(), query::Transport::Udp,
                                     reinterpret_cast<const sockaddr*>(&peer));
  out.resize(n);
  CHECK(answer(parse(out)) == std::vector<std::string>{"geo.example.com.\t60\tin\ta\t192.0.2.8"});
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:10.1.1.1", &mapped.sin6_addr);
  out.assign(65535, 0);
  n = t.e.processor().process(t.e.snapshot(), q.data(), q.size(), out.data(), out.size(), query::Transport::Udp,
                              reinterpret_cast<const sockaddr*>(&mapped));
  out.resize(n);
  CHECK(answer(parse(out)) == std::vector<std::string>{"geo.example.com.\t60\tin\ta\t192.0.2.8"});
}

TEST_CASE("policy answers: a view of another registry is not used (cold start rules)", "[query][policy]") {
  PolicyEngine t;
  auto stale = std::make_shared<health::HealthView>(*t.f.view);
  stale->registry = 3;
  t.e.snapshot().health = stale;
  // Without a usable view, checked members count as down: failover fails open to the primary,
  // and the nodata record says NODATA.
  CHECK(answer(t.ask("www.example.com", LDNS_RR_TYPE_A)) ==
        std::vector<std::string>{"www.example.com.\t30\tin\ta\t192.0.2.10"});
  CHECK(answer(t.ask("lb.example.com", LDNS_RR_TYPE_A)).empty());
}
