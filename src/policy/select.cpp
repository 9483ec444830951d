#include "policy/select.h"

#include <cstring>

namespace pharos::policy {

namespace {

using config::AllDown;
using config::Policy;

constexpr unsigned kMaxDepth = 8;         // nesting (cycles are refused by the config loader)
constexpr unsigned kMaxCandidates = 256;  // members considered per record

struct Ctx {
  const PolicySet& set;
  const Standing* standings;  // by member id
  const Client& client;
  Rng& rng;
  Selection& out;
  bool ignore_health;  // failing open: answer as if every member were healthy
};

Standing standing_at(const PolicySet& set, const Member& m, const health::HealthView* view, unsigned depth);

bool any_healthy(const PolicySet& set, const Record& r, const health::HealthView* view, unsigned depth) {
  auto scan = [&](uint32_t first, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      if (standing_at(set, set.member(first + i), view, depth + 1) == Standing::Healthy) return true;
    }
    return false;
  };
  if (r.policy == Policy::Cidr) {
    for (uint32_t g = 0; g < r.group_count; ++g) {
      const Group& grp = set.group(r.group_first + g);
      if (scan(grp.first, grp.count)) return true;
    }
    return false;
  }
  return scan(r.first, r.members);
}

Standing standing_at(const PolicySet& set, const Member& m, const health::HealthView* view, unsigned depth) {
  if (view) {
    switch (view->member(m.id)) {
      case health::Override::Up:
        return Standing::Healthy;
      case health::Override::Down:
        return Standing::Unhealthy;
      case health::Override::Drain:
        return Standing::Drained;
      case health::Override::None:
        break;
    }
  }
  if (m.check != kNone) {
    // A record that names a check follows it; without a view nothing has been probed yet.
    if (!view || view->check(m.check) != health::Health::Healthy) return Standing::Unhealthy;
  }
  if (m.nested != kNone) {
    if (depth >= kMaxDepth) return Standing::Unhealthy;
    return any_healthy(set, set.record(m.nested), view, depth) ? Standing::Healthy : Standing::Unhealthy;
  }
  return Standing::Healthy;
}

void choose(Ctx& c, const Record& r, unsigned depth);

// Adds a chosen member's values: its own, or a nested record's choice.
void take(Ctx& c, const Member& m, unsigned depth) {
  if (m.nested != kNone) {
    if (depth < kMaxDepth) choose(c, c.set.record(m.nested), depth + 1);
    return;
  }
  // Equal values share one copy in the set (interned when built), so a pointer compares them.
  const uint8_t* v = c.set.value(m.value);
  for (unsigned i = 0; i < c.out.count; ++i) {
    if (c.out.values[i] == v) return;
  }
  if (c.out.count < Selection::kMaxValues) c.out.values[c.out.count++] = v;
}

// The members of [first, first+count) that may be answered, healthy first: returns how many
// were put in `idx`. Drained members are never candidates; when failing open, unhealthy ones are.
unsigned candidates(Ctx& c, uint32_t first, uint32_t count, uint32_t* idx, [[maybe_unused]] unsigned depth) {
  unsigned n = 0;
  for (uint32_t i = 0; i < count && n < kMaxCandidates; ++i) {
    Standing s = c.standings[c.set.member(first + i).id];
    if (s == Standing::Healthy || (c.ignore_health && s == Standing::Unhealthy)) idx[n++] = first + i;
  }
  return n;
}

// Up to `limit` of the candidates, a different random subset each time (multivalue, cidr).
void take_random(Ctx& c, uint32_t* idx, unsigned n, unsigned limit, unsigned depth) {
  if (limit > n) limit = n;
  for (unsigned i = 0; i < limit; ++i) {
    unsigned j = i + c.rng.below(n - i);
    std::swap(idx[i], idx[j]);
    take(c, c.set.member(idx[i]), depth);
  }
}

// Weighted choice of `count` distinct members, probability weight/total; weight-0 members only
// when no member with weight is a candidate, then all equally (Route 53's rule).
void take_weighted(Ctx& c, uint32_t* idx, unsigned n, unsigned count, unsigned depth) {
  unsigned weighted = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (c.set.member(idx[i]).weight > 0) idx[weighted++] = idx[i];
  }
  const bool equal = weighted == 0;
  if (!equal) n = weighted;
  for (unsigned k = 0; k < count && n > 0; ++k) {
    uint32_t total = 0;
    for (unsigned i = 0; i < n; ++i) total += equal ? 1 : c.set.member(idx[i]).weight;
    uint32_t r = c.rng.below(total);
    unsigned pick = 0;
    for (; pick + 1 < n; ++pick) {
      uint32_t w = equal ? 1 : c.set.member(idx[pick]).weight;
      if (r < w) break;
      r -= w;
    }
    take(c, c.set.member(idx[pick]), depth);
    idx[pick] = idx[--n];
  }
}

