#include "query/resolver.h"

#include <cstring>

#include "dns/name.h"

namespace pharos::query {
namespace {

namespace type = dns::type;
namespace rcode = dns::rcode;
using dns::Section;
using zone::Node;
using zone::RRset;
using zone::Zone;

// A name being resolved: the question's, then each CNAME target in turn.
struct Cursor {
  const uint8_t* name;
  size_t len;
  unsigned labels;
  const uint8_t* offsets;
  uint64_t hash;
};

// Additional-section data for the targets of NS, MX and SRV records (RFC 1035 §3.3.9, RFC 2782):
// their A and AAAA. For a referral, glue below the cut is required: without it the resolver
// cannot reach the child, so a reply too small for it is truncated (RFC 9471).
void add_target_addresses(const Zone& z, const RRset& set, const Node* cut, AnswerPlan& plan) {
  const uint32_t* targets = z.targets(set);
  if (!targets) return;
  for (unsigned i = 0; i < set.count; ++i) {
    if (targets[i] == zone::kNone) continue;
    const Node& t = z.node(targets[i]);
    const uint8_t* tname = z.name(t);
    bool required = cut && dns::is_subdomain(tname, t.name_len, z.name(*cut), cut->name_len);
    for (uint16_t addr_type : {type::A, type::AAAA}) {
      const RRset* a = z.rrset(t, addr_type);
      if (a && !plan.contains(a)) plan.add(&z, tname, a, a->ttl, Section::Additional, required);
    }
  }
}

void add_referral(const Zone& z, const Node& cut, AnswerPlan& plan) {
  const RRset* ns = z.rrset(cut, type::NS);
  plan.add(&z, z.name(cut), ns, ns->ttl, Section::Authority, true);
  add_target_addresses(z, *ns, &cut, plan);
}

// True if the plan already has `r` (or policy record `p`) at `owner` (lowercase wire, `len`
// bytes). A wildcard's CNAME is one RRset that recurs under every name it is synthesised for, so
// a loop is the same RRset at the same owner (RFC 1034 §3.6.2, RFC 4592 §3.3.1), not merely the
// same RRset.
bool has_entry_at(const AnswerPlan& plan, const RRset* r, const policy::Record* p, const uint8_t* owner, size_t len) {
  for (size_t i = 0; i < plan.size; ++i) {
    const PlanEntry& e = plan.entries[i];
    if (e.rrset == r && e.policy == p && dns::name_length(e.owner) == len && std::memcmp(e.owner, owner, len) == 0)
      return true;
  }
  return false;
}

// What a query needs to choose a policy record's answer.
struct Chooser {
  const policy::PolicySet* set;  // null: the snapshot has no policy records
  const policy::Standings* standings;
  const policy::Client& client;
  Rng& rng;

