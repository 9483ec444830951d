// Zone building: nodes, empty non-terminals, cuts, wildcards, RRsets, and the semantic checks
// that refuse a zone, each reported as file:line: reason.
#include <catch2/catch.hpp>

#include "dns/types.h"
#include "unit/zone_helpers.h"

using namespace pharos;
using namespace pharos::test;

namespace {

const std::string kHead = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 42 2 3 4 60\n@ NS ns1\nns1 A 192.0.2.1\n";

const zone::Node* find(const zone::Zone& z, const std::string& name) {
  std::vector<uint8_t> wire;
  REQUIRE(dns::name_from_text(name, wire));
  return z.find(wire.data(), wire.size(), dns::hash_bytes(wire.data(), wire.size()));
}

// The error list contains one that ends with `tail` and starts with "<file>:<line>: ".
bool has_error(const Loaded& l, unsigned line, const std::string& tail) {
  for (const auto& e : l.diag.errors) {
    std::string prefix = l.path + ":" + std::to_string(line) + ": ";
    if (e.rfind(prefix, 0) == 0 && e.find(tail) != std::string::npos) return true;
  }
  return false;
}

std::string errors(const Loaded& l) { return l.diag.error_text(); }

}  // namespace

TEST_CASE("zone: a well-formed zone loads with serial, counts and negative TTL", "[zone]") {
  auto z = must_load("example.com", kHead + "www A 192.0.2.2\nwww A 192.0.2.3\n");
  CHECK(z->serial() == 42);
  CHECK(z->record_count() == 5);
  CHECK(z->negative_ttl() == 60);
  CHECK(z->origin_text() == "example.com.");
  const zone::Node* www = find(*z, "www.example.com.");
  REQUIRE(www);
  const zone::RRset* a = z->rrset(*www, dns::type::A);
  REQUIRE(a);
  CHECK(a->count == 2);
}

TEST_CASE("zone: empty non-terminals are created up to the apex", "[zone]") {
  auto z = must_load("example.com", kHead + "a.b.c.d A 192.0.2.9\n");
  for (const char* n : {"b.c.d.example.com.", "c.d.example.com.", "d.example.com."}) {
    const zone::Node* node = find(*z, n);
    REQUIRE(node);
    CHECK(node->rrset_count == 0);
  }
  CHECK_FALSE(find(*z, "x.example.com."));
}

TEST_CASE("zone: cuts are found at the topmost delegation, glue lives below them", "[zone]") {
  auto z = must_load("example.com", kHead + "sub NS ns.sub\nns.sub A 192.0.2.5\ndeep.sub NS ns.sub\n");
  const zone::Node* sub = find(*z, "sub.example.com.");
  const zone::Node* glue = find(*z, "ns.sub.example.com.");
  const zone::Node* deep = find(*z, "deep.sub.example.com.");
  REQUIRE((sub && glue && deep));
  CHECK(sub->cut == z->index_of(*sub));
  CHECK(glue->cut == z->index_of(*sub));
  CHECK(deep->cut == z->index_of(*sub));
  CHECK(z->apex().cut == zone::kNone);
}

TEST_CASE("zone: wildcards are linked from their parent", "[zone]") {
  auto z = must_load("example.com", kHead + "*.dyn A 192.0.2.7\n");
  const zone::Node* parent = find(*z, "dyn.example.com.");
  REQUIRE(parent);
  REQUIRE(parent->wildcard != zone::kNone);
  CHECK(dns::name_to_text(z->name(z->node(parent->wildcard))) == "*.dyn.example.com.");
}

TEST_CASE("zone: duplicate records are dropped, differing TTLs use the lowest, with a warning", "[zone]") {
  auto l = load_zone_text("example.com", kHead + "www 300 A 192.0.2.2\nwww 300 A 192.0.2.2\nwww 100 A 192.0.2.3\n");
  REQUIRE(l.zone);
  const zone::RRset* a = l.zone->rrset(*find(*l.zone, "www.example.com."), dns::type::A);
  CHECK(a->count == 2);
  CHECK(a->ttl == 100);
  REQUIRE(l.diag.warnings.size() == 1);
  CHECK(l.diag.warnings[0].find("RFC 2181") != std::string::npos);
}

