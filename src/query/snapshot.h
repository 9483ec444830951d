// Everything a query needs, immutable and published as a whole: the zones, the options that
// shape answers, the policy records and the health view they are chosen with. Workers hold a
// shared_ptr to the current one; a reload or a health change publishes a new one beside it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "health/health_view.h"
#include "policy/policy_set.h"
#include "policy/select.h"
#include "query/answer_counters.h"
#include "zone/zone_set.h"

namespace pharos::query {

struct Options {
  uint16_t udp_payload_max = 1232;    // the most we send over UDP, and what our OPT advertises
  bool any_full_over_tcp = false;     // ANY over TCP answers every RRset (UDP is always minimal)
  std::string nsid;                   // RFC 5001 NSID and CH TXT id.server; empty: off
  std::string version;                // CH TXT version.server / version.bind; empty: off
};

struct Snapshot {
  std::shared_ptr<const zone::ZoneSet> zones;
  Options options;
  // Policy records over `zones` (null: none), and the health view they are chosen with (null:
  // nothing probed yet). The view is of the same registry generation as the policies.
  std::shared_ptr<const policy::PolicySet> policies;
  std::shared_ptr<const health::HealthView> health;
  // How every policy member stands under `health`, and what each pool answers from
  // (policy::standings), computed when the snapshot is made so that a query reads a short list.
  // Null: no policies.
  std::shared_ptr<const policy::Standings> standings;
  // Answers by member for `policies` (null: not counted), shared by every snapshot of the same
  // policy set; each worker writes its own block (QueryProcessor's slot).
  std::shared_ptr<AnswerCounters> answers;
  uint64_t generation = 0;  // increases with every publish
};

}  // namespace pharos::query
