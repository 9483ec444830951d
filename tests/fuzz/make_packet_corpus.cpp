// Writes the seed corpus of fuzz_packet: queries for the names of fuzz_zones.h as a stub
// resolver or dig would send them (with and without EDNS, DO, NSID, client subnet, cookies),
// plus the malformed and unusual forms the parser must refuse or answer specially. Each
// well-formed query is checked with ldns_wire2pkt before it is written.
//
//   build/fuzz/tests/fuzz/fuzz_make_packet_corpus tests/fuzz/corpus/packet
//
// The output is committed; rerun this only to change the seeds.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns/ldns_cxx.h"

namespace {

using Bytes = std::vector<uint8_t>;

void u16(Bytes& b, unsigned v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void name(Bytes& b, const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string::npos) dot = text.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), text.begin() + static_cast<long>(start), text.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
}

struct Q {
  std::string qname;
  unsigned qtype = 1;
  unsigned qclass = 1;
  unsigned id = 0x1234;
  unsigned flags = 0x0100;  // RD, as stub resolvers send
  bool edns = false;
  unsigned payload = 1232;
  unsigned version = 0;
  bool do_bit = false;
  Bytes options;  // EDNS options, already framed
};

Bytes build(const Q& q) {
  Bytes b;
  u16(b, q.id);
  u16(b, q.flags);
  u16(b, 1);
  u16(b, 0);
  u16(b, 0);
  u16(b, q.edns ? 1 : 0);
  name(b, q.qname);
  u16(b, q.qtype);
  u16(b, q.qclass);
  if (q.edns) {
    b.push_back(0);
    u16(b, 41);
    u16(b, q.payload);
    b.push_back(0);
    b.push_back(static_cast<uint8_t>(q.version));
    b.push_back(q.do_bit ? 0x80 : 0);
    b.push_back(0);
    u16(b, static_cast<unsigned>(q.options.size()));
    b.insert(b.end(), q.options.begin(), q.options.end());
  }
  return b;
}

