// Every policy rule, table-driven, with an injected random source: simple, weighted, failover,
// multivalue, cidr (with ECS scope), nesting, the all-down rules, overrides, and cold start.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "unit/policy/policy_fixture.h"

using namespace pharos;
using namespace pharos::policy;
using namespace pharos::policy::test;
using health::Health;
using health::Override;
using Outcome = Selection::Outcome;

namespace {

constexpr Health U = Health::Healthy;
constexpr Health D = Health::Unhealthy;
constexpr Health Q = Health::Unknown;

const std::string kChecks = R"(health_checks:
  a: {type: tcp, target: 192.0.2.10:80}
  b: {type: tcp, target: 192.0.2.11:80}
  c: {type: tcp, target: 192.0.2.12:80}
  d: {type: tcp, target: 192.0.2.13:80}
)";

// How often each value is answered over `n` draws.
std::map<std::string, int> histogram(const Fixture& f, const std::string& id, int n, uint64_t seed = 42) {
  Rng rng(seed);
  std::map<std::string, int> h;
  for (int i = 0; i < n; ++i) {
    for (const auto& v : f.pick(id, rng).values) ++h[v];
  }
  return h;
}

}  // namespace

TEST_CASE("policy set: a record needs its name in a zone, without CNAME conflicts", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: nowhere.example.org, members: [192.0.2.1]}
  - {name: missing.example.com, members: [192.0.2.1]}
  - {name: alias.example.com, members: [192.0.2.1]}
  - {name: www.example.com, type: CNAME, members: [other.example.com.]}
  - {name: www.example.com, members: [192.0.2.1, 192.0.2.2]}
)");
  REQUIRE(f.errors.size() == 4);
  CHECK_THAT(f.errors[0], Catch::Contains(":10: record nowhere.example.org. A: no zone serves nowhere.example.org."));
  CHECK_THAT(f.errors[1], Catch::Contains(":11: record missing.example.com. A: zone example.com. ("));
  CHECK_THAT(f.errors[1], Catch::Contains("has no name missing.example.com."));
  CHECK_THAT(f.errors[2], Catch::Contains(":12: record alias.example.com. A: alias.example.com. has a CNAME"));
  CHECK_THAT(f.errors[3], Catch::Contains(":13: record www.example.com. CNAME: www.example.com. has other data"));
  // The good one is served; the broken ones are not.
  CHECK(f.pick("www.example.com. A").sorted() == "192.0.2.1 192.0.2.2");
}

TEST_CASE("policy simple: every value, whatever the health", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: simple, ttl: 20, members: [{value: 192.0.2.10, check: a}, 192.0.2.11]}
)");
  REQUIRE(f.errors.empty());
  for (Health h : {U, D, Q}) {
    f.state("a", h);
    auto p = f.pick("www.example.com. A");
    CHECK(p.outcome == Outcome::Answer);
    CHECK(p.sorted() == "192.0.2.10 192.0.2.11");
    CHECK(p.ttl == 20);
  }
}

TEST_CASE("policy weighted: probability weight / sum over the healthy members", "[policy]") {
  Fixture f(kChecks + R"(records:
  - name: www.example.com
    policy: weighted
    members:
      - {value: 192.0.2.10, weight: 1, check: a}
      - {value: 192.0.2.11, weight: 3, check: b}
      - {value: 192.0.2.12, weight: 0, check: c}
      - {value: 192.0.2.13, weight: 0, check: d}
)");
  REQUIRE(f.errors.empty());
  const int n = 20000;
  SECTION("all healthy: 1:3, weight 0 never") {
    auto h = histogram(f, "www.example.com. A", n);
    CHECK(h["192.0.2.10"] + h["192.0.2.11"] == n);
    CHECK(h.count("192.0.2.12") == 0);
    CHECK(h["192.0.2.10"] == Approx(n / 4.0).epsilon(0.05));
    CHECK(h["192.0.2.11"] == Approx(3 * n / 4.0).epsilon(0.05));
  }
  SECTION("an unhealthy member gets nothing") {
    f.state("b", D);
    auto h = histogram(f, "www.example.com. A", 1000);
    CHECK(h == std::map<std::string, int>{{"192.0.2.10", 1000}});
  }
  SECTION("weight 0 only when every weighted member is down, then equally") {
    f.states({{"a", D}, {"b", Q}});
    auto h = histogram(f, "www.example.com. A", n);
    CHECK(h.size() == 2);
    CHECK(h["192.0.2.12"] == Approx(n / 2.0).epsilon(0.05));
    CHECK(h["192.0.2.13"] == Approx(n / 2.0).epsilon(0.05));
  }
  SECTION("everything down: fail open, as if all were healthy (weights again)") {
    f.states({{"a", D}, {"b", D}, {"c", D}, {"d", D}});
    auto h = histogram(f, "www.example.com. A", n);
    CHECK(h.count("192.0.2.12") == 0);
    CHECK(h["192.0.2.11"] == Approx(3 * n / 4.0).epsilon(0.05));
  }
}

