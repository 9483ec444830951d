// The answer algorithm of RFC 1034 §4.3.2 over an immutable Snapshot, as named stages:
// find the zone, look the name up, then answer (Exact/Wildcard), chase a CNAME, refer
// (Delegation) or deny (NXDOMAIN/NODATA). Fills an AnswerPlan; writes nothing. Policy records
// are consulted where static data would be: at a name's exact or wildcard match, for the type
// asked and for CNAME.
#pragma once

#include "common/rng.h"
#include "dns/query.h"
#include "policy/select.h"
#include "query/answer_plan.h"
#include "query/snapshot.h"

namespace pharos::query {

enum class Transport : uint8_t { Udp, Tcp };

// Longest CNAME chain followed inside the zone set before answering with what was found.
inline constexpr unsigned kMaxCnameChain = 12;

// A name with a policy record answers that record's choice for `client` instead of static data
// of its type; `rng` draws the random choices (weighted, multivalue).
void resolve(const Snapshot& snapshot, const dns::Query& q, Transport transport, const policy::Client& client, Rng& rng,
             AnswerPlan& plan);

}  // namespace pharos::query