Bytes option(unsigned code, const Bytes& data) {
  Bytes b;
  u16(b, code);
  u16(b, static_cast<unsigned>(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

const Bytes kCookie = option(10, {1, 2, 3, 4, 5, 6, 7, 8});
const Bytes kNsid = option(3, {});
const Bytes kEcs = option(8, {0, 1, 24, 0, 192, 0, 2});  // family 1, /24, scope 0, 192.0.2.0

std::string g_dir;
int g_written = 0;

void write(const std::string& file, const Bytes& b, bool well_formed) {
  if (well_formed) {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, b.data(), b.size()) != LDNS_STATUS_OK) {
      std::fprintf(stderr, "%s: ldns cannot parse it\n", file.c_str());
      std::exit(1);
    }
    ldns_pkt_free(pkt);
  }
  std::string path = g_dir + "/" + file;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(b.data(), 1, b.size(), f) != b.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  ++g_written;
}

void query(const std::string& file, Q q) { write(file, build(q), true); }

Q plain(const std::string& qname, unsigned qtype) {
  Q q;
  q.qname = qname;
  q.qtype = qtype;
  return q;
}

Q edns(const std::string& qname, unsigned qtype, unsigned payload = 1232, bool do_bit = false) {
  Q q = plain(qname, qtype);
  q.edns = true;
  q.payload = payload;
  q.do_bit = do_bit;
  q.options = kCookie;
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];

  // Ordinary questions.
  query("a-www", plain("www.example.com", 1));
  query("aaaa-www-edns-do", edns("www.example.com", 28, 1232, true));
  query("a-www-mixed-case", plain("WwW.ExAmPlE.CoM", 1));
  query("soa-apex-edns4096", edns("example.com", 6, 4096));
  query("ns-apex", plain("example.com", 2));
  query("mx-apex-edns", edns("example.com", 15));
  query("any-apex-edns", edns("example.com", 255));
  query("any-many", plain("many.example.com", 255));
  query("txt-big-edns", edns("big.example.com", 16));
  query("txt-big-512", plain("big.example.com", 16));
  query("txt-bigrec-edns65535", edns("bigrec.example.com", 16, 65535));
  query("a-fat-referral", plain("host.fat.example.com", 1));
  query("srv-sip", edns("_sip._tcp.example.com", 33));
  query("ptr", plain("ptr.example.com", 12));
  query("naptr", edns("naptr.example.com", 35));
  query("hinfo", plain("hinfo.example.com", 13));
  query("dname", plain("dname.example.com", 39));
  query("caa-apex", plain("example.com", 257));
  query("type65280", edns("unknown.example.com", 65280));
  // CNAME chains.
  query("a-chain", plain("c1.example.com", 1));
  query("a-chain-too-long", edns("l1.example.com", 1));
  query("a-loop", plain("loop1.example.com", 1));
  query("a-chain-other-zone", plain("alias-net.example.com", 1));
  query("a-chain-leaves", plain("alias-out.example.com", 1));
  query("a-chain-into-referral", plain("alias-sub.example.com", 1));
  query("a-chain-nxdomain", plain("alias-nx.example.com", 1));
  query("a-chain-long-name", edns("alias-long.example.com", 1));
  query("mx-chain-deep-name", edns("alias-deep.example.com", 15, 4096));
  query("cname-qtype", plain("c1.example.com", 5));
  // Wildcards, empty non-terminals, negative answers.
  query("a-wildcard", plain("foo.wild.example.com", 1));
  query("mx-wildcard", edns("a.b.wild.example.com", 15));
  query("a-wildcard-cname", plain("x.cw.example.com", 1));
  query("a-wildcard-cname-loop", plain("y.cw-loop.example.com", 1));
  query("txt-wildcard-under-ent", plain("x.a.b.ent.example.com", 16));
  query("a-ent-nodata", plain("b.ent.example.com", 1));
  query("a-nxdomain-apex-wildcard", plain("nothing.example.com", 28));
  query("a-nxdomain-net", edns("nothing.here.example.net", 1));
  query("a-below-cut-wildcard", plain("x.y.sub.example.com", 1));
  // Delegations and DS.
  query("a-referral", edns("host.sub.example.com", 1, 1232, true));
  query("ds-at-cut", edns("sub.example.com", 43, 1232, true));
  query("ds-child-apex", edns("child.example.com", 43));
  query("soa-child-apex", plain("child.example.com", 6));
  query("a-child", plain("www.child.example.com", 1));
  // Other zones and classes.
  query("a-example-net", plain("back.example.net", 1));
  {
    std::string deep;
    for (int i = 0; i < 70; ++i) deep += "o.";
    query("a-deep-origin", plain("www." + deep + "example.org", 1));
  }
  query("a-refused", plain("www.example.org", 1));
  query("a-class-hs-refused", [] { Q q = plain("www.example.com", 1); q.qclass = 4; return q; }());
  query("axfr", plain("example.com", 252));
  query("opt-qtype", plain("example.com", 41));
  query("txt-ch-id-server-nsid", [] {
    Q q = edns("id.server", 16);
    q.qclass = 3;
    q.options = kNsid;
    return q;
  }());
  query("txt-ch-version-bind", [] { Q q = plain("version.bind", 16); q.qclass = 3; return q; }());
  // EDNS variants.
  query("a-ecs", [] { Q q = edns("www.example.com", 1); q.options = kEcs; return q; }());
  query("a-nsid-payload0", [] {
    Q q = edns("www.example.com", 1, 0);
    q.options = kNsid;
    return q;
  }());
  query("a-edns-version1", [] { Q q = edns("www.example.com", 1); q.version = 1; return q; }());
  write("a-two-ecs", [] { Q q = edns("www.example.com", 1); q.options = kEcs; q.options.insert(q.options.end(), kEcs.begin(), kEcs.end()); return build(q); }(), false);
  {
    Q q = edns("www.example.com", 1);
    q.options = {0, 8, 0, 9, 1};  // option longer than the rdata
    write("a-bad-option", build(q), false);
  }

  // Malformed and unusual messages.
  {
    Bytes b = build(plain("www.example.com", 1));
    b[2] |= 0x80;  // QR: a response, dropped
    write("response-dropped", b, true);
    b = build(plain("www.example.com", 1));
    b[2] = static_cast<uint8_t>((b[2] & 0x87) | (4 << 3));  // NOTIFY
    write("notify", b, true);
    b[2] = static_cast<uint8_t>((b[2] & 0x87) | (5 << 3));  // UPDATE
    write("update", b, true);
    b = build(plain("www.example.com", 1));
    b.push_back(0);  // trailing garbage
    write("trailing-byte", b, false);
    b = build(plain("www.example.com", 1));
    b[5] = 0;  // no question
    b.resize(12);
    write("qdcount0", b, true);
    b = build(plain("www.example.com", 1));
    b[5] = 2;  // two questions, one present
    write("qdcount2", b, false);
    b = build(plain("www.example.com", 1));
    b[7] = 1;  // an answer record in a query
    write("ancount1", b, false);
    b = build(plain("www.example.com", 1));
    b.resize(5);
    write("short", b, false);
  }
  {
    // A compressed question name: not allowed, there is nothing before it to point at.
    Bytes b;
    u16(b, 7);
    u16(b, 0);
    u16(b, 1);
    u16(b, 0);
    u16(b, 0);
    u16(b, 0);
    b.push_back(0xC0);
    b.push_back(12);
    u16(b, 1);
    u16(b, 1);
    write("qname-compressed", b, false);
  }
  {
    // OPT in the authority section; then a query with a TSIG-like record (compressed owner) and OPT.
    Q q = edns("www.example.com", 1);
    Bytes b = build(q);
    b[9] = 1;
    b[11] = 0;
    write("opt-in-authority", b, false);
    q.options.clear();
    b = build(q);
    b[11] = 2;
    b.push_back(0xC0);
    b.push_back(12);
    u16(b, 250);
    u16(b, 255);
    b.insert(b.end(), {0, 0, 0, 0});
    u16(b, 3);
    b.insert(b.end(), {1, 2, 3});
    write("opt-and-tsig", b, false);
  }
  {
    // The longest names: 255 bytes in the question.
    std::string n;
    for (int i = 0; i < 3; ++i) n += std::string(63, 'x') + ".";
    n += std::string(61, 'y');
    query("a-qname-255", plain(n, 1));
    std::string l63(63, 'x');
    query("a-long-name", edns(std::string(40, 'y') + "." + l63 + "." + l63 + "." + l63 + ".example.com", 16));
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "d.";
    query("mx-deep-name", plain(deep + "example.com", 15));
    query("a-qname-root", plain("", 2));
  }
  std::printf("%d seeds written to %s\n", g_written, g_dir.c_str());
  return 0;
}
