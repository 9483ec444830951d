#include "query/processor.h"

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

}  // namespace

size_t QueryProcessor::process(const Snapshot& s, const uint8_t* packet, size_t size, uint8_t* reply, size_t cap,
                               Transport t) {
  dns::ParseStatus status = dns::parse_query(packet, size, query_);
  if (status == dns::ParseStatus::Drop) {
    counters_.dropped.inc();
    return 0;
  }
  counters_.queries[static_cast<int>(t)].inc();
  switch (status) {
    case dns::ParseStatus::Ok:
      counters_.types[type_slot(query_.qtype)].inc();
      resolve(s, query_, t, plan_);
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
