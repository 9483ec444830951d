// libFuzzer target: the input as a master file for zone "fuzz.test.", loaded with
// zone::load_zone_file (tokenizer, directives, ldns rdata parsing, zone building and the
// semantic checks). It must never crash, leak or hang; a failed load must say why, a successful
// one must have an SOA and NS at the apex. A zone that loads is then queried through a
// QueryProcessor (apex SOA/NS/ANY, wildcard-ish and deep names, and the first names of the
// zone with their first type), and every reply is checked like fuzz_packet's (fuzz_check.h).
// Before that the zone's structure is checked: names in the zone, findable and lowercase,
// RRsets sorted and unique, rdata lengths consistent, names in NS/CNAME/PTR/DNAME/MX/SRV rdata
// filling it and lowercased.
//
// Files: the input is written to one path per process, <scratch>/fuzz.zone, in a directory
// made under $TMPDIR and removed at exit. Next to it are files an $INCLUDE may name: inc.zone
// (good records), bad.zone (a syntax error), nested.zone (includes inc.zone) and a directory.
// Inputs whose $INCLUDE could name anything else (a '/' or a backslash after the first
// "$include") are skipped: an include of /dev/stdin or a FIFO would block, which is not a bug
// of the loader (zone files are the operator's) but would stall the fuzzer.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "zone/zone_builder.h"
#include "zone/zone_set.h"

