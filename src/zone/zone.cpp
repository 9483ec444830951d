#include "zone/zone.h"

#include <cstring>

namespace pharos::zone {

const Node* Zone::find(const uint8_t* name, size_t name_len, uint64_t hash) const {
  const uint32_t mask = static_cast<uint32_t>(index_.size() - 1);
  const uint32_t h32 = static_cast<uint32_t>(hash);
  for (uint32_t i = static_cast<uint32_t>(hash >> 32) & mask;; i = (i + 1) & mask) {
    uint32_t idx = index_[i];
    if (idx == kNone) return nullptr;
    const Node& n = nodes_[idx];
    if (n.hash == h32 && n.name_len == name_len && std::memcmp(names_.data() + n.name, name, name_len) == 0) return &n;
  }
}

Zone::Lookup Zone::lookup(const uint8_t* name, size_t name_len, unsigned labels, const uint8_t* offsets,
                          uint64_t hash, bool ds) const {
  const Node* n = find(name, name_len, hash);
  if (n) {
    if (n->cut == kNone) return {Match::Exact, n};
    const Node* cut = &nodes_[n->cut];
    if (ds && cut == n) return {Match::Exact, n};
    return {Match::Delegation, cut};
  }
  // The closest encloser: the longest existing ancestor. Empty non-terminals are nodes, so the
  // first hit on the way up is it; the apex always exists.
  const unsigned strip_max = labels - origin_labels();
  for (unsigned strip = 1; strip <= strip_max; ++strip) {
    // strip == labels (the root zone's apex) has no entry in `offsets`: it is the last byte.
    const size_t off = strip < labels ? offsets[strip] : name_len - 1;
    const uint8_t* suffix = name + off;
    size_t len = name_len - off;
    n = find(suffix, len, dns::hash_bytes(suffix, len));
    if (n) break;
  }
  if (!n) n = &nodes_[0];
  if (n->cut != kNone) return {Match::Delegation, &nodes_[n->cut]};
  if (n->wildcard != kNone) {
    const Node* w = &nodes_[n->wildcard];
    if (w->cut != kNone) return {Match::Delegation, &nodes_[w->cut]};
    return {Match::Wildcard, w};
  }
  return {Match::NxDomain, n};
}

size_t Zone::memory_bytes() const {
  return sizeof(*this) + nodes_.capacity() * sizeof(Node) + index_.capacity() * sizeof(uint32_t) +
         rrsets_.capacity() * sizeof(RRset) + names_.capacity() + rdata_.capacity() +
         targets_.capacity() * sizeof(uint32_t);
}

}  // namespace pharos::zone
