// What an answer contains, decided before a byte is written: the rcode, AA, and the RRsets in
// each section. Resolving fills it; encoding writes it within the size limit. Fixed capacity,
// reused per query.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/types.h"
#include "dns/writer.h"
#include "policy/policy_set.h"
#include "policy/select.h"
#include "zone/zone.h"

namespace pharos::query {

// An RRset to write: static data from a zone (`rrset`), or the values a policy record chose for
// this query (`policy` and `chosen`; `rrset` is null then).
struct PlanEntry {
  const zone::Zone* zone;
  const uint8_t* owner;  // lowercase wire name; the query's qname buffer means "the question's name"
  const zone::RRset* rrset;
  const policy::Record* policy;
  const policy::Selection* chosen;
  uint32_t ttl;
  dns::Section section;
  bool required;  // if it does not fit, the reply is truncated (TC) rather than shortened
};

struct AnswerPlan {
  static constexpr size_t kMaxEntries = 64;
  static constexpr size_t kMaxSelections = 4;  // policy records answered in one reply (a CNAME chain)

  uint16_t rcode = 0;  // may be an extended rcode (BADVERS)
  bool aa = false;
  bool edns_ok = true;  // false: do not echo an OPT (the client's OPT was malformed)
  uint8_t ecs_scope = 0;  // RFC 7871 scope prefix length of the answer (0: the same for everyone)
  size_t size = 0;
  PlanEntry entries[kMaxEntries];
  size_t selections = 0;
  policy::Selection selection[kMaxSelections];
  uint32_t selection_record[kMaxSelections];  // the record each selection is of (its index in the set)

  // A synthetic RRset for answers not stored in a zone (CH TXT id.server); its rdata lives here.
  zone::RRset synthetic{};
  uint8_t synthetic_rdata[258];

  void reset(uint16_t rc = 0) {
    rcode = rc;
    aa = false;
    edns_ok = true;
    ecs_scope = 0;
    size = 0;
    selections = 0;
  }
  bool contains(const zone::RRset* r) const {
    for (size_t i = 0; i < size; ++i)
      if (entries[i].rrset == r) return true;
    return false;
  }
  // Adds an entry; silently ignores it when full (the plan is an upper bound on what fits anyway).
  void add(const zone::Zone* z, const uint8_t* owner, const zone::RRset* r, uint32_t ttl, dns::Section s,
           bool required) {
    if (size < kMaxEntries) entries[size++] = PlanEntry{z, owner, r, nullptr, nullptr, ttl, s, required};
  }
  void add_chosen(const zone::Zone* z, const uint8_t* owner, const policy::Record* p, const policy::Selection* c,
                  dns::Section s) {
    if (size < kMaxEntries) entries[size++] = PlanEntry{z, owner, nullptr, p, c, c->ttl, s, true};
  }
};

}  // namespace pharos::query
