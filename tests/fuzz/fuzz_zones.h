// The zones fuzz_packet answers from: written to a temporary directory, loaded with
// zone::load_zone_file (the same path as the server), and removed again. They cover what the
// resolver and the encoder branch on: wildcards (also under an empty non-terminal, a CNAME
// wildcard and one below a cut), CNAME chains inside a zone, across zones, out of them, into a
// delegation, in loops and longer than the chain limit, delegations with glue (one too fat for
// 512 bytes), DS at a cut and at a child apex we also serve, big TXT RRsets, MX/SRV targets in
// and out of the zone and below a cut, empty non-terminals, long and many-label names, an
// origin of more than 63 labels, and (in a second zone set) the root zone.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "zone/zone_builder.h"
#include "zone/zone_set.h"

namespace pharos::fuzz {

inline std::string zone_example_com() {
  std::string z = R"($ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1 hostmaster ( 2024010101 7200 900 1209600 300 )
        IN NS   ns1
        IN NS   ns2
        IN NS   ns.example.net.
        IN MX   10 mail
        IN MX   20 mail2
        IN MX   30 mx.example.net.
        IN TXT  "v=spf1 mx -all"
        IN A    192.0.2.1
        IN AAAA 2001:db8::1
        IN CAA  0 issue "ca.example.net"
ns1     IN A    192.0.2.53
ns1     IN AAAA 2001:db8::53
ns2     IN A    198.51.100.53
mail    IN A    192.0.2.25
mail    IN AAAA 2001:db8::25
mail2   IN A    192.0.2.26
www     IN A    192.0.2.80
www     IN A    192.0.2.81
www     IN AAAA 2001:db8::80
WWW2    IN CNAME WWW

; CNAME chains
c1          IN CNAME c2
c2          IN CNAME c3.example.com.
c3     300  IN CNAME www
alias-net   IN CNAME www.example.net.
alias-back  IN CNAME back.example.net.
alias-out   IN CNAME www.elsewhere.example.
alias-wild  IN CNAME foo.wild
alias-cw    IN CNAME bar.cw
alias-sub   IN CNAME host.sub
alias-nx    IN CNAME nothing-here
alias-child IN CNAME www.child
alias-ent   IN CNAME b.ent
alias-big   IN CNAME big
loop1       IN CNAME loop2
loop2       IN CNAME loop1
self        IN CNAME self
l1  IN CNAME l2
l2  IN CNAME l3
l3  IN CNAME l4
l4  IN CNAME l5
l5  IN CNAME l6
l6  IN CNAME l7
l7  IN CNAME l8
l8  IN CNAME l9
l9  IN CNAME l10
l10 IN CNAME l11
l11 IN CNAME l12
l12 IN CNAME l13
l13 IN CNAME l14
l14 IN CNAME www

; wildcards
*.wild        IN A    192.0.2.100
*.wild        IN AAAA 2001:db8::100
*.wild        IN MX   10 mail
*.wild        IN TXT  "synthesised"
exists.wild   IN TXT  "not synthesised"
*.cw          IN CNAME www
*.cw-loop     IN CNAME x.cw-loop
*.a.b.ent     IN TXT  "wildcard under an empty non-terminal"
*             IN TXT  "apex wildcard"

; empty non-terminals: ent, b.ent and a.b.ent own nothing
host.a.b.ent  IN A    192.0.2.7

; delegations
sub           IN NS   ns1.sub
sub           IN NS   ns2.sub
sub           IN NS   ns.example.net.
sub           IN DS   12345 13 2 2D711642B726B04401627CA9FBAC32F5C8530FB1903CC4DB02258717921A4881
ns1.sub       IN A    192.0.2.153
ns1.sub       IN AAAA 2001:db8::153
ns2.sub       IN A    198.51.100.153
*.sub         IN A    192.0.2.155
child         IN NS   ns1.child
child         IN NS   ns2.child
child         IN DS   54321 8 2 2D711642B726B04401627CA9FBAC32F5C8530FB1903CC4DB02258717921A4882
ns1.child     IN A    192.0.2.200
ns2.child     IN AAAA 2001:db8::200
outside       IN NS   ns1.example.net.
outside       IN NS   ns2.example.org.
mxsub         IN MX   10 ns1.sub
mxsub         IN MX   20 mail

; SRV, with targets in the zone, out of it, and "."
_sip._tcp     IN SRV  10 60 5060 sip1
_sip._tcp     IN SRV  20 40 5060 sip2
_sip._tcp     IN SRV  30 0 5060 sip.example.net.
_sip._udp     IN SRV  0 0 0 .
sip1          IN A    192.0.2.40
sip2          IN AAAA 2001:db8::40

; other types
ptr           IN PTR   www
hinfo         IN HINFO "PC" "Linux"
naptr         IN NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .
dname         IN DNAME example.net.
unknown       IN TYPE65280 \# 4 deadbeef
empty-rdata   IN TYPE65281 \# 0
many          IN A     192.0.2.9
many          IN AAAA  2001:db8::9
many          IN TXT   "many types"
many          IN MX    5 many
many          IN HINFO "x" "y"
many          IN CAA   0 iodef "mailto:security@example.com"
many          IN TYPE65000 \# 2 0102
)";
  // A fat delegation: 13 name servers with in-bailiwick glue, more than fits in 512 bytes.
  for (int i = 1; i <= 13; ++i) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "fat IN NS ns%02d.fat\nns%02d.fat IN A 192.0.2.%d\nns%02d.fat IN AAAA 2001:db8:f::%d\n",
                  i, i, i, i, i);
    z += buf;
  }
  // Big RRsets: 40 TXT records of ~100 bytes, and one record of ten 255-byte strings.
  for (int i = 0; i < 40; ++i) {
    z += "big IN TXT \"record " + std::to_string(i) + " " + std::string(90, static_cast<char>('a' + i % 26)) + "\"\n";
  }
  z += "bigrec IN TXT";
  for (int i = 0; i < 10; ++i) z += " \"" + std::string(255, static_cast<char>('A' + i)) + "\"";
  z += "\n";
  // A name of about 250 bytes and one of 100 labels, and CNAMEs to them.
  std::string l63(63, 'x');
  std::string longname = std::string(40, 'y') + "." + l63 + "." + l63 + "." + l63;
  z += longname + " IN A 192.0.2.250\n";
  z += longname + " IN TXT \"long\"\n";
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += (i ? ".d" : "d");
  z += deep + " IN A 192.0.2.251\n";
  z += deep + " IN MX 10 " + longname + "\n";
  z += "alias-long IN CNAME " + longname + "\n";
  z += "alias-deep IN CNAME " + deep + "\n";
  return z;
}