TEST_CASE("zone: names are stored lowercase, also inside rdata", "[zone]") {
  auto z = must_load("Example.COM", kHead + "WWW CNAME App.Example.COM.\nApp A 192.0.2.1\n@ MX 10 Mail.Example.COM.\nmail A 192.0.2.25\n");
  const zone::Node* www = find(*z, "www.example.com.");
  REQUIRE(www);
  const zone::RRset* c = z->rrset(*www, dns::type::CNAME);
  CHECK(dns::name_to_text(z->rdata(*c) + 2) == "app.example.com.");
  const zone::RRset* mx = z->rrset(z->apex(), dns::type::MX);
  REQUIRE(mx);
  CHECK(dns::name_to_text(z->rdata(*mx) + 4) == "mail.example.com.");
}

TEST_CASE("zone: semantic errors name the file, the line and the reason", "[zone]") {
  SECTION("no SOA") {
    auto l = load_zone_text("example.com", "$ORIGIN example.com.\n$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n");
    CHECK_FALSE(l.zone);
    CHECK(errors(l).find("no SOA record at the apex") != std::string::npos);
  }
  SECTION("two SOA") {
    auto l = load_zone_text("example.com", kHead + "@ SOA ns1 h 43 2 3 4 60\n");
    CHECK_FALSE(l.zone);
    CHECK(errors(l).find("exactly one is allowed") != std::string::npos);
  }
  SECTION("SOA below the apex") {
    auto l = load_zone_text("example.com", kHead + "sub SOA ns1 h 1 2 3 4 5\n");
    CHECK(has_error(l, 6, "is not at the zone apex"));
  }
  SECTION("no NS at the apex") {
    auto l = load_zone_text("example.com", "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n");
    CHECK(errors(l).find("no NS records at the apex") != std::string::npos);
  }
  SECTION("CNAME beside other data") {
    auto l = load_zone_text("example.com", kHead + "www A 192.0.2.2\nwww CNAME ns1\n");
    CHECK_FALSE(l.zone);
    CHECK(has_error(l, 7, "CNAME at www.example.com. beside other data (A at"));
  }
  SECTION("two CNAMEs") {
    auto l = load_zone_text("example.com", kHead + "www CNAME a\nwww CNAME b\n");
    CHECK(has_error(l, 7, "more than one CNAME record at www.example.com."));
  }
  SECTION("CNAME at the apex") {
    auto l = load_zone_text("example.com", kHead + "@ CNAME elsewhere.net.\n");
    CHECK(has_error(l, 6, "CNAME at example.com. beside other data"));
  }
  SECTION("out-of-zone data") {
    auto l = load_zone_text("example.com", kHead + "www.example.net. A 192.0.2.2\n");
    CHECK_FALSE(l.zone);
    CHECK(has_error(l, 6, "out-of-zone data: www.example.net. is not in zone example.com."));
  }
  SECTION("in-zone NS without an address (missing glue)") {
    auto l = load_zone_text("example.com", kHead + "sub NS ns.sub\n");
    CHECK(has_error(l, 6, "NS ns.sub.example.com. for sub.example.com. is in the zone but has no A or AAAA record"));
  }
  SECTION("apex NS target in the zone without an address") {
    auto l = load_zone_text("example.com", kHead + "@ NS ns2\n");
    CHECK(has_error(l, 4, "NS ns2.example.com. for example.com. is in the zone"));
  }
  SECTION("a class other than IN") {
    auto l = load_zone_text("example.com", kHead + "www CH A 192.0.2.2\n");
    CHECK(has_error(l, 6, "class 3 is not IN"));
  }
  SECTION("malformed generic rdata for a known type") {
    auto l = load_zone_text("example.com", kHead + "www A \\# 3 010203\n");
    CHECK(has_error(l, 6, "bad rdata for A"));
  }
  SECTION("a syntax error stops the load at its line") {
    auto l = load_zone_text("example.com", kHead + "www A not-an-address\n");
    CHECK_FALSE(l.zone);
    CHECK(errors(l).find(l.path + ":6: ") != std::string::npos);
  }
  SECTION("several errors are all reported") {
    auto l = load_zone_text("example.com", kHead + "a CNAME x\na A 192.0.2.1\nb.example.net. A 192.0.2.1\n");
    CHECK(l.diag.errors.size() == 2);
  }
}

