// The control API's views of the DNS side on a real snapshot: explain runs the query path and
// reports the selections (cidr by client and by Client Subnet, fail open, SERVFAIL, drains),
// mark_answering says which members queries choose from now.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "control/wire.h"
#include "query/answer_counters.h"
#include "server/inspect.h"
#include "unit/policy/policy_fixture.h"

using namespace pharos;
using pharos::policy::test::Fixture;
using health::Health;
namespace json = boost::json;

namespace {

const std::string kYaml = R"(health_checks:
  a: {type: tcp, target: 192.0.2.10:80}
  b: {type: tcp, target: 192.0.2.11:80}
records:
  - {name: www.example.com, ttl: 30, policy: failover, members: [{value: 192.0.2.10, role: primary, check: a}, {value: 192.0.2.11, role: secondary, check: b}]}
  - {name: geo.example.com, policy: cidr, groups: [{cidr: [10.0.0.0/8], members: [192.0.2.8]}, {default: true, members: [192.0.2.99]}]}
  - {name: api.example.com, type: AAAA, policy: weighted, all_down: servfail, members: [{value: "2001:db8::10", check: a}]}
)";

struct Inspect {
  Fixture f{kYaml};
  // The workers' answer counters, as the publisher attaches them (two workers).
  std::shared_ptr<query::AnswerCounters> answers =
      std::make_shared<query::AnswerCounters>(f.set->member_keys().size(), f.set->records().size(), 2);
  // The snapshot as the publisher makes it, from the view the test has set.
  std::shared_ptr<const query::Snapshot> snapshot() {
    auto s = std::make_shared<query::Snapshot>();
    s->zones = f.zones();
    s->policies = f.set;
    s->health = f.view;
    s->standings = std::make_shared<const policy::Standings>(*f.set, f.view.get());
    s->answers = answers;
    return s;
  }
  server::ExplainContext context() {
    health::EngineStatus status;
    return server::ExplainContext{snapshot(), status,
                                  std::make_shared<const std::vector<config::PolicyRecord>>(f.config().records)};
  }
  json::value explain(const std::string& name, const std::string& type = "", const std::string& client = "",
                      const std::string& subnet = "") {
    auto r = server::explain(context(), control::ExplainQuery{name, type, client, subnet});
    if (!r) FAIL(r.error().message);
    return *r;
  }
};

const json::object& member(const json::value& v, const std::string& value) {
  for (const auto& m : v.at("policy_records").at(0).at("members").as_array()) {
    if (m.at("value") == value.c_str()) return m.as_object();
  }
  FAIL("no member " << value << " in " << json::serialize(v));
  throw 0;
}

}  // namespace

TEST_CASE("inspect: explain of a failover record names the members, their checks and the chosen one", "[server]") {
  Inspect t;
  json::value v = t.explain("www.example.com");
  CHECK(v.at("rcode") == "NOERROR");
  CHECK(v.at("zone") == "example.com.");
  REQUIRE(v.at("answer").as_array().size() == 1);
  CHECK(v.at("answer").at(0) == "www.example.com.\t30\tIN\tA\t192.0.2.10");
  const json::object& r = v.at("policy_records").at(0).as_object();
  CHECK(r.at("record") == "www.example.com. A");
  CHECK(r.at("policy") == "failover");
  CHECK(r.at("ttl") == 30);
  CHECK(r.at("random") == false);
  CHECK(v.at("note").is_null());
  CHECK(member(v, "192.0.2.10").at("chosen") == true);
  CHECK(member(v, "192.0.2.10").at("check").at("name") == "a");
  CHECK(member(v, "192.0.2.11").at("chosen") == false);
  // An explained query is not a client's: no worker's answer counter moved.
  for (uint32_t m = 0; m < t.answers->members(); ++m) CHECK(t.answers->member(m) == 0);

  t.f.state("a", Health::Unhealthy);
  v = t.explain("www.example.com", "A");
  CHECK(member(v, "192.0.2.10").at("standing") == "unhealthy");
  CHECK(member(v, "192.0.2.10").at("why") == "check a unhealthy");
  CHECK(member(v, "192.0.2.11").at("chosen") == true);

  // Both down: failover fails open by default.
  t.f.state("b", Health::Unhealthy);
  v = t.explain("www.example.com");
  CHECK(v.at("policy_records").at(0).at("fail_open") == true);
  CHECK(v.at("policy_records").at(0).at("outcome") == "answer");

  // A drained member is named as such, with the override as the reason.
  t.f.states({{"a", Health::Healthy}, {"b", Health::Healthy}});
  t.f.override_member("www.example.com. A", "192.0.2.10", health::Override::Drain);
  v = t.explain("www.example.com");
  CHECK(member(v, "192.0.2.10").at("standing") == "drained");
  CHECK(member(v, "192.0.2.10").at("why") == "member override drain");
  CHECK(member(v, "192.0.2.11").at("chosen") == true);
}

