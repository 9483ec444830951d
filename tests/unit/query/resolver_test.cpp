// The answer algorithm, behaviour by behaviour (RFC 1034 §4.3.2, 2181, 2308, 4592, 6891, 8482),
// through the real engine (parse, resolve, encode) with replies read by ldns.
#include <catch2/catch.hpp>

#include "unit/zone_helpers.h"

using namespace pharos;
using namespace pharos::test;
using query::Transport;

namespace {

const char* kExample = R"($ORIGIN example.com.
$TTL 3600
@        SOA   ns1 hostmaster 7 7200 900 1209600 300
         NS    ns1
         NS    ns2.example.net.
         MX    10 mail
         MX    20 mail.example.net.
ns1      A     192.0.2.53
mail     A     192.0.2.25
mail     AAAA  2001:db8::25
www  60  CNAME app
app      A     192.0.2.10
app      AAAA  2001:db8::10
api      CNAME www
loop1    CNAME loop2
loop2    CNAME loop1
out      CNAME www.example.net.
toother  CNAME host.other.test.
tonx     CNAME missing
todeleg  CNAME host.sub
tochild  CNAME www.child
a.b.c    A     192.0.2.1
*.wild   A     203.0.113.7
*.wild   TXT   "wild"
exists.wild A  192.0.2.77
*.cwild  CNAME app
*.wloop  CNAME again.wloop
_sip._udp SRV  0 5 5060 app
sub      NS    ns.sub
sub      NS    ns.example.net.
sub      DS    12345 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub   A     192.0.2.99
child    NS    ns1
Mixed    A     192.0.2.8
)";

const char* kOther = R"($ORIGIN other.test.
$TTL 300
@     SOA ns.other.test. h.other.test. 1 2 3 4 60
      NS  ns
ns    A   192.0.2.200
host  A   192.0.2.201
)";

// A child zone served by us as well as its parent.
const char* kChild = R"($ORIGIN child.example.com.
$TTL 600
@     SOA ns1.example.com. h.example.com. 3 2 3 4 120
      NS  ns1.example.com.
      DS  1 8 2 00
www   A   192.0.2.123
)";

Engine make_engine(query::Options o = {}) {
  return Engine({must_load("example.com", kExample), must_load("other.test", kOther),
                 must_load("child.example.com", kChild)},
                o);
}

std::vector<std::string> answer(const Packet& p) { return section(p.get(), LDNS_SECTION_ANSWER); }
std::vector<std::string> authority(const Packet& p) { return section(p.get(), LDNS_SECTION_AUTHORITY); }
std::vector<std::string> additional(const Packet& p) { return section(p.get(), LDNS_SECTION_ADDITIONAL); }

}  // namespace

TEST_CASE("resolver: a direct hit is authoritative with the RRset", "[query]") {
  Engine e = make_engine();
  auto p = e.ask("app.example.com", LDNS_RR_TYPE_A);
  REQUIRE(p);
  CHECK(rcode_name(p.get()) == "NOERROR");
  CHECK(ldns_pkt_aa(p.get()));
  CHECK_FALSE(ldns_pkt_ra(p.get()));
  CHECK(answer(p) == std::vector<std::string>{"app.example.com.\t3600\tin\ta\t192.0.2.10"});
  CHECK(authority(p).empty());  // minimal responses: no NS in authority
}

TEST_CASE("resolver: NXDOMAIN and NODATA carry the SOA at min(SOA TTL, MINIMUM)", "[query]") {
  Engine e = make_engine();
  auto nx = e.ask("nope.example.com", LDNS_RR_TYPE_A);
  REQUIRE(nx);
  CHECK(rcode_name(nx.get()) == "NXDOMAIN");
  CHECK(ldns_pkt_aa(nx.get()));
  REQUIRE(authority(nx).size() == 1);
  CHECK(authority(nx)[0].rfind("example.com.\t300\tin\tsoa\t", 0) == 0);  // 3600 vs minimum 300
  auto nodata = e.ask("app.example.com", LDNS_RR_TYPE_TXT);
  REQUIRE(nodata);
  CHECK(rcode_name(nodata.get()) == "NOERROR");
  CHECK(answer(nodata).empty());
  REQUIRE(authority(nodata).size() == 1);
  CHECK(authority(nodata)[0].rfind("example.com.\t300\tin\tsoa\t", 0) == 0);
  // A zone whose SOA TTL is below its MINIMUM uses the TTL.
  Engine low({must_load("low.test", "$ORIGIN low.test.\n@ 30 SOA ns h 1 2 3 4 600\n@ 30 NS ns\nns 30 A 192.0.2.1\n")});
  auto l = low.ask("x.low.test", LDNS_RR_TYPE_A);
  REQUIRE(l);
  CHECK(authority(l)[0].rfind("low.test.\t30\tin\tsoa\t", 0) == 0);
}