TEST_CASE("policy weighted: all weights 0 share equally, and count answers distinct members", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: weighted, members: [{value: 192.0.2.10, weight: 0}, {value: 192.0.2.11, weight: 0}, {value: 192.0.2.12, weight: 0}]}
  - {name: lb.example.com, policy: weighted, count: 2, members: [{value: 192.0.2.20, weight: 5}, {value: 192.0.2.21, weight: 1}, {value: 192.0.2.22, weight: 1, check: a}]}
)");
  REQUIRE(f.errors.empty());
  auto h = histogram(f, "www.example.com. A", 30000);
  REQUIRE(h.size() == 3);
  for (const auto& [v, count] : h) CHECK(count == Approx(10000).epsilon(0.05));
  Rng rng(3);
  for (int i = 0; i < 200; ++i) {
    auto p = f.pick("lb.example.com. A", rng);
    REQUIRE(p.values.size() == 2);
    CHECK(p.values[0] != p.values[1]);
  }
  f.state("a", D);
  for (int i = 0; i < 50; ++i) CHECK(f.pick("lb.example.com. A", rng).sorted() == "192.0.2.20 192.0.2.21");
}

TEST_CASE("policy failover: the first tier with a healthy member answers", "[policy]") {
  Fixture f(kChecks + R"(records:
  - name: www.example.com
    policy: failover
    members:
      - {value: 192.0.2.10, role: primary, check: a}
      - {value: 192.0.2.11, role: primary, check: b}
      - {value: 198.51.100.10, role: secondary, check: c}
      - {value: 203.0.113.10, tier: 2, check: d}
)");
  REQUIRE(f.errors.empty());
  struct Row {
    Health a, b, c, d;
    const char* expect;
  };
  const Row rows[] = {
      {U, U, U, U, "192.0.2.10 192.0.2.11"},
      {D, U, U, U, "192.0.2.11"},
      {D, D, U, U, "198.51.100.10"},
      {Q, Q, U, U, "198.51.100.10"},  // no verdict yet counts as down
      {D, D, D, U, "203.0.113.10"},
      {D, D, D, D, "192.0.2.10 192.0.2.11"},  // all down: fail open answers the primary tier
      {D, U, D, U, "192.0.2.11"},
  };
  for (const Row& r : rows) {
    f.states({{"a", r.a}, {"b", r.b}, {"c", r.c}, {"d", r.d}});
    INFO("a=" << int(r.a) << " b=" << int(r.b) << " c=" << int(r.c) << " d=" << int(r.d));
    CHECK(f.pick("www.example.com. A").sorted() == r.expect);
  }
}