inline std::string zone_example_net() {
  return R"($ORIGIN example.net.
$TTL 600
@     IN SOA ns.example.net. admin.example.net. ( 7 3600 600 86400 60 )
@     IN NS  ns
@     IN NS  ns1.example.com.
ns    IN A   203.0.113.53
www   IN A   203.0.113.80
back  IN CNAME c1.example.com.
loop  IN CNAME loop.example.com.
*     IN A   203.0.113.1
*     IN MX  0 mail.example.com.
)";
}

inline std::string zone_child() {
  return R"($ORIGIN child.example.com.
$TTL 300
@     IN SOA ns1 hostmaster ( 1 3600 600 86400 300 )
@     IN NS  ns1
@     IN NS  ns2
ns1   IN A   192.0.2.200
ns2   IN AAAA 2001:db8::200
www   IN A   192.0.2.201
back  IN CNAME www.example.com.
)";
}

// A zone whose origin has 70 labels (the zone set's "63 or more" bucket).
inline std::string deep_origin() {
  std::string o;
  for (int i = 0; i < 70; ++i) o += "o.";
  return o + "example.org.";
}

inline std::string zone_deep() {
  return "$TTL 60\n@ IN SOA ns.example.net. h.example.net. 1 2 3 4 5\n@ IN NS ns.example.net.\n"
         "@ IN A 192.0.2.77\nwww IN A 192.0.2.78\n* IN TXT \"deep\"\n";
}

// The root zone, for a zone set that has one (no query is then refused for want of a zone).
inline std::string zone_root() {
  return R"($ORIGIN .
$TTL 86400
@                   IN SOA  a.root-servers.net. nstld.verisign-grs.com. ( 2024010100 1800 900 604800 86400 )
@                   IN NS   a.root-servers.net.
@                   IN NS   b.root-servers.net.
a.root-servers.net. IN A    198.41.0.4
a.root-servers.net. IN AAAA 2001:503:ba3e::2:30
b.root-servers.net. IN A    170.247.170.2
com.                IN NS   a.gtld-servers.net.
com.                IN DS   19718 13 2 8ACBB0CD28F41250A80A491389424D341522D946B0DA0C0291F2D3D771D7805A
net.                IN NS   a.gtld-servers.net.
a.gtld-servers.net. IN A    192.5.6.30
org.                IN NS   ns.org.
ns.org.             IN A    192.0.2.99
x.y.test.           IN TXT  "under two empty non-terminals"
)";
}

struct FuzzZones {
  std::shared_ptr<const zone::ZoneSet> zones;      // example.com, child.example.com, example.net, deep
  std::shared_ptr<const zone::ZoneSet> with_root;  // the same and the root zone
};

// Loads the zones above; exits on any failure (the fuzzer would be meaningless without them).
inline FuzzZones load_fuzz_zones() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/pharos-fuzz-zones-XXXXXX";
  if (!::mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  struct Spec {
    std::string origin;
    std::string text;
  };
  const Spec specs[] = {{"example.com.", zone_example_com()},
                        {"example.net.", zone_example_net()},
                        {"child.example.com.", zone_child()},
                        {deep_origin(), zone_deep()},
                        {".", zone_root()}};
  std::vector<std::shared_ptr<const zone::Zone>> zones;
  for (const Spec& s : specs) {
    std::string path = dir + "/zone";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(s.text.data(), 1, s.text.size(), f) != s.text.size() || std::fclose(f) != 0) {
      std::perror(path.c_str());
      std::exit(1);
    }
    zone::Diagnostics diag;
    auto z = zone::load_zone_file(s.origin, path, diag);
    std::remove(path.c_str());
    if (!z) {
      std::fprintf(stderr, "fuzz zone %s failed to load:\n%s\n", s.origin.c_str(), z.error().message.c_str());
      ::rmdir(dir.c_str());
      std::exit(1);
    }
    zones.push_back(*z);
  }
  ::rmdir(dir.c_str());
  FuzzZones out;
  out.with_root = std::make_shared<const zone::ZoneSet>(zones);
  zones.pop_back();
  out.zones = std::make_shared<const zone::ZoneSet>(std::move(zones));
  return out;
}

}  // namespace pharos::fuzz
