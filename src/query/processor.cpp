#include "query/processor.h"

#include <netinet/in.h>

#include <cstring>
#include <random>

#include "query/encoder.h"

namespace pharos::query {
namespace {

// Slot of each type below 256 in the counters, built once; types above use a short scan.
struct TypeSlots {
  uint8_t slot[256];
  constexpr TypeSlots() : slot() {
    for (auto& s : slot) s = static_cast<uint8_t>(kTypeSlots - 1);
    for (size_t i = 0; i + 1 < kTypeSlots; ++i)
      if (kCountedTypes[i] < 256) slot[kCountedTypes[i]] = static_cast<uint8_t>(i);
  }
};
constexpr TypeSlots kTypeSlotTable{};

size_t type_slot(uint16_t t) {
  if (t < 256) return kTypeSlotTable.slot[t];
  for (size_t i = 0; i + 1 < kTypeSlots; ++i)
    if (kCountedTypes[i] == t) return i;
  return kTypeSlots - 1;
}

// Who asked, for cidr policy records: the Client Subnet option if there is one (RFC 7871), else
// the address the query came from (an IPv4-mapped IPv6 address counts as IPv4).
void client_of(const dns::Query& q, const sockaddr* peer, policy::Client& c) {
  if (q.client_subnet) {
    c.known = true;
    c.ecs = true;
    c.v6 = q.ecs_v6;
    c.bits = q.ecs_source;
    std::memcpy(c.addr, q.ecs_addr, 16);
    return;
  }
  if (!peer) return;
  if (peer->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(peer);
    c.known = true;
    c.bits = 32;
    std::memcpy(c.addr, &a->sin_addr, 4);
  } else if (peer->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(peer);
    c.known = true;
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      c.bits = 32;
      std::memcpy(c.addr, a->sin6_addr.s6_addr + 12, 4);
    } else {
      c.v6 = true;
      c.bits = 128;
      std::memcpy(c.addr, a->sin6_addr.s6_addr, 16);
    }
  }
}

// Counts the values of each policy choice in the plan by the member they came from.
void count_answers(const AnswerPlan& plan, AnswerCounters& counters, unsigned slot) {
  metrics::Counter* block = counters.block(slot);
  for (size_t i = 0; i < plan.selections; ++i) {
    const policy::Selection& sel = plan.selection[i];
    for (unsigned v = 0; v < sel.count; ++v) {
      const uint32_t m = sel.members[v];
      block[m != policy::kNone ? m : counters.fallback_index(plan.selected[i]->index)].inc();
    }
  }
}

}  // namespace

const char* rcode_label(size_t slot) {
  static constexpr const char* kNames[kRcodeSlots] = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
      "NOTAUTH", "NOTZONE", "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS"};
  return slot < kRcodeSlots ? kNames[slot] : "other";
}

const char* type_label(size_t slot) {
  static constexpr const char* kNames[kTypeSlots] = {"A",    "NS",    "CNAME", "SOA",    "PTR",  "MX",
                                                     "TXT",  "AAAA",  "SRV",   "NAPTR",  "DS",   "DNSKEY",
                                                     "SVCB", "HTTPS", "ANY",   "CAA",    "other"};
  return slot < kTypeSlots ? kNames[slot] : "other";
}

void write_metrics(metrics::TextWriter& w, const std::vector<const QueryCounters*>& workers) {
  auto sum = [&](auto field) {
    uint64_t n = 0;
    for (const QueryCounters* c : workers) n += field(*c).get();
    return n;
  };
  w.family("pharos_dns_queries_total", "counter", "DNS queries received (FORMERR answers included, dropped packets not), by transport.");
  const char* transports[] = {"udp", "tcp"};
  for (int t = 0; t < 2; ++t) {
    w.sample("pharos_dns_queries_total", metrics::TextWriter::labels({{"transport", transports[t]}}),
             sum([t](const QueryCounters& c) -> const metrics::Counter& { return c.queries[t]; }));
  }
  w.family("pharos_dns_responses_total", "counter", "DNS responses by rcode.");
  for (size_t r = 0; r < kRcodeSlots; ++r) {
    w.sample("pharos_dns_responses_total", metrics::TextWriter::labels({{"rcode", rcode_label(r)}}),
             sum([r](const QueryCounters& c) -> const metrics::Counter& { return c.rcodes[r]; }));
  }
  w.family("pharos_dns_queries_by_type_total", "counter", "Well-formed DNS queries by query type.");
  for (size_t t = 0; t < kTypeSlots; ++t) {
    w.sample("pharos_dns_queries_by_type_total", metrics::TextWriter::labels({{"type", type_label(t)}}),
             sum([t](const QueryCounters& c) -> const metrics::Counter& { return c.types[t]; }));
  }
  w.counter("pharos_dns_dropped_total", "Packets not answered: not a query, or too short to answer.",
            sum([](const QueryCounters& c) -> const metrics::Counter& { return c.dropped; }));
  w.counter("pharos_dns_malformed_total", "Malformed queries, answered FORMERR.",
            sum([](const QueryCounters& c) -> const metrics::Counter& { return c.malformed; }));
  w.counter("pharos_dns_truncated_total", "Responses sent with TC (truncated).",
            sum([](const QueryCounters& c) -> const metrics::Counter& { return c.truncated; }));
  w.counter("pharos_dns_edns_total", "Queries carrying an EDNS OPT record.",
            sum([](const QueryCounters& c) -> const metrics::Counter& { return c.edns; }));
}

QueryProcessor::QueryProcessor(unsigned slot)
    : rng_((uint64_t{std::random_device{}()} << 32) | std::random_device{}()), slot_(slot) {}

size_t QueryProcessor::process(const Snapshot& s, const uint8_t* packet, size_t size, uint8_t* reply, size_t cap,
                               Transport t, const sockaddr* peer) {
  dns::ParseStatus status = dns::parse_query(packet, size, query_);
  if (status == dns::ParseStatus::Drop) {
    counters_.dropped.inc();
    return 0;
  }
  counters_.queries[static_cast<int>(t)].inc();
  switch (status) {
    case dns::ParseStatus::Ok:
      counters_.types[type_slot(query_.qtype)].inc();
      if (s.policies && !s.policies->empty()) {
        policy::Client client;
        client_of(query_, peer, client);
        resolve(s, query_, t, client, rng_, plan_);
        // A SERVFAIL keeps its selections (for explain) but answered nothing.
        if (plan_.selections && s.answers && slot_ != kUncounted && plan_.rcode == dns::rcode::NOERROR) count_answers(plan_, *s.answers, slot_);
      } else {
        resolve(s, query_, t, policy::Client{}, rng_, plan_);
      }
      break;
    case dns::ParseStatus::FormErr:
      counters_.malformed.inc();
      plan_.reset(dns::rcode::FORMERR);
      plan_.edns_ok = false;  // the OPT itself may be what was wrong
      break;
    case dns::ParseStatus::NotImp:
      plan_.reset(dns::rcode::NOTIMP);
      break;
    case dns::ParseStatus::BadVers:
      plan_.reset(dns::rcode::BADVERS);
      break;
    case dns::ParseStatus::Drop:
      break;
  }
  if (query_.edns) counters_.edns.inc();
  Encoded e = encode(query_, plan_, s.options, t, writer_, reply, cap);
  if (e.truncated) counters_.truncated.inc();
  counters_.rcodes[plan_.rcode < 16 ? plan_.rcode : kRcodeSlots - 1].inc();
  return e.size;
}

}  // namespace pharos::query