TEST_CASE("policy multivalue: up to max_answers healthy members, a different subset per query", "[policy]") {
  std::string members;
  for (int i = 1; i <= 12; ++i) members += std::string(i > 1 ? ", " : "") + "{value: 192.0.2." + std::to_string(i) + (i <= 2 ? ", check: a" : "") + "}";
  Fixture f(kChecks + "records:\n  - {name: www.example.com, policy: multivalue, members: [" + members +
            "]}\n  - {name: lb.example.com, policy: multivalue, max_answers: 2, members: [{value: 192.0.2.30, check: a}, {value: 192.0.2.31, check: b}, {value: 192.0.2.32, check: c}]}\n");
  REQUIRE(f.errors.empty());
  Rng rng(9);
  std::set<std::string> subsets;
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) {
    auto p = f.pick("www.example.com. A", rng);
    REQUIRE(p.values.size() == 8);
    subsets.insert(p.sorted());
    for (const auto& v : p.values) ++seen[v];
  }
  CHECK(subsets.size() > 100);
  CHECK(seen.size() == 12);  // everyone gets its turn
  f.state("a", D);
  for (int i = 0; i < 100; ++i) {
    auto p = f.pick("www.example.com. A", rng);
    CHECK(p.values.size() == 8);
    CHECK(p.sorted().find("192.0.2.1 ") == std::string::npos);
    CHECK(p.sorted().find("192.0.2.2 ") == std::string::npos);
  }
  f.states({{"b", D}, {"c", U}});
  CHECK(f.pick("lb.example.com. A", rng).sorted() == "192.0.2.32");
  f.states({{"a", U}});
  CHECK(f.pick("lb.example.com. A", rng).values.size() == 2);
  // All down: up to max_answers of the unhealthy ones, as Route 53 does.
  f.states({{"a", D}, {"b", D}, {"c", D}});
  CHECK(f.pick("lb.example.com. A", rng).values.size() == 2);
}

TEST_CASE("policy cidr: longest prefix picks the group, else the default, with the ECS scope", "[policy]") {
  Fixture f(kChecks + R"(records:
  - name: geo.example.com
    policy: cidr
    groups:
      - {cidr: [10.0.0.0/8], members: [192.0.2.8]}
      - {cidr: [10.1.0.0/16, "2001:db8::/32"], members: [{value: 192.0.2.16, check: a}]}
      - {cidr: [10.1.2.0/24], members: [192.0.2.24]}
      - {default: true, members: [192.0.2.99]}
)");
  REQUIRE(f.errors.empty());
  struct Row {
    Client client;
    const char* expect;
    int scope;
  };
  const Row rows[] = {
      {client_v4("10.9.9.9"), "192.0.2.8", 0},
      {client_v4("10.1.9.9"), "192.0.2.16", 0},
      {client_v4("10.1.2.3"), "192.0.2.24", 0},
      {client_v4("192.0.2.200"), "192.0.2.99", 0},
      {client_v6("2001:db8:1::1"), "192.0.2.16", 0},
      {client_v6("2001:db9::1"), "192.0.2.99", 0},
      {Client{}, "192.0.2.99", 0},  // unknown client: the default group
      // ECS: the subnet decides, and the scope says how much of it did.
      {client_v4("10.9.0.0", 16, true), "192.0.2.8", 13},  // 10.9 leaves the path of 10.1 at bit 12
      {client_v4("10.1.2.0", 24, true), "192.0.2.24", 24},
      {client_v4("10.1.0.0", 16, true), "192.0.2.16", 17},  // more specific 10.1.2/24 lies below: scope > source
      {client_v4("10.0.0.0", 8, true), "192.0.2.8", 9},
      {client_v4("0.0.0.0", 0, true), "192.0.2.99", 1},
  };
  for (const Row& r : rows) {
    INFO("row expecting " << r.expect << " scope " << r.scope);
    Rng rng(1);
    auto p = f.pick("geo.example.com. A", rng, r.client);
    CHECK(p.sorted() == r.expect);
    CHECK(int(p.scope) == r.scope);
    CHECK(p.group != kNone);
  }
  // The group answered from, for explain: 10.1.2.3 lies in the third group.
  {
    Rng rng(1);
    CHECK(f.pick("geo.example.com. A", rng, client_v4("10.1.2.3")).group == 2);
  }
  // The matched group all down: the default group answers.
  f.state("a", D);
  Rng rng(1);
  CHECK(f.pick("geo.example.com. A", rng, client_v4("10.1.9.9")).sorted() == "192.0.2.99");
}

