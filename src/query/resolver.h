// The answer algorithm of RFC 1034 §4.3.2 over an immutable Snapshot, as named stages:
// find the zone, look the name up, then answer (Exact/Wildcard), chase a CNAME, refer
// (Delegation) or deny (NXDOMAIN/NODATA). Fills an AnswerPlan; writes nothing.
#pragma once

#include "dns/query.h"
#include "query/answer_plan.h"
#include "query/snapshot.h"

namespace pharos::query {

enum class Transport : uint8_t { Udp, Tcp };

// Longest CNAME chain followed inside the zone set before answering with what was found.
inline constexpr unsigned kMaxCnameChain = 12;

void resolve(const Snapshot& snapshot, const dns::Query& q, Transport transport, AnswerPlan& plan);

}  // namespace pharos::query
