#include "query/encoder.h"

#include <algorithm>

namespace pharos::query {

using dns::Section;

size_t reply_limit(const dns::Query& q, const Options& o, Transport t) {
  if (t == Transport::Tcp) return dns::kMaxMessage;
  if (!q.edns) return dns::kUdpPayloadNoEdns;
  size_t asked = std::max<size_t>(q.udp_payload, dns::kUdpPayloadNoEdns);
  return std::min<size_t>(asked, std::max<size_t>(o.udp_payload_max, dns::kUdpPayloadNoEdns));
}

Encoded encode(const dns::Query& q, const AnswerPlan& plan, const Options& o, Transport t, dns::MessageWriter& w,
               uint8_t* buf, size_t cap) {
  const bool opt = q.edns && plan.edns_ok;
  const size_t limit = std::min(reply_limit(q, o, t), cap);
  // NSID only if it fits beside the echoed question: a long identity and a long name can
  // together pass 512 bytes, and the reserve must never exceed what is left.
  const size_t question_end = q.question_end ? q.question_end : dns::kHeaderSize;
  const size_t nsid_size = std::min<size_t>(o.nsid.size(), 512);
  // RFC 7871 §7.2.1: a query with Client Subnet gets it back, with the answer's scope. It is owed
  // to the query, so it is reserved before NSID.
  const bool ecs = opt && q.client_subnet;
  const size_t ecs_size = ecs ? 4u + q.client_subnet_len : 0u;
  const bool nsid =
      opt && q.nsid && nsid_size != 0 && question_end + dns::kOptRecordSize + ecs_size + 4u + nsid_size <= limit;
  const uint16_t nsid_len = nsid ? static_cast<uint16_t>(nsid_size) : 0;
  const size_t reserve =
      opt ? dns::kOptRecordSize + (nsid ? 4u + nsid_len : 0u) + ecs_size : 0u;
  w.begin(buf, limit, reserve, q);

  bool truncated = false;
  for (size_t i = 0; i < plan.size && !truncated; ++i) {
    const PlanEntry& e = plan.entries[i];
    const dns::MessageWriter::Mark m = w.mark();
    if (e.chosen) {
      // A policy record's choice: values scattered in the policy set, each [length][rdata].
      for (unsigned k = 0; k < e.chosen->count; ++k) {
        const uint8_t* v = e.chosen->values[k];
        if (!w.put_rr(e.section, e.owner, e.policy->type, dns::rclass::IN, e.ttl, v + 2, dns::read_u16(v))) {
          w.rollback(m);
          if (e.required) truncated = true;
          break;
        }
      }
      continue;
    }
    const uint8_t* p = e.zone ? e.zone->rdata(*e.rrset) : plan.synthetic_rdata;
    const uint16_t rrclass = e.zone ? dns::rclass::IN : q.qclass;
    for (unsigned k = 0; k < e.rrset->count; ++k) {
      uint16_t len = dns::read_u16(p);
      if (!w.put_rr(e.section, e.owner, e.rrset->type, rrclass, e.ttl, p + 2, len)) {
        // Never half an RRset: take back what was written of it.
        w.rollback(m);
        if (e.required) truncated = true;
        break;
      }
      p += 2u + len;
    }
  }

  uint16_t flags = dns::flag::QR | static_cast<uint16_t>(q.opcode << 11) | (q.flags & (dns::flag::RD | dns::flag::CD)) |
                   static_cast<uint16_t>(plan.rcode & 0xF);
  if (plan.aa) flags |= dns::flag::AA;
  if (truncated) flags |= dns::flag::TC;
  w.set_flags(flags);
  if (opt) {
    w.put_opt(o.udp_payload_max, static_cast<uint8_t>(plan.rcode >> 4), q.do_bit,
              nsid ? reinterpret_cast<const uint8_t*>(o.nsid.data()) : nullptr, nsid_len,
              ecs ? q.client_subnet : nullptr, ecs ? q.client_subnet_len : 0, plan.ecs_scope);
  }
  return Encoded{w.finish(), truncated};
}

}  // namespace pharos::query