TEST_CASE("policy nesting: failover between two weighted groups, healthy while any member is", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {id: blue, policy: weighted, members: [{value: 192.0.2.10, check: a}, {value: 192.0.2.11, check: b}]}
  - {id: green, policy: weighted, members: [{value: 198.51.100.10, check: c}, {value: 198.51.100.11, check: d}]}
  - name: www.example.com
    policy: failover
    members:
      - {record: blue, role: primary}
      - {record: green, role: secondary}
)");
  REQUIRE(f.errors.empty());
  struct Row {
    Health a, b, c, d;
    std::set<std::string> allowed;
  };
  const Row rows[] = {
      {U, U, U, U, {"192.0.2.10", "192.0.2.11"}},
      {D, U, U, U, {"192.0.2.11"}},
      {D, D, U, U, {"198.51.100.10", "198.51.100.11"}},
      {D, D, U, D, {"198.51.100.10"}},
      {D, D, D, D, {"192.0.2.10", "192.0.2.11"}},  // all down: fail open, primary group
  };
  for (const Row& r : rows) {
    f.states({{"a", r.a}, {"b", r.b}, {"c", r.c}, {"d", r.d}});
    Rng rng(5);
    std::set<std::string> got;
    for (int i = 0; i < 100; ++i) {
      auto p = f.pick("www.example.com. A", rng);
      REQUIRE(p.values.size() == 1);
      got.insert(p.values[0]);
    }
    CHECK(got == r.allowed);
  }
  // A nested choice names the nested record's member.
  {
    f.states({{"a", D}, {"b", D}, {"c", U}, {"d", D}});
    const Record& green = f.record("green");
    auto p = f.pick("www.example.com. A");
    REQUIRE(p.members.size() == 1);
    CHECK(p.members[0] == green.first);
  }
  // standing() of a nested member follows its group.
  f.states({{"a", D}, {"b", D}, {"c", U}});
  const Record& www = f.record("www.example.com. A");
  CHECK(standing(*f.set, f.set->member(www.first), f.view.get()) == Standing::Unhealthy);
  CHECK(standing(*f.set, f.set->member(www.first + 1), f.view.get()) == Standing::Healthy);
}

TEST_CASE("policy all-down rules: fail_open, nodata, servfail, fallback", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: failover, members: [{value: 192.0.2.10, tier: 0, check: a}, {value: 192.0.2.11, tier: 1, check: b}]}
  - {name: lb.example.com, policy: multivalue, all_down: nodata, members: [{value: 192.0.2.10, check: a}, {value: 192.0.2.11, check: b}]}
  - {name: geo.example.com, policy: weighted, all_down: servfail, members: [{value: 192.0.2.10, check: a}, {value: 192.0.2.11, check: b}]}
  - {name: api.example.com, type: AAAA, policy: weighted, all_down: fallback, fallback: ["2001:db8::ff", "2001:db8::fe"], members: [{value: "2001:db8::1", check: a}]}
)");
  REQUIRE(f.errors.empty());
  f.states({{"a", D}, {"b", D}});
  struct Row {
    const char* id;
    Outcome outcome;
    const char* values;
  };
  const Row rows[] = {
      {"www.example.com. A", Outcome::Answer, "192.0.2.10"},
      {"lb.example.com. A", Outcome::NoData, ""},
      {"geo.example.com. A", Outcome::ServFail, ""},
      {"api.example.com. AAAA", Outcome::Answer, "2001:db8::fe 2001:db8::ff"},
  };
  for (const Row& r : rows) {
    INFO(r.id);
    auto p = f.pick(r.id);
    CHECK(p.outcome == r.outcome);
    CHECK(p.sorted() == r.values);
  }
  // How each came about, for explain: www failed open, api fell back.
  CHECK(f.pick("www.example.com. A").open);
  CHECK_FALSE(f.pick("www.example.com. A").fallback);
  CHECK(f.pick("api.example.com. AAAA").fallback);
  CHECK_FALSE(f.pick("api.example.com. AAAA").open);
  // One member back: every record answers it.
  f.state("a", U);
  CHECK(f.pick("lb.example.com. A").sorted() == "192.0.2.10");
  CHECK(f.pick("geo.example.com. A").sorted() == "192.0.2.10");
  CHECK(f.pick("api.example.com. AAAA").sorted() == "2001:db8::1");
  CHECK_FALSE(f.pick("www.example.com. A").open);
  CHECK_FALSE(f.pick("api.example.com. AAAA").fallback);
}

