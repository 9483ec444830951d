// Runs one query through the query engine many times, for counting instructions per query
// under callgrind (tools/bench-policy-cost). Loads a config and its zones, compiles the policy
// records, and marks every check healthy (or, with --down CHECK, that one unhealthy).
//
//   pharos_query_cost CONFIG NAME TYPE COUNT [--ecs ADDR/BITS] [--down CHECK]
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "dns/master_file.h"
#include "dns/types.h"
#include "health/health_view.h"
#include "policy/policy_set.h"
#include "policy/select.h"
#include "query/processor.h"
#include "testlib/dns_helpers.h"
#include "zone/zone_builder.h"

using namespace pharos;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CONFIG NAME TYPE COUNT [--ecs ADDR/BITS] [--down CHECK]\n", argv[0]);
    return 2;
  }
  auto cfg = config::load_config(argv[1]);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return 1;
  }
  std::vector<std::shared_ptr<const zone::Zone>> zones;
  for (const auto& z : cfg->zones) {
    zone::Diagnostics d;
    auto loaded = zone::load_zone_file(z.origin, z.file, d);
    if (!loaded) {
      std::fprintf(stderr, "%s\n", d.error_text().c_str());
      return 1;
    }
    zones.push_back(*loaded);
  }
  auto snap = std::make_shared<query::Snapshot>();
  snap->zones = std::make_shared<zone::ZoneSet>(std::move(zones));
  auto built = policy::PolicySet::build(*cfg, *snap->zones, 1);
  for (const auto& e : built.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!built.errors.empty()) return 1;
  snap->policies = built.set;
  auto view = std::make_shared<health::HealthView>();
  view->registry = 1;
  view->checks.assign(cfg->health_checks.size(), health::Health::Healthy);
  view->members.assign(built.set->member_keys().size(), health::Override::None);
  test::QueryOptions o;
  for (int i = 5; i + 1 < argc; i += 2) {
    std::string opt = argv[i], val = argv[i + 1];
    if (opt == "--ecs") {
      auto slash = val.find('/');
      o.ecs = test::ecs_option(val.substr(0, slash), static_cast<uint8_t>(std::atoi(val.c_str() + slash + 1)));
    } else if (opt == "--down") {
      for (size_t c = 0; c < cfg->health_checks.size(); ++c)
        if (cfg->health_checks[c].name == val) view->checks[c] = health::Health::Unhealthy;
    }
  }
  snap->health = view;
  snap->standings = std::make_shared<const policy::Standings>(*built.set, view.get());
  // Answers counted by member as the server counts them (server::Publisher): a block per worker,
  // this processor writing the second of four.
  snap->answers = std::make_shared<query::AnswerCounters>(built.set->member_keys().size(), built.set->records().size(), 4);
  auto q = test::make_query(argv[2], dns::type_from_text(argv[3]), o);
  query::QueryProcessor proc(1);
  std::vector<uint8_t> out(65535);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.200", &peer.sin_addr);
  long count = std::atol(argv[4]);
  size_t total = 0;
  for (long i = 0; i < count; ++i) {
    total += proc.process(*snap, q.data(), q.size(), out.data(), out.size(), query::Transport::Udp,
                          reinterpret_cast<const sockaddr*>(&peer));
  }
  std::printf("%ld queries, %zu reply bytes\n", count, total);
  return total ? 0 : 1;
}
