// The publisher's answer ledger: policy answers counted per worker into the snapshot's
// AnswerCounters, summed on scrape, and kept across a reload that replaces the policy set.
#include "server/publisher.h"

#include <catch2/catch.hpp>

#include "query/processor.h"
#include "testlib/dns_helpers.h"
#include "unit/policy/policy_fixture.h"

using namespace pharos;
using pharos::policy::test::Fixture;

namespace {

const std::string kYaml = R"(health_checks:
  a: {type: tcp, target: 192.0.2.10:80}
records:
  - {name: www.example.com, ttl: 30, policy: failover, members: [{value: 192.0.2.10, role: primary, check: a}, {value: 192.0.2.11, role: secondary}]}
  - {name: lb.example.com, policy: multivalue, all_down: fallback, fallback: [192.0.2.99], members: [{value: 192.0.2.20, check: a}]}
)";

// One worker answering `n` queries for `name` A from `snap`.
void ask(query::QueryProcessor& p, const query::Snapshot& snap, const std::string& name, int n) {
  auto q = test::make_query(name, LDNS_RR_TYPE_A);
  std::vector<uint8_t> out(4096);
  for (int i = 0; i < n; ++i) REQUIRE(p.process(snap, q.data(), q.size(), out.data(), out.size(), query::Transport::Udp) > 0);
}

std::string answers(server::Publisher& pub) {
  metrics::TextWriter w;
  pub.write_answers(w);
  return w.text();
}

bool has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

std::shared_ptr<query::Snapshot> base(const Fixture& f) {
  auto s = std::make_shared<query::Snapshot>();
  s->zones = f.zones();
  s->policies = f.set;
  return s;
}

}  // namespace

TEST_CASE("publisher: policy answers are counted by member over every worker's block", "[server]") {
  Fixture f(kYaml);
  REQUIRE(f.errors.empty());
  server::SnapshotStore store;
  server::Publisher pub(store, 2);
  pub.publish_config(base(f));
  pub.publish_health(f.view);
  auto snap = store.current();
  REQUIRE(snap->answers);
  query::QueryProcessor w0(0), w1(1);
  // Every member is listed from the start, at 0.
  CHECK(has(answers(pub), R"(pharos_policy_answers_total{record="www.example.com. A",member="192.0.2.11"} 0)"));
  ask(w0, *snap, "www.example.com", 3);
  ask(w1, *snap, "www.example.com", 2);
  std::string t = answers(pub);
  CHECK(has(t, R"(pharos_policy_answers_total{record="www.example.com. A",member="192.0.2.10"} 5)"));
  CHECK(has(t, R"(pharos_policy_answers_total{record="www.example.com. A",member="192.0.2.11"} 0)"));
  // Check a down: www fails over, lb answers its fallback.
  f.state("a", health::Health::Unhealthy);
  auto view = std::make_shared<health::HealthView>(*f.view);
  view->version = 2;
  pub.publish_health(view);
  snap = store.current();
  ask(w0, *snap, "www.example.com", 1);
  ask(w1, *snap, "lb.example.com", 2);
  t = answers(pub);
  CHECK(has(t, R"(pharos_policy_answers_total{record="www.example.com. A",member="192.0.2.10"} 5)"));
  CHECK(has(t, R"(pharos_policy_answers_total{record="www.example.com. A",member="192.0.2.11"} 1)"));
  CHECK(has(t, R"(pharos_policy_answers_total{record="lb.example.com. A",member="fallback"} 2)"));
}

TEST_CASE("publisher: a member keeps its answer count when a reload replaces the policy set", "[server]") {
  Fixture f(kYaml);
  server::SnapshotStore store;
  server::Publisher pub(store, 2);
  pub.publish_config(base(f));
  pub.publish_health(f.view);
  auto old_snap = store.current();
  query::QueryProcessor w0(0), w1(1);
  ask(w0, *old_snap, "www.example.com", 4);

  Fixture g(kYaml);  // the same records, compiled again: a new set with new counters
  pub.publish_config(base(g));
  pub.publish_health(g.view);
  auto new_snap = store.current();
  REQUIRE(new_snap->answers);
  CHECK(new_snap->answers != old_snap->answers);
  ask(w1, *old_snap, "www.example.com", 1);  // a worker still on the old snapshot
  ask(w0, *new_snap, "www.example.com", 2);
  const std::string line = R"(pharos_policy_answers_total{record="www.example.com. A",member="192.0.2.10"} )";
  CHECK(has(answers(pub), line + "7"));
  // Once no snapshot holds the old set, its counts are folded into the ledger for good.
  old_snap.reset();
  store.collect();
  CHECK(has(answers(pub), line + "7"));
  ask(w1, *new_snap, "www.example.com", 1);
  CHECK(has(answers(pub), line + "8"));
}