TEST_CASE("policy overrides: up, down and drain beat the check, and drained stays out even failing open", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: failover, members: [{value: 192.0.2.10, tier: 0, check: a}, {value: 192.0.2.11, tier: 1, check: b}]}
  - {name: lb.example.com, policy: multivalue, members: [{value: 192.0.2.20, check: a}, {value: 192.0.2.21, check: b}]}
)");
  REQUIRE(f.errors.empty());
  const std::string www = "www.example.com. A";
  f.override_member(www, "192.0.2.10", Override::Down);
  CHECK(f.pick(www).sorted() == "192.0.2.11");
  f.state("a", D);
  f.override_member(www, "192.0.2.10", Override::Up);
  CHECK(f.pick(www).sorted() == "192.0.2.10");
  f.override_member(www, "192.0.2.10", Override::Drain);
  f.state("a", U);
  CHECK(f.pick(www).sorted() == "192.0.2.11");
  // Drained, the other down: failing open still leaves the drained member out.
  f.state("b", D);
  CHECK(f.pick(www).sorted() == "192.0.2.11");
  // An override on one record's member leaves the same value elsewhere alone.
  f.states({{"a", U}, {"b", U}});
  f.override_member("lb.example.com. A", "192.0.2.20", Override::Drain);
  Rng rng(2);
  for (int i = 0; i < 20; ++i) CHECK(f.pick("lb.example.com. A", rng).sorted() == "192.0.2.21");
  f.override_member("lb.example.com. A", "192.0.2.21", Override::Drain);
  CHECK(f.pick("lb.example.com. A").outcome == Outcome::NoData);  // everything drained
}

TEST_CASE("policy cold start: without a view checked members count as down, unchecked as up", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: failover, members: [{value: 192.0.2.10, tier: 0, check: a}, {value: 192.0.2.11, tier: 1}]}
  - {name: lb.example.com, policy: failover, all_down: nodata, members: [{value: 192.0.2.10, tier: 0, check: a}]}
)");
  REQUIRE(f.errors.empty());
  Rng rng(1);
  CHECK(f.pick("www.example.com. A", rng, {}, false).sorted() == "192.0.2.11");
  CHECK(f.pick("lb.example.com. A", rng, {}, false).outcome == Outcome::NoData);
}

TEST_CASE("policy selection: the same seed gives the same answers", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: weighted, count: 2, members: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4]}
)");
  REQUIRE(f.errors.empty());
  Rng r1(77), r2(77), r3(78);
  std::string a, b, c;
  for (int i = 0; i < 50; ++i) {
    a += f.pick("www.example.com. A", r1).sorted() + ";";
    b += f.pick("www.example.com. A", r2).sorted() + ";";
    c += f.pick("www.example.com. A", r3).sorted() + ";";
  }
  CHECK(a == b);
  CHECK(a != c);
}

namespace {

// The probability of each ordered pick of `count` of `weights` (by index, as text "0 2 ..."),
// drawing without replacement with probability weight / remaining sum.
std::map<std::string, double> ordered_odds(const std::vector<int>& weights, size_t count) {
  std::map<std::string, double> odds;
  std::vector<size_t> order;
  std::vector<bool> used(weights.size(), false);
  auto walk = [&](auto&& self, double p, int left) -> void {
    if (order.size() == count) {
      std::string key;
      for (size_t i : order) key += (key.empty() ? "" : " ") + std::to_string(i);
      odds[key] += p;
      return;
    }
    for (size_t i = 0; i < weights.size(); ++i) {
      if (used[i]) continue;
      used[i] = true;
      order.push_back(i);
      self(self, p * weights[i] / left, left - weights[i]);
      order.pop_back();
      used[i] = false;
    }
  };
  int total = 0;
  for (int w : weights) total += w;
  walk(walk, 1.0, total);
  return odds;
}

}  // namespace

