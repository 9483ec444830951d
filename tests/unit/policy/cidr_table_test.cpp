#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

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

namespace {

// The table as it was first written, a binary trie walked bit by bit: the reference the
// path-compressed table must agree with, value and scope, on every lookup.
class BitTrie {
 public:
  void add(bool v6, const uint8_t* addr, unsigned len, uint32_t value) {
    uint32_t n = v6 ? 1 : 0;
    for (unsigned i = 0; i < len; ++i) {
      unsigned b = bit_at(addr, i);
      if (nodes_[n].child[b] == CidrTable::kNone) {
        nodes_[n].child[b] = static_cast<uint32_t>(nodes_.size());
        nodes_.emplace_back();
      }
      n = nodes_[n].child[b];
    }
    nodes_[n].value = value;
  }
  CidrTable::Match lookup(bool v6, const uint8_t* addr, unsigned bits) const {
    const unsigned width = v6 ? 128 : 32;
    if (bits > width) bits = width;
    CidrTable::Match m;
    uint32_t n = v6 ? 1 : 0;
    unsigned depth = 0;
    for (;;) {
      const Node& node = nodes_[n];
      if (node.value != CidrTable::kNone) m.value = node.value;
      if (depth == bits) {
        bool deeper = node.child[0] != CidrTable::kNone || node.child[1] != CidrTable::kNone;
        m.scope = static_cast<uint8_t>(deeper && depth < width ? depth + 1 : depth);
        return m;
      }
      uint32_t next = node.child[bit_at(addr, depth)];
      if (next == CidrTable::kNone) {
        const bool leaf = node.child[0] == CidrTable::kNone && node.child[1] == CidrTable::kNone;
        m.scope = static_cast<uint8_t>(leaf ? depth : depth + 1);
        return m;
      }
      n = next;
      ++depth;
    }
  }

 private:
  static unsigned bit_at(const uint8_t* addr, unsigned i) { return (addr[i / 8] >> (7 - i % 8)) & 1u; }
  struct Node {
    uint32_t child[2] = {CidrTable::kNone, CidrTable::kNone};
    uint32_t value = CidrTable::kNone;
  };
  std::vector<Node> nodes_{2};
};

// An address near one of a few bases, so that prefixes share long paths, fork, and nest.
void near(std::mt19937_64& rng, const uint8_t (*bases)[16], size_t nbases, bool v6, uint8_t* out) {
  const unsigned width = v6 ? 16 : 4;
  std::memcpy(out, bases[rng() % nbases], 16);
  const unsigned flips = static_cast<unsigned>(rng() % 4);
  for (unsigned f = 0; f < flips; ++f) {
    const unsigned i = static_cast<unsigned>(rng() % (width * 8));
    out[i / 8] ^= static_cast<uint8_t>(0x80u >> (i % 8));
  }
  if (rng() % 3 == 0) out[rng() % width] = static_cast<uint8_t>(rng());
}

}  // namespace

