// The zones a server answers for. Finding the zone for a name is the longest-suffix match over
// the zone origins, probing only the suffix lengths at which some zone exists.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "zone/zone.h"

namespace pharos::zone {

class ZoneSet {
 public:
  ZoneSet() = default;
  explicit ZoneSet(std::vector<std::shared_ptr<const Zone>> zones);

  // The zone with the longest origin that is `name` or a suffix of it, or null. `full_hash` is
  // dns::hash_bytes(name, name_len). With `parent_of_apex`, a name that is exactly a zone's
  // origin is looked for in the enclosing zone instead (for DS queries, RFC 4035 §3.1.4.1).
  const Zone* find(const uint8_t* name, size_t name_len, unsigned labels, const uint8_t* offsets, uint64_t full_hash,
                   bool parent_of_apex = false) const;

  const Zone* find_exact(const uint8_t* origin, size_t len) const;

  const std::vector<std::shared_ptr<const Zone>>& zones() const { return zones_; }
  size_t size() const { return zones_.size(); }

 private:
  const Zone* probe(const uint8_t* name, size_t len, uint64_t hash) const;
  static constexpr size_t kLinearMax = 4;  // up to this many zones, a scan beats hashing suffixes

  std::vector<std::shared_ptr<const Zone>> zones_;
  std::vector<uint32_t> index_;       // open addressing over zones_
  uint64_t label_counts_ = 0;         // bit n: some origin has n labels (bit 63: 63 or more)
};

}  // namespace pharos::zone