// Applies the record's policy to the candidates; false when there are none (all down).
bool apply(Ctx& c, const Record& r, unsigned depth) {
  uint32_t idx[kMaxCandidates];
  switch (r.policy) {
    case Policy::Simple:
      // Every value, no health.
      for (uint32_t i = 0; i < r.members; ++i) take(c, c.set.member(r.first + i), depth);
      return true;
    case Policy::Weighted: {
      unsigned n = candidates(c, r.first, r.members, idx, depth);
      if (n == 0) return false;
      take_weighted(c, idx, n, r.count, depth);
      return true;
    }
    case Policy::Failover: {
      unsigned n = candidates(c, r.first, r.members, idx, depth);
      if (n == 0) return false;
      uint8_t best = 255;
      for (unsigned i = 0; i < n; ++i) best = std::min(best, c.set.member(idx[i]).tier);
      for (unsigned i = 0; i < n; ++i) {
        if (c.set.member(idx[i]).tier == best) take(c, c.set.member(idx[i]), depth);
      }
      return true;
    }
    case Policy::Multivalue: {
      unsigned n = candidates(c, r.first, r.members, idx, depth);
      if (n == 0) return false;
      take_random(c, idx, n, r.max_answers, depth);
      return true;
    }
    case Policy::Cidr: {
      uint32_t g = CidrTable::kNone;
      if (c.client.known) {
        CidrTable::Match m = r.cidr.lookup(c.client.v6, c.client.addr, c.client.bits);
        g = m.value;
        // Nested or not, the answer now depends on this many bits of the client's address.
        if (c.client.ecs && m.scope > c.out.scope) c.out.scope = m.scope;
      }
      // The matched group, then the default group.
      for (uint32_t group : {g, r.default_group}) {
        if (group == CidrTable::kNone) continue;
        const Group& grp = c.set.group(r.group_first + group);
        unsigned n = candidates(c, grp.first, grp.count, idx, depth);
        if (n == 0) continue;
        take_random(c, idx, n, r.max_answers, depth);
        return true;
      }
      return false;
    }
  }
  return false;
}

void choose(Ctx& c, const Record& r, unsigned depth) {
  if (apply(c, r, depth)) return;
  // Nothing healthy: the record's all-down rule.
  switch (r.all_down) {
    case AllDown::FailOpen: {
      const bool was = c.ignore_health;
      c.ignore_health = true;
      if (!apply(c, r, depth) && depth == 0) c.out.outcome = Selection::Outcome::NoData;  // everything drained
      c.ignore_health = was;
      return;
    }
    case AllDown::NoData:
      if (depth == 0) c.out.outcome = Selection::Outcome::NoData;
      return;
    case AllDown::ServFail:
      if (depth == 0) c.out.outcome = Selection::Outcome::ServFail;
      return;
    case AllDown::Fallback:
      for (uint32_t i = 0; i < r.fallback_count && c.out.count < Selection::kMaxValues; ++i) {
        c.out.values[c.out.count++] = c.set.value(c.set.fallback(r.fallback_first + i));
      }
      return;
  }
}

}  // namespace

Standing standing(const PolicySet& set, const Member& m, const health::HealthView* view) {
  return standing_at(set, m, view, 0);
}

std::vector<Standing> standings(const PolicySet& set, const health::HealthView* view) {
  std::vector<Standing> out(set.member_keys().size(), Standing::Healthy);
  for (uint32_t i = 0; i < out.size(); ++i) out[i] = standing_at(set, set.member(i), view, 0);
  return out;
}

void select(const PolicySet& set, const Record& record, const health::HealthView* view, const Client& client, Rng& rng,
            Selection& out) {
  std::vector<Standing> s = standings(set, view);
  select(set, record, s.data(), client, rng, out);
}

void select(const PolicySet& set, const Record& record, const Standing* standings, const Client& client, Rng& rng,
            Selection& out) {
  out.outcome = Selection::Outcome::Answer;
  out.ttl = record.ttl;
  out.count = 0;
  out.scope = 0;
  Ctx c{set, standings, client, rng, out, false};
  choose(c, record, 0);
  if (out.outcome == Selection::Outcome::Answer && out.count == 0) out.outcome = Selection::Outcome::NoData;
}

}  // namespace pharos::policy