namespace {

using pharos::query::Options;
using pharos::query::QueryProcessor;
using pharos::query::Snapshot;
using pharos::query::Transport;
namespace fz = pharos::fuzz;
namespace dns = pharos::dns;

constexpr size_t kMaxInput = 1 << 20;
constexpr size_t kMaxNodesQueried = 16;

std::string g_dir;
std::string g_path;
QueryProcessor* g_processor = nullptr;
uint8_t* g_reply = nullptr;
uint8_t g_query[dns::kMaxMessage];
fz::ReplyView* g_view = nullptr;
bool g_verbose = false;  // PHAROS_FUZZ_VERBOSE=1: the load's outcome, for triage

void write_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

void remove_scratch() {
  if (g_dir.empty()) return;
  for (const char* f : {"fuzz.zone", "inc.zone", "bad.zone", "nested.zone"}) std::remove((g_dir + "/" + f).c_str());
  ::rmdir((g_dir + "/dir").c_str());
  ::rmdir(g_dir.c_str());
}

bool contains_ci(const uint8_t* data, size_t size, const char* needle, size_t& at) {
  const size_t n = std::strlen(needle);
  for (size_t i = 0; i + n <= size; ++i) {
    size_t k = 0;
    while (k < n && dns::to_lower(data[i + k]) == static_cast<uint8_t>(needle[k])) ++k;
    if (k == n) {
      at = i;
      return true;
    }
  }
  return false;
}


// True if an $INCLUDE in the input could name a file outside the scratch directory.
bool include_escapes(const uint8_t* data, size_t size) {
  size_t at = 0;
  if (!contains_ci(data, size, "$include", at)) return false;
  for (size_t i = at; i < size; ++i) {
    if (data[i] == '/' || data[i] == '\\') return true;
  }
  return false;
}

// Asks `name` `qtype` and checks the reply; returns the parsed reply in *g_view.
void ask(const Snapshot& snap, const uint8_t* name, size_t name_len, uint16_t qtype, bool edns, Transport t) {
  static uint16_t id = 0;
  ++id;
  size_t n = fz::make_query(g_query, id, name, name_len, qtype, edns, 1232, (id & 1) != 0);
  const fz::QueryView v = fz::view_query(g_query, n);
  FUZZ_CHECK(v.status == dns::ParseStatus::Ok, "a query built by the fuzzer does not parse (status %d)",
             static_cast<int>(v.status));
  size_t r = g_processor->process(snap, g_query, n, g_reply, dns::kMaxMessage, t);
  fz::check_reply(g_query, n, v, g_reply, r, snap.options, t, *g_view);
  fz::check_content(*snap.zones, *g_view, fz::transport_name(t));
}

// `label` (wire, one label) in front of `base` (wire), if it fits.
size_t prepend(const char* label, const uint8_t* base, size_t base_len, uint8_t* out) {
  size_t l = std::strlen(label);
  if (1 + l + base_len > dns::kMaxNameLength) return 0;
  out[0] = static_cast<uint8_t>(l);
  std::memcpy(out + 1, label, l);
  std::memcpy(out + 1 + l, base, base_len);
  return 1 + l + base_len;
}

// The zone's own structure: every name in the zone and findable, RRsets sorted by type and
// unique, rdata lengths adding up, names inside rdata valid and lowercased.
void check_structure(const pharos::zone::Zone& z) {
  namespace ty = dns::type;
  size_t records = 0;
  for (size_t i = 0; i < z.node_count(); ++i) {
    const pharos::zone::Node& node = z.node(static_cast<uint32_t>(i));
    const uint8_t* nm = z.name(node);
    FUZZ_CHECK(node.name_len >= 1 && dns::name_length(nm) == node.name_len, "node %zu: bad name length", i);
    FUZZ_CHECK(dns::count_labels(nm) == node.labels, "node %zu: label count", i);
    FUZZ_CHECK(dns::is_subdomain(nm, node.name_len, z.origin(), z.origin_len()), "node %s outside the zone",
               dns::name_to_text(nm).c_str());
    FUZZ_CHECK(z.find(nm, node.name_len, dns::hash_bytes(nm, node.name_len)) == &node, "node %s not findable",
               dns::name_to_text(nm).c_str());
    for (size_t k = 0; k < node.name_len; ++k) {
      FUZZ_CHECK(nm[k] < 'A' || nm[k] > 'Z', "node %s not lowercase",
                 dns::name_to_text(nm).c_str());
    }
    uint16_t prev = 0;
    bool first = true;
    for (const pharos::zone::RRset& set : z.rrsets(node)) {
      FUZZ_CHECK(first || set.type > prev, "node %s: RRsets not sorted and unique (%u after %u)",
                 dns::name_to_text(nm).c_str(), set.type, prev);
      first = false;
      prev = set.type;
      FUZZ_CHECK(set.count > 0, "empty RRset");
      pharos::zone::RdataIterator it(z, set);
      const uint8_t* rd;
      uint16_t len;
      unsigned n = 0;
      while (it.next(rd, len)) {
        ++n;
        size_t name_off = SIZE_MAX;
        switch (set.type) {
          case ty::A: FUZZ_CHECK(len == 4, "A of %u bytes", len); break;
          case ty::AAAA: FUZZ_CHECK(len == 16, "AAAA of %u bytes", len); break;
          case ty::NS: case ty::CNAME: case ty::PTR: case ty::DNAME: name_off = 0; break;
          case ty::MX: name_off = 2; break;
          case ty::SRV: name_off = 6; break;
          default: break;
        }
        if (name_off != SIZE_MAX) {
          FUZZ_CHECK(len > name_off && dns::name_length(rd + name_off) == len - name_off,
                     "type %u: the name does not fill the rdata", set.type);
          for (size_t k = name_off; k < len; ++k) {
            FUZZ_CHECK(rd[k] < 'A' || rd[k] > 'Z', "type %u: name in rdata not lowercase", set.type);
          }
        }
      }
      FUZZ_CHECK(n == set.count, "RRset count %u, %u records", set.count, n);
      records += n;
    }
  }
  FUZZ_CHECK(records == z.record_count(), "record_count %zu, %zu records in RRsets", z.record_count(), records);
}

void query_zone(const std::shared_ptr<const pharos::zone::Zone>& z) {
  Snapshot snap;
  snap.zones = std::make_shared<const pharos::zone::ZoneSet>(std::vector<std::shared_ptr<const pharos::zone::Zone>>{z});
  snap.options.nsid = "fuzz";
  const uint8_t* origin = z->origin();
  const size_t origin_len = z->origin_len();
  namespace ty = dns::type;

  // The apex SOA is always there, answered with authority.
  ask(snap, origin, origin_len, ty::SOA, true, Transport::Udp);
  FUZZ_CHECK(g_view->rcode == dns::rcode::NOERROR && g_view->aa(), "apex SOA: rcode %u, AA %d", g_view->rcode,
             g_view->aa());
  if (!g_view->tc()) {
    FUZZ_CHECK(g_view->counts[1] == 1 && g_view->rrs[0].type == ty::SOA, "apex SOA: %u answers", g_view->counts[1]);
  }
  ask(snap, origin, origin_len, ty::SOA, false, Transport::Tcp);
  FUZZ_CHECK(g_view->counts[1] == 1 && g_view->rrs[0].type == ty::SOA, "apex SOA over tcp: %u answers",
             g_view->counts[1]);
  ask(snap, origin, origin_len, ty::NS, false, Transport::Udp);
  ask(snap, origin, origin_len, ty::ANY, true, Transport::Tcp);
  ask(snap, origin, origin_len, ty::ANY, false, Transport::Udp);

  // Names that do not exist, or that a wildcard may cover.
  uint8_t name[dns::kMaxNameLength];
  uint8_t deeper[dns::kMaxNameLength];
  size_t n;
  if ((n = prepend("nonexistent-x", origin, origin_len, name))) ask(snap, name, n, ty::A, true, Transport::Udp);
  if ((n = prepend("*", origin, origin_len, name))) ask(snap, name, n, ty::TXT, false, Transport::Udp);
  if ((n = prepend("b", origin, origin_len, name))) {
    size_t m = prepend("a", name, n, deeper);
    if (m) ask(snap, deeper, m, ty::MX, true, Transport::Tcp);
  }

  // The first names of the zone: with their first type, with A (CNAME chains, referrals), DS.
  const size_t nodes = z->node_count() < kMaxNodesQueried ? z->node_count() : kMaxNodesQueried;
  for (size_t i = 0; i < nodes; ++i) {
    const pharos::zone::Node& node = z->node(static_cast<uint32_t>(i));
    const uint8_t* nm = z->name(node);
    auto sets = z->rrsets(node);
    uint16_t first = sets.empty() ? ty::TXT : sets[0].type;
    ask(snap, nm, node.name_len, first, true, Transport::Udp);
    ask(snap, nm, node.name_len, ty::A, false, Transport::Udp);
    if (i % 4 == 1) ask(snap, nm, node.name_len, ty::DS, true, Transport::Tcp);
    if ((n = prepend("sub", nm, node.name_len, name))) ask(snap, name, n, ty::AAAA, true, Transport::Udp);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  g_dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/pharos-fuzz-zone-XXXXXX";
  if (!::mkdtemp(g_dir.data())) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  std::atexit(remove_scratch);
  g_path = g_dir + "/fuzz.zone";
  write_file(g_dir + "/inc.zone", "inc 60 IN A 192.0.2.1\n  IN TXT \"included\"\n@ IN MX 10 inc\n");
  write_file(g_dir + "/bad.zone", "ok IN A 192.0.2.2\nbad IN A not-an-address\n");
  write_file(g_dir + "/nested.zone", "$ORIGIN nested.fuzz.test.\nn IN A 192.0.2.3\n$INCLUDE inc.zone\n");
  ::mkdir((g_dir + "/dir").c_str(), 0700);
  g_processor = new QueryProcessor(QueryProcessor::kUncounted);
  g_reply = new uint8_t[dns::kMaxMessage];
  g_view = new fz::ReplyView;
  const char* verbose = std::getenv("PHAROS_FUZZ_VERBOSE");
  g_verbose = verbose && *verbose && *verbose != '0';
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput || include_escapes(data, size)) return -1;
  {
    FILE* f = std::fopen(g_path.c_str(), "wb");
    if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
      std::perror(g_path.c_str());
      std::abort();
    }
  }
  pharos::zone::Diagnostics diag;
  auto z = pharos::zone::load_zone_file("fuzz.test.", g_path, diag);
  if (g_verbose) {
    if (z) {
      std::fprintf(stderr, "loaded: %zu records, %zu names, %zu warnings\n", (*z)->record_count(),
                   (*z)->node_count(), diag.warnings.size());
    } else {
      std::fprintf(stderr, "failed:\n%s\n", z.error().message.c_str());
    }
  }
  if (!z) {
    FUZZ_CHECK(!z.error().message.empty(), "a failed load without a message");
    FUZZ_CHECK(!diag.errors.empty(), "a failed load without errors in the diagnostics");
    return 0;
  }
  FUZZ_CHECK(diag.errors.empty(), "a zone loaded despite %zu errors: %s", diag.errors.size(),
             diag.errors[0].c_str());
  const auto& zone = *z;
  FUZZ_CHECK(zone->origin_text() == "fuzz.test.", "origin %s", zone->origin_text().c_str());
  FUZZ_CHECK(zone->rrset(zone->apex(), dns::type::SOA) && zone->rrset(zone->apex(), dns::type::NS),
             "a zone loaded without SOA and NS at the apex");
  FUZZ_CHECK(zone->record_count() >= 2, "a zone with %zu records", zone->record_count());
  check_structure(*zone);
  query_zone(zone);
  return 0;
}
