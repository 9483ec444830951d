// libFuzzer target: one packet through the whole query path (QueryProcessor::process: parse,
// resolve, encode) over a fixed snapshot of four zones (fuzz_zones.h), for UDP and TCP, under
// four option sets (payload maximum 512 to 65535, NSID/version off, short and 255 bytes long,
// all of ANY over TCP on and off); the last set also serves the root zone. Every reply is
// parsed independently and checked (fuzz_check.h):
//   - no reply exactly when the packet is shorter than a header or has QR set;
//   - length <= 512 over UDP without EDNS, <= min(max(client payload, 512), max(configured, 512))
//     with EDNS, <= 65535 over TCP;
//   - the reply parses: every name decodes with dns::read_name (bounds, backward pointers, no
//     loops, <= 255 bytes), rdata names of NS/CNAME/PTR/MX/SOA fill their rdata exactly, and
//     the section counts account for every byte;
//   - ID, opcode, RD and CD echoed, QR set, RA/AD/Z clear, no TC over TCP;
//   - the question echoed byte for byte when the query had a parseable one, none otherwise;
//   - an OPT exactly when the query had a valid one, last, version 0, with our payload size, the
//     DO bit echoed, NSID when asked for and configured;
//   - the rcode the query's form demands (FORMERR, NOTIMP, BADVERS, REFUSED for other classes
//     and transfers); no records and no AA with an error rcode;
//   - answer owners are the question's name or an earlier CNAME's target, answer types the
//     question's or CNAME; authority only SOA or NS; additional only A, AAAA, OPT;
//   - UDP against TCP: same rcode and AA; without TC the same answer and authority counts (not
//     for ANY); with TC the TCP reply is bigger than the UDP limit;
//   - every record of class IN is zone data, at its owner or at a covering wildcard (which also
//     proves that name compression points at the right names), with a TTL no higher than the
//     zone's, and RRsets are whole;
//   - processing the same packet again gives the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_check.h"
#include "fuzz_zones.h"

namespace {

using pharos::query::Options;
using pharos::query::QueryProcessor;
using pharos::query::Snapshot;
using pharos::query::Transport;
namespace fz = pharos::fuzz;

constexpr size_t kOptionSets = 4;

struct State {
  Snapshot snaps[kOptionSets];
  QueryProcessor processor{QueryProcessor::kUncounted};
  // Exactly 65535 bytes on the heap (what the workers pass), so ASan sees any write past it.
  std::unique_ptr<uint8_t[]> udp = std::make_unique<uint8_t[]>(pharos::dns::kMaxMessage);
  std::unique_ptr<uint8_t[]> tcp = std::make_unique<uint8_t[]>(pharos::dns::kMaxMessage);
  std::unique_ptr<uint8_t[]> again = std::make_unique<uint8_t[]>(pharos::dns::kMaxMessage);
  fz::ReplyView ru, rt;
};

State* g_state = nullptr;
bool g_verbose = false;  // PHAROS_FUZZ_VERBOSE=1: one line per reply, for triage

void describe(size_t set, Transport t, size_t n, const fz::ReplyView& r) {
  std::fprintf(stderr, "options %zu %s: %zu bytes rcode %u flags %04x counts %u/%u/%u/%u%s\n", set,
               fz::transport_name(t), n, n ? r.rcode : 0, n ? r.flags : 0, r.counts[0], r.counts[1], r.counts[2],
               r.counts[3], n && r.tc() ? " TC" : "");
}

Options option_set(size_t i) {
  Options o;
  switch (i) {
    case 0:  // defaults
      break;
    case 1:  // the smallest payload, with the longest identity and version the config accepts
      o.udp_payload_max = 512;
      o.nsid = std::string(255, 'n');
      o.version = std::string(255, 'v');
      break;
    case 2:
      o.udp_payload_max = 4096;
      o.any_full_over_tcp = true;
      o.nsid = "ns1.fuzz";
      o.version = "pharos fuzz";
      break;
    default:
      o.udp_payload_max = 65535;
      o.any_full_over_tcp = true;
      o.nsid = "x";
      break;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_state = new State;
  const char* verbose = std::getenv("PHAROS_FUZZ_VERBOSE");
  g_verbose = verbose && *verbose && *verbose != '0';
  const fz::FuzzZones zones = fz::load_fuzz_zones();
  for (size_t i = 0; i < kOptionSets; ++i) {
    g_state->snaps[i].zones = i == kOptionSets - 1 ? zones.with_root : zones.zones;
    g_state->snaps[i].options = option_set(i);
    g_state->snaps[i].generation = i + 1;
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > pharos::dns::kMaxMessage) return -1;  // not a DNS message over any transport
  State& st = *g_state;
  const fz::QueryView v = fz::view_query(data, size);
  for (size_t i = 0; i < kOptionSets; ++i) {
    const Snapshot& snap = st.snaps[i];
    const Options& o = snap.options;
    size_t nu = st.processor.process(snap, data, size, st.udp.get(), pharos::dns::kMaxMessage, Transport::Udp);
    fz::check_reply(data, size, v, st.udp.get(), nu, o, Transport::Udp, st.ru);
    size_t nt = st.processor.process(snap, data, size, st.tcp.get(), pharos::dns::kMaxMessage, Transport::Tcp);
    fz::check_reply(data, size, v, st.tcp.get(), nt, o, Transport::Tcp, st.rt);
    if (!v.drop) {
      fz::check_content(*snap.zones, st.ru, "udp");
      fz::check_content(*snap.zones, st.rt, "tcp");
    }
    if (g_verbose) {
      describe(i, Transport::Udp, nu, st.ru);
      describe(i, Transport::Tcp, nt, st.rt);
    }
    if (v.drop) continue;

    // The two transports agree on everything but size.
    FUZZ_CHECK(st.ru.rcode == st.rt.rcode, "options %zu: rcode %u over udp, %u over tcp", i, st.ru.rcode,
               st.rt.rcode);
    FUZZ_CHECK(st.ru.aa() == st.rt.aa(), "options %zu: AA differs between udp and tcp", i);
    const size_t udp_limit = fz::expected_limit(v, o, Transport::Udp);
    if (st.ru.tc()) {
      FUZZ_CHECK(nt > udp_limit, "options %zu: udp reply truncated, but the tcp reply (%zu bytes) fits in %zu", i, nt,
                 udp_limit);
    } else if (v.qtype != pharos::dns::type::ANY) {
      FUZZ_CHECK(st.ru.counts[1] == st.rt.counts[1] && st.ru.counts[2] == st.rt.counts[2],
                 "options %zu: untruncated udp reply has %u/%u answer/authority records, tcp %u/%u", i,
                 st.ru.counts[1], st.ru.counts[2], st.rt.counts[1], st.rt.counts[2]);
      FUZZ_CHECK(st.ru.counts[3] <= st.rt.counts[3], "options %zu: udp has more additional records than tcp", i);
    }

    // Same packet, same answer: no state leaks from one packet to the next.
    if (i == 0) {
      size_t n2 = st.processor.process(snap, data, size, st.again.get(), pharos::dns::kMaxMessage, Transport::Udp);
      FUZZ_CHECK(n2 == nu && std::memcmp(st.again.get(), st.udp.get(), nu) == 0,
                 "the same packet answered differently the second time (%zu, then %zu bytes)", nu, n2);
    }
  }
  return 0;
}