TEST_CASE("policy weighted: count > 1 draws without replacement, each pick by weight among the rest", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: lb.example.com, policy: weighted, count: 3, members: [{value: 192.0.2.0, weight: 1}, {value: 192.0.2.1, weight: 2}, {value: 192.0.2.2, weight: 3}, {value: 192.0.2.3, weight: 4}]}
  - {name: www.example.com, policy: weighted, count: 2, members: [{value: 192.0.2.0, weight: 5}, {value: 192.0.2.1, weight: 1}, {value: 192.0.2.2, weight: 1}]}
)");
  REQUIRE(f.errors.empty());
  struct Row {
    const char* id;
    std::vector<int> weights;
    size_t count;
  };
  for (const Row& r : {Row{"lb.example.com. A", {1, 2, 3, 4}, 3}, Row{"www.example.com. A", {5, 1, 1}, 2}}) {
    INFO(r.id);
    const int n = 100000;
    Rng rng(31);
    std::map<std::string, int> seen;
    for (int i = 0; i < n; ++i) {
      auto p = f.pick(r.id, rng);
      REQUIRE(p.values.size() == r.count);
      std::string key;
      for (const auto& v : p.values) key += (key.empty() ? "" : " ") + v.substr(v.rfind('.') + 1);
      ++seen[key];
    }
    auto odds = ordered_odds(r.weights, r.count);
    CHECK(seen.size() == odds.size());
    for (const auto& [key, p] : odds) {
      INFO("order " << key << " expected " << p * n);
      CHECK(seen[key] == Approx(p * n).epsilon(0.1));
    }
  }
}

TEST_CASE("policy weighted and multivalue: long member lists (search and shuffle without a copy)", "[policy]") {
  std::string weighted, multi;
  int total = 0;
  for (int i = 1; i <= 40; ++i) {
    weighted += std::string(i > 1 ? ", " : "") + "{value: 192.0.2." + std::to_string(i) + ", weight: " + std::to_string(i % 5) + "}";
    multi += std::string(i > 1 ? ", " : "") + "192.0.2." + std::to_string(i);
    total += i % 5;
  }
  Fixture f(kChecks + "records:\n  - {name: www.example.com, policy: weighted, members: [" + weighted +
            "]}\n  - {name: lb.example.com, policy: multivalue, max_answers: 8, members: [" + multi + "]}\n");
  REQUIRE(f.errors.empty());
  const int n = 80000;
  auto h = histogram(f, "www.example.com. A", n);
  for (int i = 1; i <= 40; ++i) {
    INFO("member " << i << " weight " << i % 5);
    const double want = double(n) * (i % 5) / total;
    if (want == 0) CHECK(h.count("192.0.2." + std::to_string(i)) == 0);
    else CHECK(h["192.0.2." + std::to_string(i)] == Approx(want).epsilon(0.1));
  }
  Rng rng(4);
  std::map<std::string, int> in, first;
  std::set<std::string> subsets;
  const int m = 20000;
  for (int i = 0; i < m; ++i) {
    auto p = f.pick("lb.example.com. A", rng);
    REQUIRE(p.values.size() == 8);
    REQUIRE(std::set<std::string>(p.values.begin(), p.values.end()).size() == 8);
    for (const auto& v : p.values) ++in[v];
    ++first[p.values[0]];
    subsets.insert(p.sorted());
  }
  CHECK(subsets.size() > m / 2);
  REQUIRE(in.size() == 40);
  for (const auto& [v, count] : in) CHECK(count == Approx(m * 8 / 40.0).epsilon(0.06));  // each in 1 of 5 answers
  REQUIRE(first.size() == 40);
  for (const auto& [v, count] : first) CHECK(count == Approx(m / 40.0).epsilon(0.2));  // and first as often as any
}