  const policy::Record* find(const Zone& z, const Node& n, uint16_t type) const {
    return set ? set->find(&z, z.index_of(n), type) : nullptr;
  }
  // The record's choice for this query, kept in the plan; null when the plan has no room left.
  const policy::Selection* choose(const policy::Record& r, AnswerPlan& plan) const {
    if (plan.selections == AnswerPlan::kMaxSelections) return nullptr;
    plan.selection_record[plan.selections] = r.index;
    policy::Selection& sel = plan.selection[plan.selections++];
    policy::select(*set, r, *standings, client, rng, sel);
    if (r.type == type::CNAME && sel.count > 1) sel.count = 1;  // a name has one canonical name
    if (sel.scope > plan.ecs_scope) plan.ecs_scope = sel.scope;
    return &sel;
  }
};

using Outcome = policy::Selection::Outcome;

void fail(AnswerPlan& plan) {
  plan.reset(rcode::SERVFAIL);
}

void add_negative(const Zone& z, AnswerPlan& plan) {
  plan.add(&z, z.origin(), &z.soa(), z.negative_ttl(), Section::Authority, true);
}

// RFC 8482: a minimal answer to ANY is one RRset of the name, as NSD and Knot give. Over TCP,
// where size is no amplification risk, the whole node may be given instead (option).
// A policy record stands in for the static RRset of its type (a placeholder in the zone file), and
// is skipped when it has nothing to say.
void add_any(const Zone& z, const Node& n, const uint8_t* owner, bool full, const Chooser& ch, AnswerPlan& plan) {
  for (const RRset& r : z.rrsets(n)) {
    if (const policy::Record* p = ch.find(z, n, r.type)) {
      const policy::Selection* sel = ch.choose(*p, plan);
      if (!sel || sel->outcome != Outcome::Answer) continue;
      plan.add_chosen(&z, owner, p, sel, Section::Answer);
    } else {
      plan.add(&z, owner, &r, r.ttl, Section::Answer, true);
    }
    if (!full) return;
  }
}

// `a` and `b` are wire-name literals (their terminating NUL is the root label).
bool is_chaos_name(const dns::Query& q, const char* a, const char* b) {
  auto eq = [&](const char* w) {
    size_t n = std::strlen(w) + 1;
    return q.qname_len == n && std::memcmp(q.qname, w, n) == 0;
  };
  return eq(a) || eq(b);
}

// CH TXT id.server / hostname.bind / version.server / version.bind (RFC 4892), when configured.
void resolve_chaos(const Options& o, const dns::Query& q, AnswerPlan& plan) {
  plan.reset(rcode::REFUSED);
  if (q.qtype != type::TXT && q.qtype != type::ANY) return;
  const std::string* text = nullptr;
  if (is_chaos_name(q, "\2id\6server", "\x08hostname\4bind")) text = &o.nsid;
  if (is_chaos_name(q, "\7version\6server", "\7version\4bind")) text = &o.version;
  if (!text || text->empty()) return;
  size_t len = text->size() > 255 ? 255 : text->size();
  dns::write_u16(plan.synthetic_rdata, static_cast<uint16_t>(len + 1));
  plan.synthetic_rdata[2] = static_cast<uint8_t>(len);
  std::memcpy(plan.synthetic_rdata + 3, text->data(), len);
  plan.synthetic = RRset{type::TXT, 1, 0, 0, zone::kNone};
  plan.rcode = rcode::NOERROR;
  plan.aa = true;
  plan.add(nullptr, q.qname, &plan.synthetic, 0, Section::Answer, true);
}

}  // namespace

void resolve(const Snapshot& s, const dns::Query& q, Transport transport, const policy::Client& client, Rng& rng,
             AnswerPlan& plan) {
  plan.reset(rcode::NOERROR);
  if (q.qclass != dns::rclass::IN) {
    if (q.qclass == dns::rclass::CH) return resolve_chaos(s.options, q, plan);
    plan.rcode = rcode::REFUSED;
    return;
  }
  switch (q.qtype) {
    case type::OPT:
    case type::TSIG:
    case type::TKEY:
      plan.rcode = rcode::FORMERR;  // meta types are not questions (RFC 6895 §3.1)
      return;
    case type::AXFR:
    case type::IXFR:
      plan.rcode = rcode::REFUSED;  // zone transfers are not offered
      return;
    default:
      break;
  }

  const bool ds = q.qtype == type::DS;
  Cursor c{q.qname, q.qname_len, q.qname_labels, q.qname_offsets, dns::hash_bytes(q.qname, q.qname_len)};
  const zone::ZoneSet& zones = *s.zones;
  const Zone* z = zones.find(c.name, c.len, c.labels, c.offsets, c.hash);
  if (z && ds && z->origin_len() == c.len) {
    // DS for a zone's apex belongs to the parent, if we serve the parent too.
    if (const Zone* parent = zones.find(c.name, c.len, c.labels, c.offsets, c.hash, true)) z = parent;
  }
  if (!z) {
    plan.rcode = rcode::REFUSED;
    return;
  }
  plan.aa = true;
  uint8_t chain_offsets[dns::kMaxLabels + 1];
  const policy::PolicySet* policies =
      s.policies && !s.policies->empty() && s.standings ? s.policies.get() : nullptr;
  const Chooser ch{policies, policies ? s.standings.get() : nullptr, client, rng};

  for (unsigned hop = 0;; ++hop) {
    Zone::Lookup found = z->lookup(c.name, c.len, c.labels, c.offsets, c.hash, ds);
    switch (found.match) {
      case Zone::Match::Delegation:
        // A referral: the child's NS in authority, glue in additional, not authoritative.
        if (hop == 0) plan.aa = false;
        add_referral(*z, *found.node, plan);
        return;
      case Zone::Match::NxDomain:
        plan.rcode = rcode::NXDOMAIN;  // for a chain, the rcode of its last name (RFC 6604)
        add_negative(*z, plan);
        return;
      case Zone::Match::Exact:
      case Zone::Match::Wildcard:
        break;
    }
    // The owner is the name asked for, also when a wildcard synthesised it (RFC 4592 §3.3.1).
    const Node& node = *found.node;
    if (q.qtype == type::ANY) {
      if (node.rrset_count == 0) return add_negative(*z, plan);
      const size_t before = plan.size;
      add_any(*z, node, c.name, transport == Transport::Tcp && s.options.any_full_over_tcp, ch, plan);
      if (plan.size == before) add_negative(*z, plan);
      return;
    }
    // A policy record of the type asked for answers instead of the zone's data.
    if (const policy::Record* p = ch.find(*z, node, q.qtype)) {
      const policy::Selection* sel = ch.choose(*p, plan);
      if (!sel) return;
      if (sel->outcome == Outcome::ServFail) return fail(plan);
      if (sel->outcome == Outcome::NoData) return add_negative(*z, plan);
      plan.add_chosen(z, c.name, p, sel, Section::Answer);
      return;
    }
    if (const RRset* r = z->rrset(node, q.qtype)) {
      plan.add(z, c.name, r, r->ttl, Section::Answer, true);
      add_target_addresses(*z, *r, nullptr, plan);
      return;
    }
    const uint8_t* target;
    if (const policy::Record* p = ch.find(*z, node, type::CNAME)) {
      // Chase the canonical name the policy chose.
      if (has_entry_at(plan, nullptr, p, c.name, c.len)) return;
      const policy::Selection* sel = ch.choose(*p, plan);
      if (!sel) return;
      if (sel->outcome == Outcome::ServFail) return fail(plan);
      if (sel->outcome == Outcome::NoData) return add_negative(*z, plan);
      plan.add_chosen(z, c.name, p, sel, Section::Answer);
      target = sel->values[0] + 2;
    } else {
      const RRset* cname = z->rrset(node, type::CNAME);
      if (!cname) return add_negative(*z, plan);  // NODATA, also for empty non-terminals
      // Chase the CNAME inside the zones we serve, stopping on a loop or a too long chain.
      if (has_entry_at(plan, cname, nullptr, c.name, c.len)) return;
      plan.add(z, c.name, cname, cname->ttl, Section::Answer, true);
      target = z->rdata(*cname) + 2;
    }
    if (hop + 1 >= kMaxCnameChain) return;
    c.name = target;
    c.labels = dns::index_labels(target, chain_offsets);
    c.offsets = chain_offsets;
    c.len = c.labels ? chain_offsets[c.labels - 1] + target[chain_offsets[c.labels - 1]] + 2u : 1u;
    c.hash = dns::hash_bytes(target, c.len);
    z = zones.find(c.name, c.len, c.labels, c.offsets, c.hash);
    if (!z) return;  // the chain leaves our zones: the resolver follows it
  }
}

}  // namespace pharos::query
