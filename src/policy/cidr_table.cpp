#include "policy/cidr_table.h"

namespace pharos::policy {

template <class K>
uint32_t CidrTable::Trie<K>::add(K key, unsigned len, uint32_t value) {
  key &= cidr::top<K>(len);
  uint32_t n = 0;
  for (;;) {
    // Node n's prefix starts `key` and is no longer than it.
    if (nodes[n].len == len) {
      nodes[n].value = value;
      return n;
    }
    const unsigned b = cidr::bit(key, nodes[n].len);
    const uint32_t ci = nodes[n].child[b];
    const uint32_t fresh = static_cast<uint32_t>(nodes.size());
    if (ci == kNone) {
      nodes.push_back(Node{key, {kNone, kNone}, value, len});
      nodes[n].child[b] = fresh;
      return n;
    }
    const Node c = nodes[ci];
    unsigned l = cidr::common(key, c.key);
    if (l > len) l = len;
    if (l > c.len) l = c.len;
    if (l == c.len) {
      n = ci;
      continue;
    }
    // The new prefix leaves c's path at bit l: a node there takes c's place, with c below it.
    if (l == len) {
      Node x{key, {kNone, kNone}, value, len};
      x.child[cidr::bit(c.key, l)] = ci;
      nodes.push_back(x);
    } else {
      Node x{key & cidr::top<K>(l), {kNone, kNone}, kNone, l};  // a fork: no prefix of its own
      x.child[cidr::bit(c.key, l)] = ci;
      x.child[cidr::bit(key, l)] = fresh + 1;
      nodes.push_back(x);
      nodes.push_back(Node{key, {kNone, kNone}, value, len});
    }
    nodes[n].child[b] = fresh;
    return n;
  }
}

void CidrTable::index_first_byte(unsigned byte) {
  // The same walk as Trie::walk, as far as the first 8 bits take it.
  const uint32_t key = uint32_t{byte} << 24;
  uint32_t n = 0;
  uint32_t value = kNone;
  for (;;) {
    const auto& node = v4_.nodes[n];
    if (node.value != kNone) value = node.value;
    const unsigned d = node.len;
    const bool children = node.child[0] != kNone || node.child[1] != kNone;
    if (d == 8) {
      // With nothing below, the walk ends here however many bits follow; otherwise they decide.
      if (children) break;
      first4_[byte] = Step{kNone, value, 8};
      return;
    }
    const uint32_t ci = node.child[cidr::bit(key, d)];
    if (ci == kNone) {
      first4_[byte] = Step{kNone, value, static_cast<uint8_t>(d + children)};
      return;
    }
    const auto& c = v4_.nodes[ci];
    const unsigned within = c.len < 8 ? c.len : 8;
    const unsigned l = cidr::common(key, c.key);
    if (l < within) {
      first4_[byte] = Step{kNone, value, static_cast<uint8_t>(l + 1)};
      return;
    }
    if (c.len > 8) break;  // the rest of the address decides
    n = ci;
  }
  first4_[byte] = Step{n, value, 0};
}

void CidrTable::add(bool v6, const uint8_t* addr, unsigned len, uint32_t value) {
  if (v6) {
    v6_.add(cidr::key6(addr), len > 128 ? 128 : len, value);
    return;
  }
  const uint32_t changed = v4_.add(cidr::key4(addr), len > 32 ? 32 : len, value);
  if (first4_.empty()) {
    first4_.resize(256);
    for (unsigned b = 0; b < 256; ++b) index_first_byte(b);
    return;
  }
  // Only the walks that stand at the changed node read what changed (its value or children),
  // and within the first 8 bits those are the first bytes its prefix covers.
  const auto& n = v4_.nodes[changed];
  if (n.len > 8) return;
  const unsigned first = n.key >> 24;
  const unsigned count = 1u << (8 - n.len);
  for (unsigned b = first; b < first + count; ++b) index_first_byte(b);
}

}  // namespace pharos::policy