TEST_CASE("zone: data hidden below a cut is a warning, not an error", "[zone]") {
  auto l = load_zone_text("example.com", kHead + "sub NS ns.sub\nns.sub A 192.0.2.5\nwww.sub TXT \"hidden\"\nsub MX 1 x\n");
  REQUIRE(l.zone);
  CHECK(l.diag.warnings.size() == 2);
}

TEST_CASE("zone: additional-data targets point at in-zone nodes with addresses", "[zone]") {
  auto z = must_load("example.com", kHead + "@ MX 10 mail\n@ MX 20 mx.example.net.\nmail A 192.0.2.25\n");
  const zone::RRset* mx = z->rrset(z->apex(), dns::type::MX);
  REQUIRE(mx);
  const uint32_t* t = z->targets(*mx);
  REQUIRE(t);
  // Sorted by rdata: preference 10 first.
  CHECK(t[0] != zone::kNone);
  CHECK(t[1] == zone::kNone);
}

TEST_CASE("zone set: longest suffix wins, DS at an apex goes to the parent", "[zone]") {
  auto parent = must_load("example.com", kHead);
  auto child = must_load("a.example.com",
                         "$ORIGIN a.example.com.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
  zone::ZoneSet set({parent, child});
  auto look = [&](const std::string& n, bool ds) {
    std::vector<uint8_t> w;
    REQUIRE(dns::name_from_text(n, w));
    uint8_t off[128];
    unsigned labels = dns::index_labels(w.data(), off);
    return set.find(w.data(), w.size(), labels, off, dns::hash_bytes(w.data(), w.size()), ds);
  };
  CHECK(look("x.y.a.example.com.", false) == child.get());
  CHECK(look("a.example.com.", false) == child.get());
  CHECK(look("a.example.com.", true) == parent.get());
  CHECK(look("b.example.com.", false) == parent.get());
  CHECK(look("example.net.", false) == nullptr);
  CHECK(look(".", false) == nullptr);
}

TEST_CASE("zone set: the hashed lookup for many zones agrees with the scan for few", "[zone]") {
  // Six zones: more than the linear-scan limit, so suffixes are hashed.
  std::vector<std::shared_ptr<const zone::Zone>> zones;
  std::vector<std::string> origins{"example.com.", "a.example.com.", "b.a.example.com.", "example.net.",
                                   "test.", "deep.x.y.z.test."};
  for (const auto& o : origins) {
    zones.push_back(must_load(o, "$ORIGIN " + o + "\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"));
  }
  zone::ZoneSet many(zones);
  zone::ZoneSet few({zones[0], zones[1], zones[2]});
  auto look = [](const zone::ZoneSet& set, const std::string& n, bool ds) -> std::string {
    std::vector<uint8_t> w;
    REQUIRE(dns::name_from_text(n, w));
    uint8_t off[128];
    unsigned labels = dns::index_labels(w.data(), off);
    const zone::Zone* z = set.find(w.data(), w.size(), labels, off, dns::hash_bytes(w.data(), w.size()), ds);
    return z ? z->origin_text() : "-";
  };
  CHECK(look(many, "www.b.a.example.com.", false) == "b.a.example.com.");
  CHECK(look(many, "b.a.example.com.", true) == "a.example.com.");
  CHECK(look(many, "x.example.com.", false) == "example.com.");
  CHECK(look(many, "q.y.z.test.", false) == "test.");
  CHECK(look(many, "a.deep.x.y.z.test.", false) == "deep.x.y.z.test.");
  CHECK(look(many, "test.", true) == "-");
  CHECK(look(many, "example.org.", false) == "-");
  CHECK(look(many, ".", true) == "-");
  for (const char* n : {"www.b.a.example.com.", "a.example.com.", "zz.example.com.", "example.net.", "."}) {
    for (bool ds : {false, true}) {
      std::string expected = look(many, n, ds);
      if (expected == "example.net." || expected == "test." || expected == "deep.x.y.z.test.") continue;
      INFO(n << " ds=" << ds);
      CHECK(look(few, n, ds) == expected);
    }
  }
}
