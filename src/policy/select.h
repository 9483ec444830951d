// Choosing a policy record's answer for one query: a pure function of the record, the health
// view, the client and a random source. No allocation, no locks: the query path calls it.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "health/health_view.h"
#include "policy/policy_set.h"

namespace pharos::policy {

// Who is asking: the client's address from EDNS Client Subnet (RFC 7871) when the query has
// one, else the address the query came from.
struct Client {
  bool known = false;
  bool v6 = false;
  uint8_t addr[16] = {};
  uint8_t bits = 0;  // significant leading bits: 32/128, or the ECS source prefix length
  bool ecs = false;  // from ECS: the reply carries a scope
};

struct Selection {
  static constexpr unsigned kMaxValues = 32;
  enum class Outcome : uint8_t { Answer, NoData, ServFail };

  Outcome outcome = Outcome::Answer;
  uint32_t ttl = 0;
  unsigned count = 0;
  const uint8_t* values[kMaxValues];  // each [16-bit length][rdata], distinct
  // ECS scope prefix length for the reply: the bits of the client's address the answer depends
  // on (0 when it does not depend on the client at all).
  uint8_t scope = 0;
};

// How a member stands for selection.
enum class Standing : uint8_t { Healthy, Unhealthy, Drained };

// Health of one member: its override, else its check (Unknown counts as unhealthy), else for a
// nested member whether any member of the nested record is healthy ("evaluate target health").
// A member with neither check nor nesting is healthy. `view` may be null: nothing probed yet.
Standing standing(const PolicySet& set, const Member& m, const health::HealthView* view);

// Every member's standing under `view`, by member id. Computed once per health change or reload
// (by the publisher, off the query path), so that a query reads one byte per member.
std::vector<Standing> standings(const PolicySet& set, const health::HealthView* view);

// Chooses `record`'s answer given every member's standing (from standings()).
void select(const PolicySet& set, const Record& record, const Standing* standings, const Client& client, Rng& rng,
            Selection& out);
// The same, computing the standings from `view` first (tests, tools; allocates).
void select(const PolicySet& set, const Record& record, const health::HealthView* view, const Client& client, Rng& rng,
            Selection& out);

}  // namespace pharos::policy