TEST_CASE("policy selection: a value given twice, or a nested record, is answered once (not plain)", "[policy]") {
  Fixture f(kChecks + R"(records:
  - {name: www.example.com, policy: multivalue, members: [192.0.2.1, 192.0.2.1, 192.0.2.2]}
  - {name: lb.example.com, policy: multivalue, members: [192.0.2.1, 192.0.2.2, 192.0.2.3]}
  - {id: pool, policy: multivalue, members: [192.0.2.1, 192.0.2.2]}
  - {name: api.example.com, type: A, policy: multivalue, members: [{record: pool}, 192.0.2.2, 192.0.2.3]}
  - name: geo.example.com
    policy: cidr
    groups:
      - {cidr: [10.0.0.0/8], members: [192.0.2.1, 192.0.2.2]}
      - {default: true, members: [192.0.2.1, 192.0.2.3]}
)");
  REQUIRE(f.errors.empty());
  CHECK_FALSE(f.record("www.example.com. A").plain);
  CHECK(f.record("lb.example.com. A").plain);
  CHECK_FALSE(f.record("api.example.com. A").plain);
  CHECK(f.record("geo.example.com. A").plain);  // a value in two groups: only one group answers
  Rng rng(8);
  for (int i = 0; i < 50; ++i) {
    auto p = f.pick("www.example.com. A", rng);
    CHECK(p.values.size() == 2);
    CHECK(p.sorted() == "192.0.2.1 192.0.2.2");
    auto a = f.pick("api.example.com. A", rng);
    CHECK(std::set<std::string>(a.values.begin(), a.values.end()).size() == a.values.size());
    CHECK(a.values.size() >= 2);
  }
}

TEST_CASE("policy standings: each pool's list, counting health and failing open", "[policy]") {
  Fixture f(kChecks + R"(records:
  - name: www.example.com
    policy: failover
    members:
      - {value: 192.0.2.10, tier: 0, check: a}
      - {value: 192.0.2.11, tier: 0, check: b}
      - {value: 192.0.2.12, tier: 1, check: c}
  - name: lb.example.com
    policy: weighted
    members:
      - {value: 192.0.2.20, weight: 3, check: a}
      - {value: 192.0.2.21, weight: 0, check: b}
      - {value: 192.0.2.22, weight: 2, check: c}
      - {value: 192.0.2.23, weight: 0, check: d}
  - name: geo.example.com
    policy: cidr
    groups:
      - {cidr: [10.0.0.0/8], members: [{value: 192.0.2.30, check: a}, {value: 192.0.2.31, check: b}]}
      - {default: true, members: [{value: 192.0.2.32, check: c}]}
)");
  REQUIRE(f.errors.empty());
  // Each list as "value:sum ...".
  auto show = [&](const Standings& st, const Standings::List& l) {
    std::string s;
    for (uint32_t i = 0; i < l.count; ++i) {
      s += (s.empty() ? "" : " ") + Fixture::text(1, f.set->value(f.set->member(st.items()[l.first + i]).value)) + ":" +
           std::to_string(st.sums()[l.first + i]);
    }
    return s;
  };
  const Record& www = f.record("www.example.com. A");
  const Record& lb = f.record("lb.example.com. A");
  const Record& geo = f.record("geo.example.com. A");
  struct Row {
    Health a, b, c, d;
    const char *www, *www_open, *lb, *lb_open, *geo0, *geo0_open;
  };
  const Row rows[] = {
      {U, U, U, U, "192.0.2.10:1 192.0.2.11:2", "192.0.2.10:1 192.0.2.11:2", "192.0.2.20:3 192.0.2.22:5",
       "192.0.2.20:3 192.0.2.22:5", "192.0.2.30:1 192.0.2.31:2", "192.0.2.30:1 192.0.2.31:2"},
      {D, U, U, U, "192.0.2.11:1", "192.0.2.10:1 192.0.2.11:2", "192.0.2.22:2", "192.0.2.20:3 192.0.2.22:5",
       "192.0.2.31:1", "192.0.2.30:1 192.0.2.31:2"},
      // The weighted members with a weight down: the weight-0 ones, equally.
      {D, U, D, U, "192.0.2.11:1", "192.0.2.10:1 192.0.2.11:2", "192.0.2.21:1 192.0.2.23:2", "192.0.2.20:3 192.0.2.22:5",
       "192.0.2.31:1", "192.0.2.30:1 192.0.2.31:2"},
      {D, D, U, D, "192.0.2.12:1", "192.0.2.10:1 192.0.2.11:2", "192.0.2.22:2", "192.0.2.20:3 192.0.2.22:5", "",
       "192.0.2.30:1 192.0.2.31:2"},
      {D, D, D, D, "", "192.0.2.10:1 192.0.2.11:2", "", "192.0.2.20:3 192.0.2.22:5", "", "192.0.2.30:1 192.0.2.31:2"},
  };
  for (const Row& r : rows) {
    f.states({{"a", r.a}, {"b", r.b}, {"c", r.c}, {"d", r.d}});
    INFO("a=" << int(r.a) << " b=" << int(r.b) << " c=" << int(r.c) << " d=" << int(r.d));
    Standings st(*f.set, f.view.get());
    CHECK(show(st, st.record_list(www.index, false)) == r.www);
    CHECK(show(st, st.record_list(www.index, true)) == r.www_open);
    CHECK(show(st, st.record_list(lb.index, false)) == r.lb);
    CHECK(show(st, st.record_list(lb.index, true)) == r.lb_open);
    CHECK(show(st, st.group_list(geo.group_first, false)) == r.geo0);
    CHECK(show(st, st.group_list(geo.group_first, true)) == r.geo0_open);
  }
  // Drained members are in neither list.
  f.states({{"a", U}, {"b", U}, {"c", U}, {"d", U}});
  f.override_member("www.example.com. A", "192.0.2.10", Override::Drain);
  Standings st(*f.set, f.view.get());
  CHECK(show(st, st.record_list(www.index, false)) == "192.0.2.11:1");
  CHECK(show(st, st.record_list(www.index, true)) == "192.0.2.11:1");
  CHECK(st.member(f.set->member(www.first).id) == Standing::Drained);
}

