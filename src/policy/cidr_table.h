// Longest-prefix match over IPv4 and IPv6 prefixes on a path-compressed binary trie (PATRICIA):
// a node per configured prefix and per branching point, so a lookup visits as many nodes as the
// address passes prefixes or forks, comparing each node's whole prefix at once (one XOR and a
// count of leading zeros) instead of walking bit by bit. For IPv4, the walk through the first
// 8 bits is done ahead for each first byte (256 entries, kept up to date by add()). Besides the
// match it gives the ECS scope (RFC 7871 §7.2.1): how many leading bits of the address decided
// the answer, so a resolver may cache it for exactly the network that shares it.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

namespace pharos::policy {

namespace cidr {

__extension__ typedef unsigned __int128 U128;

inline unsigned leading_zeros(uint32_t x) { return static_cast<unsigned>(std::countl_zero(x)); }
inline unsigned leading_zeros(U128 x) {
  const uint64_t hi = static_cast<uint64_t>(x >> 64);
  return hi ? static_cast<unsigned>(std::countl_zero(hi)) : 64u + static_cast<unsigned>(std::countl_zero(static_cast<uint64_t>(x)));
}

// Bit i (0 = the top bit) of k; i below the width.
template <class K>
inline unsigned bit(K k, unsigned i) {
  return static_cast<unsigned>(k >> (sizeof(K) * 8 - 1 - i)) & 1u;
}

// The top `len` bits set.
template <class K>
inline K top(unsigned len) {
  return len == 0 ? K{0} : static_cast<K>(~K{0} << (sizeof(K) * 8 - len));
}

// How many leading bits a and b share.
template <class K>
inline unsigned common(K a, K b) {
  const K x = a ^ b;
  return x == 0 ? static_cast<unsigned>(sizeof(K) * 8) : leading_zeros(x);
}

// Addresses as keys: read big-endian, so bit 0 is the top bit.
inline uint32_t key4(const uint8_t* a) {
  uint32_t k;
  std::memcpy(&k, a, 4);
  return __builtin_bswap32(k);
}

inline U128 key6(const uint8_t* a) {
  uint64_t hi, lo;
  std::memcpy(&hi, a, 8);
  std::memcpy(&lo, a + 8, 8);
  return static_cast<U128>(__builtin_bswap64(hi)) << 64 | __builtin_bswap64(lo);
}

}  // namespace cidr

class CidrTable {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  // Maps the `len`-bit prefix of `addr` (4 or 16 bytes) to `value`. A later add of the same
  // prefix replaces the value.
  void add(bool v6, const uint8_t* addr, unsigned len, uint32_t value);

  struct Match {
    uint32_t value = kNone;  // the value of the longest matching prefix, or kNone
    uint8_t scope = 0;       // leading bits that decided it
  };
  // Looks up the first `bits` bits of `addr` (the rest is unknown, as with an ECS source prefix).
  //
  // The scope: let d be the length of the longest prefix of the address's `bits` bits that is
  // also a prefix of a configured one. Every address sharing those d bits gets the same answer
  // unless a configured prefix continues past them, in which case bit d + 1 decided it too (the
  // address went the other way, or, when d = bits, more specific prefixes lie below what was
  // given): scope = d, or d + 1 when a configured prefix longer than d starts with them.
  Match lookup(bool v6, const uint8_t* addr, unsigned bits) const;

  bool empty() const {
    return v4_.nodes.size() == 1 && v6_.nodes.size() == 1 && v4_.nodes[0].value == kNone && v6_.nodes[0].value == kNone;
  }

 private:
  using U128 = cidr::U128;

  // One family: keys are addresses read big-endian into K, so bit 0 is the top bit.
  template <class K>
  struct Trie {
    static constexpr unsigned kWidth = sizeof(K) * 8;
    struct Node {
      K key;        // the prefix, bits past len zero
      uint32_t child[2] = {kNone, kNone};  // by the bit after the prefix; each child's prefix is longer
      uint32_t value = kNone;
      uint32_t len = 0;
    };
    std::vector<Node> nodes{Node{K{0}}};  // [0] the root: the empty prefix

    // Returns the node whose value or children changed.
    uint32_t add(K key, unsigned len, uint32_t value);
    // The walk from node `from`, which the address starts with, `value` being the longest match
    // above it; bits at most the width.
    Match walk(K key, unsigned bits, uint32_t from, uint32_t value) const;
  };

  // Where the IPv4 walk stands after an address's first 8 bits, for each value of them: at
  // `node` (the deepest within them, `value` the longest match so far), or, when node is kNone,
  // done: (value, scope) whatever the rest of an address with at least 8 bits known.
  struct Step {
    uint32_t node;
    uint32_t value;
    uint8_t scope;
  };
  void index_first_byte(unsigned byte);

  Trie<uint32_t> v4_;
  Trie<U128> v6_;
  std::vector<Step> first4_;  // by the first byte; empty until an IPv4 prefix is added
};

inline CidrTable::Match CidrTable::lookup(bool v6, const uint8_t* addr, unsigned bits) const {
  if (v6) return v6_.walk(cidr::key6(addr), bits > 128 ? 128 : bits, 0, kNone);
  const uint32_t key = cidr::key4(addr);
  if (bits > 32) bits = 32;
  if (bits < 8 || first4_.empty()) return v4_.walk(key, bits, 0, kNone);
  const Step& s = first4_[key >> 24];
  if (s.node == kNone) return Match{s.value, s.scope};
  return v4_.walk(key, bits, s.node, s.value);
}

template <class K>
inline CidrTable::Match CidrTable::Trie<K>::walk(K key, unsigned bits, uint32_t from, uint32_t value) const {
  Match m;
  m.value = value;
  const Node* n = &nodes[from];
  for (;;) {
    // The address (its first `bits` bits) starts with n's prefix.
    if (n->value != kNone) m.value = n->value;
    const unsigned d = n->len;
    uint32_t ci = kNone;
    if (d == bits || (ci = n->child[cidr::bit(key, d)]) == kNone) {
      // The path ends at n: the address's bits end here, or it goes where no prefix does.
      m.scope = static_cast<uint8_t>(d + (n->child[0] != kNone || n->child[1] != kNone));
      return m;
    }
    const Node* c = &nodes[ci];
    const unsigned within = c->len < bits ? c->len : bits;
    const unsigned l = cidr::common(key, c->key);
    if (l < within) {
      // The address leaves the path to c at bit l, which therefore decided.
      m.scope = static_cast<uint8_t>(l + 1);
      return m;
    }
    if (c->len > bits) {
      // The known bits end on the way to c: more specific prefixes lie below them.
      m.scope = static_cast<uint8_t>(bits + 1);
      return m;
    }
    n = c;
  }
}

}  // namespace pharos::policy
