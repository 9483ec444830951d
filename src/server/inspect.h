// The control API's views of the DNS side, which src/control cannot see itself: the zones
// served, and `explain` (how the answer to one query comes about). Run on the control thread;
// they may allocate.
#pragma once

#include <memory>
#include <vector>

#include <boost/json/value.hpp>

#include "common/result.h"
#include "config/config.h"
#include "control/api.h"
#include "health/engine.h"
#include "query/snapshot.h"
#include "server/reloader.h"

namespace pharos::server {

// [{"origin", "serial", "records", "loaded_at", "file", "served", "failed"}]; serial, records and
// loaded_at are null for a zone never loaded.
boost::json::value zones_json(const std::vector<ZoneInfo>& zones);

// Marks each member of `records` (describe_records()'s JSON, control/wire.h) with "answering":
// whether queries choose from it now under `snapshot` (its pool's candidates; when none is
// healthy, what the all-down rule answers from), and each record with "all_down": whether no
// member is healthy. Records the snapshot does not have are left as they are.
void mark_answering(boost::json::value& records, const query::Snapshot& snapshot);

// What explain reads.
struct ExplainContext {
  std::shared_ptr<const query::Snapshot> snapshot;  // the one the workers answer from now
  health::EngineStatus status;                      // checks' last results and the overrides
  // The running config's policy records (for each member's check name and a cidr group's
  // prefixes); null or empty: members are named without them.
  std::shared_ptr<const std::vector<config::PolicyRecord>> records;
};

// Runs the query through the real query path (query::QueryProcessor, a fresh random source)
// on the snapshot, asked from `client` with the Client Subnet `subnet` if given, and reports the
// reply and every policy record consulted: policy, TTL, outcome, fail-open or fallback, the cidr
// group, each member's standing and why, and the members chosen. An error names the bad input.
Result<boost::json::value> explain(const ExplainContext& context, const control::ExplainQuery& query);

}  // namespace pharos::server
