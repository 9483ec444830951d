#include "policy/select.h"

#include <algorithm>

namespace pharos::policy {

namespace {

using config::AllDown;
using config::Policy;

constexpr unsigned kMaxDepth = 8;  // nesting (cycles are refused by the config loader)
constexpr unsigned kMaxPicks = 64;  // count and max_answers (the config allows up to 64)
constexpr unsigned kShortList = 16;  // lists up to this long are scanned, or copied to shuffle

struct Ctx {
  const PolicySet& set;
  const Standings& st;
  const Client& client;
  Rng& rng;
  Selection& out;
  bool open;   // failing open: answer as if every member were healthy
  const Record* top;  // the record asked for (not a nested one)
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

// The ways to pick from a list. Each hands the entries it picks, at most `limit`, to `put`.

// Every entry (simple, failover).
template <class Put>
[[gnu::always_inline]] inline void pick_all(const uint32_t* items, uint32_t n, uint32_t limit, Put&& put) {
  if (n > limit) n = limit;
  for (uint32_t i = 0; i < n; ++i) put(items[i]);
}

// `k` entries, a different random subset in random order each time (multivalue, cidr): a
// partial Fisher-Yates shuffle. A short list is shuffled in a copy on the stack; a long one is
// not copied: only the positions moved are remembered (at most one per pick).
template <class Put>
[[gnu::always_inline]] inline void pick_random(Rng& rng, const uint32_t* items, uint32_t n, uint32_t k, Put&& put) {
  if (k > n) k = n;
  if (k > kMaxPicks) k = kMaxPicks;
  if (n <= kShortList) {
    uint32_t a[kShortList];
    for (uint32_t i = 0; i < n; ++i) a[i] = items[i];
    for (uint32_t i = 0; i < k; ++i) {
      const uint32_t j = n - i > 1 ? i + rng.below(n - i) : i;
      const uint32_t item = a[j];
      a[j] = a[i];
      put(item);
    }
    return;
  }
  uint32_t pos[kMaxPicks], val[kMaxPicks];  // position pos[t] holds entry val[t]; others hold themselves
  unsigned moved = 0;
  for (uint32_t i = 0; i < k; ++i) {
    const uint32_t j = n - i > 1 ? i + rng.below(n - i) : i;
    uint32_t at_i = i, at_j = j;
    unsigned slot = moved;
    for (unsigned t = 0; t < moved; ++t) {
      if (pos[t] == j) {
        at_j = val[t];
        slot = t;
      }
      if (pos[t] == i) at_i = val[t];
    }
    // Swap positions i and j; i is never read again, so only j's new entry is kept.
    pos[slot] = j;
    val[slot] = at_i;
    if (slot == moved) ++moved;
    put(items[at_j]);
  }
}

// The first entry whose running sum exceeds `r` (r below the last sum).
inline uint32_t find_sum(const uint32_t* sums, uint32_t n, uint32_t r) {
  if (n <= kShortList) {
    uint32_t i = 0;
    while (sums[i] <= r) ++i;
    return i;
  }
  return static_cast<uint32_t>(std::upper_bound(sums, sums + n, r) - sums);
}

// `k` distinct entries, each drawn with probability weight / (sum of the weights not drawn yet),
// as Route 53 does (weighted). Each pick is one draw below the remaining sum, moved past the
// weight ranges already drawn (kept in order), then a search of the running sums.
template <class Put>
[[gnu::always_inline]] inline void pick_weighted(Rng& rng, const uint32_t* items, const uint32_t* sums, uint32_t n,
                                                 uint32_t k, Put&& put) {
  if (k > n) k = n;
  if (k > kMaxPicks) k = kMaxPicks;
  uint32_t from[kMaxPicks], width[kMaxPicks];  // ranges drawn, [from, from + width), by from
  unsigned drawn = 0;
  uint32_t left = sums[n - 1];
  for (uint32_t p = 0; p < k; ++p) {
    uint32_t r = rng.below(left);
    for (unsigned t = 0; t < drawn && r >= from[t]; ++t) r += width[t];
    const uint32_t i = find_sum(sums, n, r);
    put(items[i]);
    if (p + 1 == k) break;
    const uint32_t lo = i ? sums[i - 1] : 0;
    unsigned t = drawn++;
    for (; t > 0 && from[t - 1] > lo; --t) {
      from[t] = from[t - 1];
      width[t] = width[t - 1];
    }
    from[t] = lo;
    width[t] = sums[i] - lo;
    left -= sums[i] - lo;
  }
}

// Applies the record's policy to its list, handing at most `limit` entries to `put`; false when
// the list is empty (all down).
template <class Put>
[[gnu::always_inline]] inline bool apply(Ctx& c, const Record& r, uint32_t limit, Put&& put) {
  const uint32_t* items = c.st.items();
  switch (r.policy) {
    case Policy::Simple: {
      // Every value, no health.
      const Standings::List& l = c.st.record_list(r.index, false);
      pick_all(items + l.first, l.count, limit, put);
      return true;
    }
    case Policy::Failover: {
      const Standings::List& l = c.st.record_list(r.index, c.open);
      if (l.count == 0) return false;
      pick_all(items + l.first, l.count, limit, put);
      return true;
    }
    case Policy::Weighted: {
      const Standings::List& l = c.st.record_list(r.index, c.open);
      if (l.count == 0) return false;
      pick_weighted(c.rng, items + l.first, c.st.sums() + l.first, l.count, std::min<uint32_t>(r.count, limit), put);
      return true;
    }
    case Policy::Multivalue: {
      const Standings::List& l = c.st.record_list(r.index, c.open);
      if (l.count == 0) return false;
      pick_random(c.rng, items + l.first, l.count, std::min<uint32_t>(r.max_answers, limit), put);
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
        const Standings::List& l = c.st.group_list(r.group_first + group, c.open);
        if (l.count == 0) continue;
        if (&r == c.top) c.out.group = group;
        pick_random(c.rng, items + l.first, l.count, std::min<uint32_t>(r.max_answers, limit), put);
        return true;
      }
      return false;
    }
  }
  return false;
}

void choose(Ctx& c, const Record& r, unsigned depth);

// Adds a list entry, in general: its value unless already chosen, or a nested record's choice.
void take(Ctx& c, uint32_t item, unsigned depth) {
  const Member& m = c.set.member(item);
  if (m.nested != kNone) {
    if (depth < kMaxDepth) choose(c, c.set.record(m.nested), depth + 1);
    return;
  }
  // Equal values share one copy in the set (interned when built), so a pointer compares them.
  const uint8_t* v = c.set.value(m.value);
  for (unsigned i = 0; i < c.out.count; ++i) {
    if (c.out.values[i] == v) return;
  }
  if (c.out.count < Selection::kMaxValues) {
    c.out.members[c.out.count] = item;
    c.out.values[c.out.count++] = v;
  }
}

bool apply_any(Ctx& c, const Record& r, unsigned depth) {
  return apply(c, r, 0xFFFFFFFFu, [&](uint32_t item) { take(c, item, depth); });
}

void choose(Ctx& c, const Record& r, unsigned depth) {
  if (apply_any(c, r, depth)) return;
  // Nothing healthy: the record's all-down rule.
  switch (r.all_down) {
    case AllDown::FailOpen: {
      const bool was = c.open;
      c.open = true;
      c.out.open = true;
      if (!apply_any(c, r, depth) && depth == 0) c.out.outcome = Selection::Outcome::NoData;  // everything drained
      c.open = was;
      return;
    }
    case AllDown::NoData:
      if (depth == 0) c.out.outcome = Selection::Outcome::NoData;
      return;
    case AllDown::ServFail:
      if (depth == 0) c.out.outcome = Selection::Outcome::ServFail;
      return;
    case AllDown::Fallback:
      c.out.fallback = true;
      for (uint32_t i = 0; i < r.fallback_count && c.out.count < Selection::kMaxValues; ++i) {
        c.out.members[c.out.count] = kNone;
        c.out.values[c.out.count++] = c.set.value(c.set.fallback(r.fallback_first + i));
      }
      return;
  }
}

}  // namespace

Standing standing(const PolicySet& set, const Member& m, const health::HealthView* view) {
  return standing_at(set, m, view, 0);
}

Standings::Standings(const PolicySet& set, const health::HealthView* view) {
  members_.resize(set.member_keys().size());
  for (uint32_t i = 0; i < members_.size(); ++i) members_[i] = standing_at(set, set.member(i), view, 0);
  records_ = static_cast<uint32_t>(set.records().size());
  lists_.resize(2 * (records_ + set.group_count()));
  std::vector<uint32_t> cand;
  auto build = [&](uint32_t pool, Policy policy, uint32_t first, uint32_t count) {
    for (unsigned open = 0; open < 2; ++open) {
      cand.clear();
      for (uint32_t i = 0; i < count; ++i) {
        const Standing s = members_[set.member(first + i).id];
        if (policy == Policy::Simple || s == Standing::Healthy || (open && s == Standing::Unhealthy))
          cand.push_back(first + i);
      }
      if (policy == Policy::Failover && !cand.empty()) {
        uint8_t best = 255;
        for (uint32_t m : cand) best = std::min(best, set.member(m).tier);
        std::erase_if(cand, [&](uint32_t m) { return set.member(m).tier != best; });
      }
      // Route 53: weight-0 members only when no member with a weight is a candidate, then equally.
      bool weights = false;
      if (policy == Policy::Weighted) {
        weights = std::any_of(cand.begin(), cand.end(), [&](uint32_t m) { return set.member(m).weight > 0; });
        if (weights) std::erase_if(cand, [&](uint32_t m) { return set.member(m).weight == 0; });
      }
      List& l = lists_[2 * pool + open];
      l.first = static_cast<uint32_t>(items_.size());
      l.count = static_cast<uint32_t>(cand.size());
      uint32_t sum = 0;
      for (uint32_t m : cand) {
        const Member& mem = set.member(m);
        items_.push_back(m);
        sum += weights ? mem.weight : 1;
        sums_.push_back(sum);
      }
    }
  };
  for (uint32_t r = 0; r < records_; ++r) {
    const Record& rec = set.record(r);
    if (rec.policy != Policy::Cidr) {
      build(r, rec.policy, rec.first, rec.members);
      continue;
    }
    for (uint32_t g = 0; g < rec.group_count; ++g) {
      const Group& grp = set.group(rec.group_first + g);
      build(records_ + rec.group_first + g, Policy::Cidr, grp.first, grp.count);
    }
  }
}

Standings standings(const PolicySet& set, const health::HealthView* view) { return Standings(set, view); }

void select(const PolicySet& set, const Record& record, const health::HealthView* view, const Client& client, Rng& rng,
            Selection& out) {
  select(set, record, Standings(set, view), client, rng, out);
}

namespace {

// The general way: nested records, values given twice, and the all-down rules.
[[gnu::noinline]] void select_general(const PolicySet& set, const Record& record, const Standings& standings,
                                      const Client& client, Rng& rng, Selection& out) {
  Ctx c{set, standings, client, rng, out, false, &record};
  choose(c, record, 0);
  if (out.outcome == Selection::Outcome::Answer && out.count == 0) out.outcome = Selection::Outcome::NoData;
}

}  // namespace

void select(const PolicySet& set, const Record& record, const Standings& standings, const Client& client, Rng& rng,
            Selection& out) {
  out.outcome = Selection::Outcome::Answer;
  out.ttl = record.ttl;
  out.count = 0;
  out.scope = 0;
  out.open = false;
  out.fallback = false;
  out.group = kNone;
  if (record.plain) {
    // Each entry is a value, and no two are equal: straight into the selection, at most a full
    // one. (This context stays local, so the compiler may keep it in registers.)
    Ctx c{set, standings, client, rng, out, false, &record};
    const uint8_t* base = set.value(0);
    unsigned n = 0;
    if (apply(c, record, Selection::kMaxValues, [&](uint32_t item) {
          out.members[n] = item;
          out.values[n++] = base + set.member(item).value;
        })) {
      out.count = n;
      if (n == 0) out.outcome = Selection::Outcome::NoData;
      return;
    }
  }
  select_general(set, record, standings, client, rng, out);
}

}  // namespace pharos::policy