TEST_CASE("cidr table: agrees with a bit-by-bit trie on random prefixes and lookups", "[policy]") {
  std::mt19937_64 rng(20261122);
  auto compare = [&](const CidrTable& t, const BitTrie& ref, const uint8_t (*bases)[16], int round, int q) {
    const bool v6 = rng() % 3 == 0;
    const unsigned width = v6 ? 128 : 32;
    uint8_t a[16];
    near(rng, bases, 4, v6, a);
    const unsigned bits = rng() % 2 ? width : static_cast<unsigned>(rng() % (width + 2));  // width + 1: clamped
    const CidrTable::Match got = t.lookup(v6, a, bits);
    const CidrTable::Match want = ref.lookup(v6, a, bits);
    INFO("round " << round << " lookup " << q << " v6 " << v6 << " bits " << bits << " first byte " << int(a[0]));
    REQUIRE(got.value == want.value);
    REQUIRE(int(got.scope) == int(want.scope));
  };
  for (int round = 0; round < 300; ++round) {
    CidrTable t;
    BitTrie ref;
    uint8_t bases[4][16];
    for (auto& b : bases)
      for (auto& x : b) x = static_cast<uint8_t>(rng());
    const int prefixes = 1 + static_cast<int>(rng() % (round < 100 ? 8 : 64));
    // From round 200 on, lookups between the adds too: the IPv4 first-byte index must follow.
    const bool interleave = round >= 200;
    for (int i = 0; i < prefixes; ++i) {
      const bool v6 = rng() % 3 == 0;
      uint8_t a[16];
      near(rng, bases, 4, v6, a);
      // Lengths cluster where real tables have them, with every length possible, and short
      // ones often enough to fork within the first byte.
      const unsigned width = v6 ? 128 : 32;
      const unsigned kind = static_cast<unsigned>(rng() % 4);
      const unsigned len = kind == 0   ? static_cast<unsigned>(rng() % (width + 1))
                           : kind == 1 ? static_cast<unsigned>(rng() % 10)
                                       : (v6 ? 32u + 8u * static_cast<unsigned>(rng() % 5) : 8u * static_cast<unsigned>(rng() % 5));
      const uint32_t value = static_cast<uint32_t>(rng() % 5);
      t.add(v6, a, len, value);
      ref.add(v6, a, len, value);
      if (interleave)
        for (int q = 0; q < 20; ++q) compare(t, ref, bases, round, q);
    }
    for (int q = 0; q < 300; ++q) compare(t, ref, bases, round, q);
  }
}

TEST_CASE("cidr table: by hand, a lone /0 and prefixes that fork and nest", "[policy]") {
  CidrTable t;
  add(t, "::", 0, 4);
  CHECK_FALSE(t.empty());
  CHECK(find(t, "2001:db8::1").value == 4);
  CHECK(find(t, "2001:db8::1").scope == 0);
  CHECK(find(t, "10.0.0.1").value == CidrTable::kNone);
  // 10.1.2.0/24 first, then its parent 10.1.0.0/16 (inserted above it), then a sibling that forks
  // the path at 10.1.0.0/22 vs 10.1.4.0/22.
  add(t, "10.1.2.0", 24, 1);
  add(t, "10.1.0.0", 16, 2);
  add(t, "10.1.4.0", 22, 3);
  CHECK(find(t, "10.1.2.9").value == 1);
  CHECK(int(find(t, "10.1.2.9").scope) == 24);
  CHECK(find(t, "10.1.4.9").value == 3);
  CHECK(int(find(t, "10.1.4.9").scope) == 22);
  CHECK(find(t, "10.1.3.9").value == 2);
  CHECK(int(find(t, "10.1.3.9").scope) == 24);  // leaves 10.1.2/24 at its last bit
  CHECK(find(t, "10.1.128.0").value == 2);
  CHECK(int(find(t, "10.1.128.0").scope) == 17);  // the fork below 10.1/16 is on the 0 side
  CHECK(int(find(t, "10.1.0.0", 16).scope) == 17);
  CHECK(int(find(t, "10.1.0.0", 20).scope) == 21);  // the /22 and /24 fork at bit 21, below the 20 known
  CHECK(find(t, "10.2.0.0").value == CidrTable::kNone);
  CHECK(int(find(t, "10.2.0.0").scope) == 15);
  // 9.x leaves 10.x at bit 6; a prefix under 8.x forks there, and 9.x then leaves it at bit 7.
  CHECK(int(find(t, "9.0.0.1").scope) == 7);
  add(t, "8.0.0.0", 16, 6);
  CHECK(int(find(t, "9.0.0.1").scope) == 8);
  CHECK(find(t, "9.0.0.1").value == CidrTable::kNone);
  CHECK(find(t, "8.0.9.9").value == 6);
  // A first prefix below a childless node gives the other side a scope one longer.
  CidrTable u;
  add(u, "10.0.0.0", 8, 1);
  CHECK(int(find(u, "10.128.0.1").scope) == 8);
  add(u, "10.0.0.0", 9, 2);
  CHECK(int(find(u, "10.128.0.1").scope) == 9);
  CHECK(find(u, "10.128.0.1").value == 1);
}
