#include "policy/cidr_table.h"

namespace pharos::policy {

namespace {
inline unsigned bit_at(const uint8_t* addr, unsigned i) { return (addr[i / 8] >> (7 - i % 8)) & 1u; }
}  // namespace

CidrTable::CidrTable() : nodes_(2) {}

void CidrTable::add(bool v6, const uint8_t* addr, unsigned len, uint32_t value) {
  uint32_t n = v6 ? 1 : 0;
  for (unsigned i = 0; i < len; ++i) {
    unsigned b = bit_at(addr, i);
    if (nodes_[n].child[b] == kNone) {
      nodes_[n].child[b] = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    n = nodes_[n].child[b];
  }
  nodes_[n].value = value;
}

CidrTable::Match CidrTable::lookup(bool v6, const uint8_t* addr, unsigned bits) const {
  const unsigned width = v6 ? 128 : 32;
  if (bits > width) bits = width;
  Match m;
  uint32_t n = v6 ? 1 : 0;
  unsigned depth = 0;
  for (;;) {
    const Node& node = nodes_[n];
    if (node.value != kNone) m.value = node.value;
    if (depth == bits) {
      // Out of known bits. If more specific prefixes lie below, the answer for this network is
      // not uniform: say so with a scope one bit longer than what we were given.
      bool deeper = node.child[0] != kNone || node.child[1] != kNone;
      m.scope = static_cast<uint8_t>(deeper && depth < width ? depth + 1 : depth);
      return m;
    }
    uint32_t next = node.child[bit_at(addr, depth)];
    if (next == kNone) {
      // A leaf: every address sharing these `depth` bits ends here too. Otherwise the next bit
      // decided that we did not go down the other branch, so it counts as well.
      const bool leaf = node.child[0] == kNone && node.child[1] == kNone;
      m.scope = static_cast<uint8_t>(leaf ? depth : depth + 1);
      return m;
    }
    n = next;
    ++depth;
  }
}

}  // namespace pharos::policy
