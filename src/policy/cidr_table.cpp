#include "policy/cidr_table.h"

namespace pharos::policy {

template <class K>
void CidrTable::Trie<K>::add(K key, unsigned len, uint32_t value) {
  key &= cidr::top<K>(len);
  uint32_t n = 0;
  for (;;) {
    // Node n's prefix starts `key` and is no longer than it.
    if (nodes[n].len == len) {
      nodes[n].value = value;
      return;
    }
    const unsigned b = cidr::bit(key, nodes[n].len);
    const uint32_t ci = nodes[n].child[b];
    const uint32_t fresh = static_cast<uint32_t>(nodes.size());
    if (ci == kNone) {
      nodes.push_back(Node{key, {kNone, kNone}, value, len});
      nodes[n].child[b] = fresh;
      return;
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
    return;
  }
}

void CidrTable::add(bool v6, const uint8_t* addr, unsigned len, uint32_t value) {
  if (v6) {
    v6_.add(cidr::key6(addr), len > 128 ? 128 : len, value);
  } else {
    v4_.add(cidr::key4(addr), len > 32 ? 32 : len, value);
  }
}

}  // namespace pharos::policy
