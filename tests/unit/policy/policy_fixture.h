// A policy set built from config text against a small zone, a health view the test sets check by
// check, and selection results as presentation text.
#pragma once

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/name.h"
#include "health/health_view.h"
#include "policy/policy_set.h"
#include "policy/select.h"
#include "unit/config/config_test_util.h"
#include "zone/zone_builder.h"

namespace pharos::policy::test {

using health::Health;

inline const std::string kZone =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.53\n"
    "www A 192.0.2.1\napi AAAA 2001:db8::1\ngeo A 192.0.2.1\nalias CNAME www\n*.wild A 192.0.2.1\n"
    "mail MX 10 ns1\nfresh CNAME ns1\nlb A 192.0.2.1\n";

class Fixture {
 public:
  // `yaml`: the health_checks and records sections; `zone`: example.com's zone file.
  explicit Fixture(const std::string& yaml, const std::string& zone = kZone) {
    dir_.write("example.com.zone", zone);
    auto cfg = dir_.load("zones:\n  - origin: example.com\n    file: example.com.zone\n" + yaml);
    if (!cfg) FAIL(cfg.error().message);
    cfg_ = std::move(*cfg);
    zone::Diagnostics diag;
    auto z = zone::load_zone_file("example.com.", (dir_.path() / "example.com.zone").string(), diag);
    REQUIRE(z);
    zones_ = std::make_shared<zone::ZoneSet>(std::vector<std::shared_ptr<const zone::Zone>>{*z});
    auto built = PolicySet::build(cfg_, *zones_, 7);
    errors = built.errors;
    set = built.set;
    view = std::make_shared<health::HealthView>();
    view->registry = 7;
    view->checks.assign(cfg_.health_checks.size(), Health::Healthy);
    view->members.assign(set->member_keys().size(), health::Override::None);
  }

  uint32_t check_id(const std::string& name) const {
    for (uint32_t i = 0; i < cfg_.health_checks.size(); ++i)
      if (cfg_.health_checks[i].name == name) return i;
    FAIL("no check " << name);
    return 0;
  }
  void state(const std::string& check, Health h) { view->checks[check_id(check)] = h; }
  // Sets every check named in `states`, e.g. {{"a", Health::Unhealthy}}.
  void states(const std::map<std::string, Health>& states) {
    for (const auto& [name, h] : states) state(name, h);
  }
  void override_member(const std::string& record, const std::string& value, health::Override o) {
    const auto& keys = set->member_keys();
    for (uint32_t i = 0; i < keys.size(); ++i) {
      if (keys[i].record == record && keys[i].value == value) {
        view->members[i] = o;
        return;
      }
    }
    FAIL("no member " << record << " " << value);
  }

  const Record& record(const std::string& id) const {
    for (const Record& r : set->records())
      if (r.id == id) return r;
    FAIL("no record " << id);
    return set->records().front();
  }

  struct Picked {
    Selection::Outcome outcome;
    std::vector<std::string> values;  // in the order chosen
    uint8_t scope = 0;
    uint32_t ttl = 0;
    bool open = false, fallback = false;
    uint32_t group = kNone;
    std::vector<uint32_t> members;  // Selection::members, parallel to values
    std::string sorted() const {
      auto v = values;
      std::sort(v.begin(), v.end());
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
      return s;
    }
  };

  Picked pick(const std::string& id, Rng& rng, const Client& client = {}, bool with_view = true) const {
    Selection sel;
    const Record& r = record(id);
    select(*set, r, with_view ? view.get() : nullptr, client, rng, sel);
    Picked p{sel.outcome, {}, sel.scope, sel.ttl, sel.open, sel.fallback, sel.group, {}};
    for (unsigned i = 0; i < sel.count; ++i) {
      p.values.push_back(text(r.type, sel.values[i]));
      p.members.push_back(sel.members[i]);
      // Every value names the member it came from; only fallback values name none.
      if (sel.members[i] == kNone) {
        CHECK(sel.fallback);
      } else {
        CHECK(set->value(set->member(sel.members[i]).value) == sel.values[i]);
      }
    }
    return p;
  }
  Picked pick(const std::string& id) const {
    Rng rng(1);
    return pick(id, rng);
  }

  static std::string text(uint16_t type, const uint8_t* v) {
    uint16_t len = static_cast<uint16_t>(v[0] << 8 | v[1]);
    char buf[INET6_ADDRSTRLEN];
    if (type == 1 && len == 4) return inet_ntop(AF_INET, v + 2, buf, sizeof buf);
    if (type == 28 && len == 16) return inet_ntop(AF_INET6, v + 2, buf, sizeof buf);
    if (type == 5) return dns::name_to_text(v + 2);
    return "?";
  }

  std::vector<std::string> errors;
  std::shared_ptr<const PolicySet> set;
  std::shared_ptr<health::HealthView> view;
  const config::Config& config() const { return cfg_; }
  std::shared_ptr<const zone::ZoneSet> zones() const { return zones_; }

 private:
  config::test::TempDir dir_;
  config::Config cfg_;
  std::shared_ptr<const zone::ZoneSet> zones_;
};

inline Client client_v4(const char* addr, uint8_t bits = 32, bool ecs = false) {
  Client c;
  c.known = true;
  c.bits = bits;
  c.ecs = ecs;
  inet_pton(AF_INET, addr, c.addr);
  return c;
}

inline Client client_v6(const char* addr, uint8_t bits = 128, bool ecs = false) {
  Client c;
  c.known = true;
  c.v6 = true;
  c.bits = bits;
  c.ecs = ecs;
  inet_pton(AF_INET6, addr, c.addr);
  return c;
}

}  // namespace pharos::policy::test
