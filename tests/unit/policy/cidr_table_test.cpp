#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "policy/cidr_table.h"

using pharos::policy::CidrTable;

namespace {

struct Addr {
  bool v6;
  uint8_t b[16] = {};
};

Addr addr(const char* text) {
  Addr a{false};
  if (inet_pton(AF_INET, text, a.b) == 1) return a;
  a.v6 = true;
  REQUIRE(inet_pton(AF_INET6, text, a.b) == 1);
  return a;
}

void add(CidrTable& t, const char* text, unsigned len, uint32_t v) {
  Addr a = addr(text);
  t.add(a.v6, a.b, len, v);
}

CidrTable::Match find(const CidrTable& t, const char* text, int bits = -1) {
  Addr a = addr(text);
  return t.lookup(a.v6, a.b, bits < 0 ? (a.v6 ? 128 : 32) : bits);
}

}  // namespace

TEST_CASE("cidr table: longest prefix wins, families apart, scope is the deciding bits", "[policy]") {
  CidrTable t;
  CHECK(t.empty());
  add(t, "10.0.0.0", 8, 1);
  add(t, "10.1.0.0", 16, 2);
  add(t, "0.0.0.0", 0, 9);
  add(t, "2001:db8::", 32, 3);
  CHECK_FALSE(t.empty());
  struct Row {
    const char* a;
    int bits;
    uint32_t value;
    int scope;
  };
  const Row rows[] = {
      {"10.200.0.1", -1, 1, 9},   // 200 leaves the path of 10.1/16 at its first bit
      {"10.1.200.1", -1, 2, 16},  // a leaf: nothing below 10.1/16
      {"11.0.0.1", -1, 9, 8},     // 11 = 00001011 leaves 10 = 00001010 at bit 7
      {"192.0.2.1", -1, 9, 1},
      {"2001:db8:5::1", -1, 3, 32},
      {"2001:db9::1", -1, CidrTable::kNone, 32},  // no ::/0 for IPv6
      {"10.1.0.0", 8, 1, 9},      // only 8 bits known, 10.1/16 below: scope one longer
      {"10.1.0.0", 12, 1, 13},
  };
  for (const Row& r : rows) {
    INFO(r.a << "/" << r.bits);
    auto m = find(t, r.a, r.bits);
    CHECK(m.value == r.value);
    CHECK(int(m.scope) == r.scope);
  }
  add(t, "10.1.0.0", 16, 5);  // replaces
  CHECK(find(t, "10.1.2.3").value == 5);
}
