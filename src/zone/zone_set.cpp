#include "zone/zone_set.h"

#include <cstring>

#include "dns/name.h"

namespace pharos::zone {

ZoneSet::ZoneSet(std::vector<std::shared_ptr<const Zone>> zones) : zones_(std::move(zones)) {
  size_t size = 8;
  while (size < zones_.size() * 2) size *= 2;
  index_.assign(size, kNone);
  const uint32_t mask = static_cast<uint32_t>(size - 1);
  for (uint32_t k = 0; k < zones_.size(); ++k) {
    const Zone& z = *zones_[k];
    uint64_t h = dns::hash_bytes(z.origin(), z.origin_len());
    uint32_t i = static_cast<uint32_t>(h >> 32) & mask;
    while (index_[i] != kNone) i = (i + 1) & mask;
    index_[i] = k;
    label_counts_ |= uint64_t{1} << (z.origin_labels() < 63 ? z.origin_labels() : 63);
  }
}

const Zone* ZoneSet::probe(const uint8_t* name, size_t len, uint64_t hash) const {
  const uint32_t mask = static_cast<uint32_t>(index_.size() - 1);
  for (uint32_t i = static_cast<uint32_t>(hash >> 32) & mask;; i = (i + 1) & mask) {
    uint32_t k = index_[i];
    if (k == kNone) return nullptr;
    const Zone& z = *zones_[k];
    if (z.origin_len() == len && std::memcmp(z.origin(), name, len) == 0) return &z;
  }
}

const Zone* ZoneSet::find_exact(const uint8_t* origin, size_t len) const {
  if (index_.empty()) return nullptr;
  return probe(origin, len, dns::hash_bytes(origin, len));
}

const Zone* ZoneSet::find(const uint8_t* name, size_t name_len, unsigned labels, const uint8_t* offsets,
                          uint64_t full_hash, bool parent_of_apex) const {
  if (index_.empty()) return nullptr;
  if (zones_.size() <= kLinearMax) {
    // A few zones: compare each origin with the name's suffix of the same label count.
    unsigned max_labels = labels;
    if (parent_of_apex) {
      if (labels == 0) return nullptr;
      --max_labels;
    }
    const Zone* best = nullptr;
    for (const auto& zp : zones_) {
      const Zone& z = *zp;
      unsigned zl = z.origin_labels();
      if (zl > max_labels || (best && zl <= best->origin_labels())) continue;
      size_t off = zl == 0 ? name_len - 1 : offsets[labels - zl];
      if (name_len - off == z.origin_len() && std::memcmp(name + off, z.origin(), z.origin_len()) == 0) best = &z;
    }
    return best;
  }
  // Suffixes from the longest; `strip` labels removed from the left. strip == labels is the root.
  for (unsigned strip = parent_of_apex ? 1 : 0; strip <= labels; ++strip) {
    unsigned suffix_labels = labels - strip;
    if (!(label_counts_ & (uint64_t{1} << (suffix_labels < 63 ? suffix_labels : 63)))) continue;
    size_t off = strip < labels ? offsets[strip] : name_len - 1;
    const uint8_t* suffix = name + off;
    size_t len = name_len - off;
    uint64_t h = strip == 0 ? full_hash : dns::hash_bytes(suffix, len);
    if (const Zone* z = probe(suffix, len, h)) return z;
  }
  return nullptr;
}

}  // namespace pharos::zone
