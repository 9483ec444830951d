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
  // members[i]: the member values[i] came from (for PolicySet::member(); for a nested record's
  // choice, the nested record's member), or kNone for a fallback value. Metrics count answers by
  // it, explain names it.
  uint32_t members[kMaxValues];
  // ECS scope prefix length for the reply: the bits of the client's address the answer depends
  // on (0 when it does not depend on the client at all).
  uint8_t scope = 0;
  // How the answer came about (explain reads these; selection sets them for free on its way).
  bool open = false;       // no member was healthy: chosen as if all were (fail_open)
  bool fallback = false;   // no member was healthy: the record's fallback values
  uint32_t group = kNone;  // cidr: the group answered from, relative to the record's group_first
};

// How a member stands for selection.
enum class Standing : uint8_t { Healthy, Unhealthy, Drained };

// Health of one member: its override, else its check (Unknown counts as unhealthy), else for a
// nested member whether any member of the nested record is healthy ("evaluate target health").
// A member with neither check nor nesting is healthy. `view` may be null: nothing probed yet.
Standing standing(const PolicySet& set, const Member& m, const health::HealthView* view);

// Everything selection needs from a health view, computed once per health change or reload (by
// the publisher, off the query path), so that a query reads a short list instead of every
// member's standing. Per pool (a record's members, or one cidr group), twice — counting health,
// and failing open (every member not drained) — the members a query chooses from, in member
// order, already narrowed by the policy:
//   simple      every member, health ignored
//   failover    the candidates of the lowest tier that has any
//   weighted    the candidates with a weight, or all of them equally when none has one; each
//               with the running sum of the weights (1 each when equal), for one draw and a search
//   multivalue, cidr group: the candidates
// An empty list means nothing to answer from: the all-down rule applies.
class Standings {
 public:
  // An entry of a list: a member's index in the set (PolicySet::member()).
  struct List {
    uint32_t first = 0;  // in items() and sums()
    uint32_t count = 0;
  };

  Standings() = default;
  Standings(const PolicySet& set, const health::HealthView* view);

  Standing member(uint32_t id) const { return members_[id]; }
  size_t members() const { return members_.size(); }

  // A record's list (not for cidr), and a cidr group's (`group` counted over the whole set).
  const List& record_list(uint32_t record, bool open) const { return lists_[2 * record + open]; }
  const List& group_list(uint32_t group, bool open) const { return lists_[2 * (records_ + group) + open]; }
  const uint32_t* items() const { return items_.data(); }
  const uint32_t* sums() const { return sums_.data(); }

 private:
  std::vector<Standing> members_;  // by member id
  uint32_t records_ = 0;
  std::vector<List> lists_;        // [2 * pool + open]: pools are the records, then the groups
  std::vector<uint32_t> items_;
  std::vector<uint32_t> sums_;     // running weight sums, parallel to items_ (weighted lists)
};

// Every member's standing and every pool's list under `view` (see Standings).
Standings standings(const PolicySet& set, const health::HealthView* view);

// Chooses `record`'s answer given the standings (from standings()).
void select(const PolicySet& set, const Record& record, const Standings& standings, const Client& client, Rng& rng,
            Selection& out);
// The same, computing the standings from `view` first (tests, tools; allocates).
void select(const PolicySet& set, const Record& record, const health::HealthView* view, const Client& client, Rng& rng,
            Selection& out);

}  // namespace pharos::policy