TEST_CASE("inspect: explain routes a cidr record by the client address and by the Client Subnet", "[server]") {
  Inspect t;
  json::value v = t.explain("geo.example.com", "A", "10.1.2.3");
  CHECK(v.at("policy_records").at(0).at("group") == "10.0.0.0/8");
  CHECK(std::string(v.at("answer").at(0).as_string()).ends_with("192.0.2.8"));
  CHECK(member(v, "192.0.2.8").at("chosen") == true);
  CHECK(member(v, "192.0.2.99").at("group") == "default");

  v = t.explain("geo.example.com", "A", "203.0.113.7");
  CHECK(v.at("policy_records").at(0).at("group") == "default");
  CHECK(std::string(v.at("answer").at(0).as_string()).ends_with("192.0.2.99"));

  // The Client Subnet wins over the address, as for a real query, and the scope is reported.
  v = t.explain("geo.example.com", "A", "203.0.113.7", "10.9.0.0/16");
  CHECK(v.at("policy_records").at(0).at("group") == "10.0.0.0/8");
  CHECK(v.at("policy_records").at(0).at("ecs_scope") == 8);
}

TEST_CASE("inspect: explain keeps the record that made the answer SERVFAIL, and says a draw is random",
          "[server]") {
  Inspect t;
  json::value v = t.explain("api.example.com", "AAAA");
  CHECK(v.at("policy_records").at(0).at("random") == true);
  CHECK(v.at("note").as_string().find("one draw") != json::string::npos);
  t.f.state("a", Health::Unhealthy);
  v = t.explain("api.example.com", "AAAA");
  CHECK(v.at("rcode") == "SERVFAIL");
  REQUIRE(v.at("policy_records").as_array().size() == 1);
  CHECK(v.at("policy_records").at(0).at("outcome") == "servfail");
  CHECK(v.at("policy_records").at(0).at("chosen").as_array().empty());
}

TEST_CASE("inspect: explain of static data, other names and bad input", "[server]") {
  Inspect t;
  json::value v = t.explain("ns1.example.com.");
  CHECK(v.at("answer").at(0) == "ns1.example.com.\t300\tIN\tA\t192.0.2.53");
  CHECK(v.at("policy_records").as_array().empty());
  CHECK(t.explain("nope.example.com").at("rcode") == "NXDOMAIN");
  CHECK(t.explain("example.org").at("rcode") == "REFUSED");

  auto ctx = t.context();
  auto err = [&](const control::ExplainQuery& q) {
    auto r = server::explain(ctx, q);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(err({"www.example.com", "BOGUS", "", ""}).find("unknown type \"BOGUS\"") != std::string::npos);
  CHECK(err({"www.example.com", "", "300.1.1.1", ""}).find("invalid client address") != std::string::npos);
  CHECK(err({"www.example.com", "", "", "10.0.0.0"}).find("invalid subnet") != std::string::npos);
  CHECK(err({"www.example.com", "", "", "10.0.0.0/33"}).find("invalid subnet") != std::string::npos);
  CHECK(err({"www..example.com", "", "", ""}).find("invalid name") != std::string::npos);
  CHECK(err({"", "", "", ""}).find("name is empty") != std::string::npos);
}

TEST_CASE("inspect: mark_answering marks the members queries choose from now", "[server]") {
  Inspect t;
  auto records = [&] {
    health::EngineStatus status;
    json::value v = control::describe_records(t.f.config().records, status);
    server::mark_answering(v, *t.snapshot());
    return v;
  };
  json::value v = records();
  const auto answering = [&](size_t record, size_t m) { return v.at(record).at("members").at(m).at("answering"); };
  CHECK(answering(0, 0) == true);   // the primary
  CHECK(answering(0, 1) == false);  // the secondary waits
  CHECK(v.at(0).at("all_down") == false);
  CHECK(answering(1, 0) == true);   // each cidr group answers its clients
  CHECK(answering(1, 1) == true);

  t.f.state("a", Health::Unhealthy);
  v = records();
  CHECK(answering(0, 0) == false);
  CHECK(answering(0, 1) == true);
  CHECK(answering(2, 0) == false);  // servfail when all down: nobody answers
  CHECK(v.at(2).at("all_down") == true);

  t.f.state("b", Health::Unhealthy);
  v = records();
  CHECK(v.at(0).at("all_down") == true);
  CHECK(answering(0, 0) == true);  // fail open: as if all were healthy, so the primary again
  CHECK(answering(0, 1) == false);
}