TEST_CASE("policy set: find() knows every served (name, type) among many, and nothing else", "[policy]") {
  std::string zone = kZone, records = "records:\n";
  for (int i = 0; i < 60; ++i) {
    const std::string name = "n" + std::to_string(i) + ".example.com";
    zone += "n" + std::to_string(i) + " A 192.0.2.1\n";
    records += "  - {name: " + name + ", members: [192.0.2.2]}\n";
    if (i % 3 == 0) records += "  - {name: " + name + ", type: AAAA, members: [\"2001:db8::2\"]}\n";
    if (i % 7 == 0) records += "  - {name: " + name + ", type: TXT, members: [\"\\\"x\\\"\"]}\n";
  }
  Fixture f(kChecks + records, zone);
  REQUIRE(f.errors.empty());
  auto place = [&](const std::string& name) {
    std::vector<uint8_t> wire;
    dns::name_from_text(name, wire);
    uint8_t offsets[dns::kMaxLabels + 1];
    unsigned labels = dns::index_labels(wire.data(), offsets);
    uint64_t hash = dns::hash_bytes(wire.data(), wire.size());
    const zone::Zone* z = f.zones()->find(wire.data(), wire.size(), labels, offsets, hash);
    REQUIRE(z);
    auto found = z->lookup(wire.data(), wire.size(), labels, offsets, hash, false);
    REQUIRE(found.node);
    return std::make_pair(z, z->index_of(*found.node));
  };
  for (int i = 0; i < 60; ++i) {
    const std::string name = "n" + std::to_string(i) + ".example.com.";
    INFO(name);
    auto [z, node] = place(name);
    CHECK(f.set->find(z, node, 1) == &f.record(name + " A"));
    CHECK(f.set->find(z, node, 28) == (i % 3 == 0 ? &f.record(name + " AAAA") : nullptr));
    CHECK(f.set->find(z, node, 16) == (i % 7 == 0 ? &f.record(name + " TXT") : nullptr));
    CHECK(f.set->find(z, node, 15) == nullptr);
  }
  auto [z, node] = place("ns1.example.com.");
  CHECK(f.set->find(z, node, 1) == nullptr);
}