TEST_CASE("resolver: empty non-terminals are NODATA, not NXDOMAIN", "[query]") {
  Engine e = make_engine();
  for (const char* ent : {"b.c.example.com", "c.example.com"}) {
    auto p = e.ask(ent, LDNS_RR_TYPE_A);
    REQUIRE(p);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK(answer(p).empty());
    CHECK(authority(p).size() == 1);
  }
  auto below = e.ask("x.a.b.c.example.com", LDNS_RR_TYPE_A);
  CHECK(rcode_name(below.get()) == "NXDOMAIN");
}

TEST_CASE("resolver: CNAME chains are followed inside the zone set", "[query]") {
  Engine e = make_engine();
  SECTION("in zone, two hops") {
    auto p = e.ask("api.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p) == std::vector<std::string>{"api.example.com.\t3600\tin\tcname\twww.example.com.",
                                                "app.example.com.\t3600\tin\ta\t192.0.2.10",
                                                "www.example.com.\t60\tin\tcname\tapp.example.com."});
    CHECK(ldns_pkt_aa(p.get()));
  }
  SECTION("into another zone we serve") {
    auto p = e.ask("toother.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p).size() == 2);
    CHECK(answer(p)[0] == "host.other.test.\t300\tin\ta\t192.0.2.201");
  }
  SECTION("out of our zones: the CNAME alone") {
    auto p = e.ask("out.example.com", LDNS_RR_TYPE_A);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK(answer(p) == std::vector<std::string>{"out.example.com.\t3600\tin\tcname\twww.example.net."});
    CHECK(authority(p).empty());
  }
  SECTION("to a missing name: NXDOMAIN for the last name (RFC 6604)") {
    auto p = e.ask("tonx.example.com", LDNS_RR_TYPE_A);
    CHECK(rcode_name(p.get()) == "NXDOMAIN");
    CHECK(answer(p).size() == 1);
    CHECK(authority(p).size() == 1);
  }
  SECTION("a loop stops") {
    auto p = e.ask("loop1.example.com", LDNS_RR_TYPE_A);
    REQUIRE(p);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK(answer(p).size() == 2);
  }
  SECTION("into a delegation: the CNAME, then a referral") {
    auto p = e.ask("todeleg.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p).size() == 1);
    CHECK(authority(p).size() == 2);
    CHECK(ldns_pkt_aa(p.get()));  // the CNAME is ours
  }
  SECTION("into a child zone we serve: answered from the child") {
    auto p = e.ask("tochild.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p).size() == 2);
    CHECK(answer(p)[1] == "www.child.example.com.\t600\tin\ta\t192.0.2.123");
  }
  SECTION("asking for the CNAME itself does not chase it") {
    auto p = e.ask("www.example.com", LDNS_RR_TYPE_CNAME);
    CHECK(answer(p) == std::vector<std::string>{"www.example.com.\t60\tin\tcname\tapp.example.com."});
  }
}

TEST_CASE("resolver: a long CNAME chain is cut at the bound", "[query]") {
  std::string z = "$ORIGIN long.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
  for (int i = 0; i < 20; ++i) z += "c" + std::to_string(i) + " CNAME c" + std::to_string(i + 1) + "\n";
  z += "c20 A 192.0.2.20\n";
  Engine e({must_load("long.test", z)});
  auto p = e.ask("c0.long.test", LDNS_RR_TYPE_A);
  REQUIRE(p);
  CHECK(ldns_pkt_ancount(p.get()) == query::kMaxCnameChain);
}

TEST_CASE("resolver: wildcards follow the closest-encloser rules of RFC 4592", "[query]") {
  Engine e = make_engine();
  SECTION("a name under the wildcard's parent is synthesised with the query's owner") {
    auto p = e.ask("foo.wild.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p) == std::vector<std::string>{"foo.wild.example.com.\t3600\tin\ta\t203.0.113.7"});
    CHECK(ldns_pkt_aa(p.get()));
  }
  SECTION("deeper names match too") {
    auto p = e.ask("a.b.wild.example.com", LDNS_RR_TYPE_TXT);
    CHECK(answer(p) == std::vector<std::string>{"a.b.wild.example.com.\t3600\tin\ttxt\t\"wild\""});
  }
  SECTION("an existing name is not covered") {
    auto p = e.ask("exists.wild.example.com", LDNS_RR_TYPE_TXT);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK(answer(p).empty());
  }
  SECTION("below an existing name the wildcard does not apply") {
    auto p = e.ask("x.exists.wild.example.com", LDNS_RR_TYPE_A);
    CHECK(rcode_name(p.get()) == "NXDOMAIN");
  }
  SECTION("the wildcard without the type is NODATA") {
    auto p = e.ask("foo.wild.example.com", LDNS_RR_TYPE_MX);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK(answer(p).empty());
    CHECK(authority(p).size() == 1);
  }
  SECTION("a wildcard CNAME is synthesised and chased") {
    auto p = e.ask("q.cwild.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p) == std::vector<std::string>{"app.example.com.\t3600\tin\ta\t192.0.2.10",
                                                "q.cwild.example.com.\t3600\tin\tcname\tapp.example.com."});
  }
  SECTION("a wildcard CNAME that points back under itself loops once, at the synthesised name") {
    // *.wloop CNAME again.wloop: the query name's CNAME, then again.wloop's own (synthesised)
    // CNAME, then the loop. The same RRset under a different owner is not yet a loop.
    auto p = e.ask("match.wloop.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p) == std::vector<std::string>{
                           "again.wloop.example.com.\t3600\tin\tcname\tagain.wloop.example.com.",
                           "match.wloop.example.com.\t3600\tin\tcname\tagain.wloop.example.com."});
  }
  SECTION("the wildcard name itself is an ordinary name") {
    auto p = e.ask("*.wild.example.com", LDNS_RR_TYPE_A);
    CHECK(answer(p) == std::vector<std::string>{"*.wild.example.com.\t3600\tin\ta\t203.0.113.7"});
  }
}

TEST_CASE("resolver: delegations are answered as referrals with glue", "[query]") {
  Engine e = make_engine();
  for (const char* name : {"sub.example.com", "www.sub.example.com", "a.b.sub.example.com", "ns.sub.example.com"}) {
    INFO(name);
    auto p = e.ask(name, LDNS_RR_TYPE_A);
    REQUIRE(p);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK_FALSE(ldns_pkt_aa(p.get()));
    CHECK(answer(p).empty());
    CHECK(authority(p) == std::vector<std::string>{"sub.example.com.\t3600\tin\tns\tns.example.net.",
                                                   "sub.example.com.\t3600\tin\tns\tns.sub.example.com."});
    CHECK(additional(p) == std::vector<std::string>{"ns.sub.example.com.\t3600\tin\ta\t192.0.2.99"});
  }
}

TEST_CASE("resolver: DS is answered by the parent side of a cut", "[query]") {
  Engine e = make_engine();
  SECTION("at a delegation point") {
    auto p = e.ask("sub.example.com", LDNS_RR_TYPE_DS);
    CHECK(ldns_pkt_aa(p.get()));
    CHECK(answer(p).size() == 1);
  }
  SECTION("for a child zone we also serve, from the parent") {
    auto p = e.ask("child.example.com", LDNS_RR_TYPE_DS);
    CHECK(ldns_pkt_aa(p.get()));
    CHECK(rcode_name(p.get()) == "NOERROR");
    // The parent has no DS for child: NODATA with the parent's SOA, not the child's DS.
    CHECK(answer(p).empty());
    REQUIRE(authority(p).size() == 1);
    CHECK(authority(p)[0].rfind("example.com.", 0) == 0);
  }
  SECTION("other types at the child apex come from the child") {
    auto p = e.ask("child.example.com", LDNS_RR_TYPE_SOA);
    CHECK(answer(p).size() == 1);
    CHECK(answer(p)[0].rfind("child.example.com.", 0) == 0);
  }
}

TEST_CASE("resolver: MX, SRV and NS targets in the zone get their addresses as additional data", "[query]") {
  Engine e = make_engine();
  auto mx = e.ask("example.com", LDNS_RR_TYPE_MX);
  CHECK(additional(mx) == std::vector<std::string>{"mail.example.com.\t3600\tin\ta\t192.0.2.25",
                                                   "mail.example.com.\t3600\tin\taaaa\t2001:db8::25"});
  auto srv = e.ask("_sip._udp.example.com", LDNS_RR_TYPE_SRV);
  CHECK(additional(srv).size() == 2);
  auto ns = e.ask("example.com", LDNS_RR_TYPE_NS);
  CHECK(additional(ns) == std::vector<std::string>{"ns1.example.com.\t3600\tin\ta\t192.0.2.53"});
}

TEST_CASE("resolver: ANY is minimal (RFC 8482), complete over TCP on request", "[query]") {
  Engine e = make_engine();
  // One RRset: the first by type at the apex is NS, with its two records.
  const std::vector<std::string> ns{"example.com.\t3600\tin\tns\tns1.example.com.",
                                    "example.com.\t3600\tin\tns\tns2.example.net."};
  CHECK(answer(e.ask("example.com", LDNS_RR_TYPE_ANY, Transport::Udp)) == ns);
  CHECK(answer(e.ask("example.com", LDNS_RR_TYPE_ANY, Transport::Tcp)) == ns);
  query::Options full;
  full.any_full_over_tcp = true;
  Engine f = make_engine(full);
  CHECK(ldns_pkt_ancount(f.ask("example.com", LDNS_RR_TYPE_ANY, Transport::Tcp).get()) == 5);  // SOA, 2 NS, 2 MX
  CHECK(answer(f.ask("example.com", LDNS_RR_TYPE_ANY, Transport::Udp)) == ns);
  auto ent = e.ask("c.example.com", LDNS_RR_TYPE_ANY);
  CHECK(ldns_pkt_ancount(ent.get()) == 0);
  CHECK(authority(ent).size() == 1);
}

TEST_CASE("resolver: the longest matching zone answers, others are REFUSED", "[query]") {
  Engine e = make_engine();
  auto child = e.ask("www.child.example.com", LDNS_RR_TYPE_A);
  CHECK(ldns_pkt_aa(child.get()));
  CHECK(answer(child) == std::vector<std::string>{"www.child.example.com.\t600\tin\ta\t192.0.2.123"});
  auto refused = e.ask("www.example.org", LDNS_RR_TYPE_A);
  CHECK(rcode_name(refused.get()) == "REFUSED");
  CHECK_FALSE(ldns_pkt_aa(refused.get()));
  CHECK(ldns_pkt_ancount(refused.get()) == 0);
  auto root = e.ask(".", LDNS_RR_TYPE_NS);
  CHECK(rcode_name(root.get()) == "REFUSED");
}

TEST_CASE("resolver: the question is echoed with the client's case, names are matched without it",
          "[query]") {
  Engine e = make_engine();
  auto q = make_query("WwW.ExAmPlE.CoM", LDNS_RR_TYPE_A);
  auto r = e.raw(q);
  REQUIRE(r.size() > q.size());
  // Header bytes 12.. hold the question exactly as sent.
  CHECK(std::equal(q.begin() + 12, q.begin() + 12 + 21, r.begin() + 12));
  auto p = parse(r);
  CHECK(ldns_pkt_ancount(p.get()) == 2);
  auto mixed = e.ask("mixed.example.com", LDNS_RR_TYPE_A);
  CHECK(answer(mixed).size() == 1);
}

TEST_CASE("resolver: names in the reply are compressed", "[query]") {
  Engine e = make_engine();
  auto q = make_query("api.example.com", LDNS_RR_TYPE_A, QueryOptions{.edns = false});
  auto r = e.raw(q);
  // header 12 + question 21; 3 answers: CNAME (2+10+6 "www"+ptr), CNAME (2+10+6), A (2+10+4)
  // = 33 + 18 + 18 + 16 = 85. Uncompressed it would be far longer.
  CHECK(r.size() == 85);
}

TEST_CASE("resolver: header flags: RD and CD copied, RA never set, ID echoed", "[query]") {
  Engine e = make_engine();
  QueryOptions o;
  o.rd = true;
  o.id = 0xBEEF;
  auto q = make_query("app.example.com", LDNS_RR_TYPE_A, o);
  q[3] |= 0x10;  // CD
  auto r = e.raw(q);
  auto p = parse(r);
  CHECK(ldns_pkt_id(p.get()) == 0xBEEF);
  CHECK(ldns_pkt_rd(p.get()));
  CHECK(ldns_pkt_cd(p.get()));
  CHECK_FALSE(ldns_pkt_ra(p.get()));
  CHECK(ldns_pkt_qr(p.get()));
}

TEST_CASE("resolver: EDNS: OPT echoed with our payload size, DO copied, payload honoured", "[query]") {
  Engine e = make_engine();
  QueryOptions o;
  o.do_bit = true;
  o.payload = 4096;
  auto p = e.ask("app.example.com", LDNS_RR_TYPE_A, Transport::Udp, o);
  CHECK(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
  CHECK(ldns_pkt_edns_do(p.get()));
  // No EDNS in, none out.
  auto plain = e.ask("app.example.com", LDNS_RR_TYPE_A, Transport::Udp, QueryOptions{.edns = false});
  CHECK_FALSE(ldns_pkt_edns(plain.get()));
}

TEST_CASE("resolver: replies that do not fit are truncated at whole RRsets with TC", "[query]") {
  std::string z = "$ORIGIN big.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
  // 30 TXT of 33 bytes each: ~1000 bytes, more than 512 and less than 1232.
  for (int i = 0; i < 30; ++i) z += "txt TXT \"" + std::to_string(100 + i) + std::string(17, 'x') + "\"\n";
  // 20 MX fit in 512 bytes; their 20 addresses do not.
  for (int i = 0; i < 20; ++i) z += "mx MX " + std::to_string(i) + " m" + std::to_string(i) + "\n";
  for (int i = 0; i < 20; ++i) z += "m" + std::to_string(i) + " A 192.0.2." + std::to_string(i + 1) + "\n";
  Engine e({must_load("big.test", z)});
  SECTION("answer too big for 512 bytes: TC, no partial RRset") {
    auto p = e.ask("txt.big.test", LDNS_RR_TYPE_TXT, Transport::Udp, QueryOptions{.edns = false});
    CHECK(ldns_pkt_tc(p.get()));
    CHECK(ldns_pkt_ancount(p.get()) == 0);
    auto r = e.raw(make_query("txt.big.test", LDNS_RR_TYPE_TXT, QueryOptions{.edns = false}));
    CHECK(r.size() <= 512);
  }
  SECTION("with EDNS 1232 it fits") {
    auto p = e.ask("txt.big.test", LDNS_RR_TYPE_TXT);
    CHECK_FALSE(ldns_pkt_tc(p.get()));
    CHECK(ldns_pkt_ancount(p.get()) == 30);
    CHECK(ldns_pkt_edns(p.get()));
  }
  SECTION("the client's smaller buffer is honoured, and values below 512 mean 512") {
    auto r = e.raw(make_query("txt.big.test", LDNS_RR_TYPE_TXT, QueryOptions{.payload = 100}));
    CHECK(r.size() <= 512);
    CHECK(ldns_pkt_tc(parse(r).get()));
  }
  SECTION("additional data that does not fit is dropped without TC") {
    auto r = e.raw(make_query("mx.big.test", LDNS_RR_TYPE_MX, QueryOptions{.edns = false}));
    auto p = parse(r);
    CHECK(r.size() <= 512);
    CHECK(ldns_pkt_ancount(p.get()) == 20);
    CHECK_FALSE(ldns_pkt_tc(p.get()));
    CHECK(ldns_pkt_arcount(p.get()) > 0);
    CHECK(ldns_pkt_arcount(p.get()) < 20);
  }
  SECTION("over TCP everything fits") {
    auto p = e.ask("mx.big.test", LDNS_RR_TYPE_MX, Transport::Tcp, QueryOptions{.edns = false});
    CHECK(ldns_pkt_ancount(p.get()) == 20);
    CHECK(ldns_pkt_arcount(p.get()) == 20);
  }
}

TEST_CASE("resolver: a referral whose in-bailiwick glue does not fit is truncated (RFC 9471)", "[query]") {
  std::string z = "$ORIGIN glue.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
  // The 13 NS records fit in 512 bytes; their 13 AAAA glue records do not.
  for (int i = 0; i < 13; ++i) {
    std::string ns = "n" + std::to_string(i) + ".kid";
    z += "kid NS " + ns + "\n";
    z += ns + " AAAA 2001:db8::" + std::to_string(i + 1) + "\n";
  }
  Engine e({must_load("glue.test", z)});
  auto p = e.ask("www.kid.glue.test", LDNS_RR_TYPE_A, Transport::Udp, QueryOptions{.edns = false});
  REQUIRE(p);
  CHECK(ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_nscount(p.get()) == 13);
  auto big = e.ask("www.kid.glue.test", LDNS_RR_TYPE_A);
  CHECK_FALSE(ldns_pkt_tc(big.get()));
  CHECK(ldns_pkt_arcount(big.get()) == 13);  // ldns keeps the OPT out of the count
}

TEST_CASE("resolver: meta query types and zone transfers", "[query]") {
  Engine e = make_engine();
  CHECK(rcode_name(e.ask("example.com", LDNS_RR_TYPE_OPT).get()) == "FORMERR");
  CHECK(rcode_name(e.ask("example.com", LDNS_RR_TYPE_AXFR, Transport::Tcp).get()) == "REFUSED");
  CHECK(rcode_name(e.ask("example.com", LDNS_RR_TYPE_IXFR, Transport::Tcp).get()) == "REFUSED");
}

TEST_CASE("resolver: unknown types are answered like any other stored type (RFC 3597)", "[query]") {
  Engine e({must_load("u.test",
                      "$ORIGIN u.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
                      "x TYPE65400 \\# 3 abcdef\nx CAA 0 issue \"ca.example\"\n")});
  auto p = e.ask("x.u.test", 65400);
  REQUIRE(p);
  CHECK(ldns_pkt_ancount(p.get()) == 1);
  CHECK(ldns_pkt_ancount(e.ask("x.u.test", LDNS_RR_TYPE_CAA).get()) == 1);
}

TEST_CASE("resolver: CH TXT id.server and version.server when configured, REFUSED otherwise", "[query]") {
  query::Options o;
  o.nsid = "ns-a.example";
  o.version = "pharos test";
  Engine e = make_engine(o);
  QueryOptions ch;
  ch.qclass = LDNS_RR_CLASS_CH;
  auto id = e.ask("id.server", LDNS_RR_TYPE_TXT, Transport::Udp, ch);
  REQUIRE(id);
  CHECK(answer(id) == std::vector<std::string>{"id.server.\t0\tch\ttxt\t\"ns-a.example\""});
  auto version = e.ask("version.bind", LDNS_RR_TYPE_TXT, Transport::Udp, ch);
  CHECK(answer(version) == std::vector<std::string>{"version.bind.\t0\tch\ttxt\t\"pharos test\""});
  Engine off = make_engine();
  CHECK(rcode_name(off.ask("version.bind", LDNS_RR_TYPE_TXT, Transport::Udp, ch).get()) == "REFUSED");
  QueryOptions hs;
  hs.qclass = 4;  // HS
  CHECK(rcode_name(e.ask("example.com", LDNS_RR_TYPE_A, Transport::Udp, hs).get()) == "REFUSED");
}

TEST_CASE("resolver: counters by transport, rcode and type", "[query]") {
  Engine e = make_engine();
  e.ask("app.example.com", LDNS_RR_TYPE_A);
  e.ask("nope.example.com", LDNS_RR_TYPE_A);
  e.ask("app.example.com", LDNS_RR_TYPE_AAAA, Transport::Tcp);
  e.raw({1, 2, 3});
  const auto& c = e.processor().counters();
  CHECK(c.queries[0].get() == 2);
  CHECK(c.queries[1].get() == 1);
  CHECK(c.rcodes[0].get() == 2);
  CHECK(c.rcodes[3].get() == 1);
  CHECK(c.dropped.get() == 1);
  CHECK(c.edns.get() == 3);
}
