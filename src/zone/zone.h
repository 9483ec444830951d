// An immutable in-memory zone. Built once by ZoneBuilder, then only read, by any number of
// threads, without locks. Everything lives in a few flat arrays so that a zone of a million
// records is a handful of allocations, and a lookup is one hash probe plus a few compares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/name.h"

namespace pharos::zone {

inline constexpr uint32_t kNone = 0xFFFFFFFFu;

// All records of one type at one name. Rdata of the `count` records lies back to back in the
// zone's rdata array, each as [16-bit length][uncompressed wire rdata], names inside it lowercased.
struct RRset {
  uint16_t type;
  uint16_t count;
  uint32_t ttl;
  uint32_t rdata;    // offset into Zone::rdata_
  uint32_t targets;  // NS, MX, SRV: offset into Zone::targets_ of `count` node indices (or kNone)
};

// A name in the zone: one that owns records, or an empty non-terminal.
struct Node {
  uint32_t name;       // offset into Zone::names_ (uncompressed lowercase wire)
  uint32_t hash;       // low 32 bits of dns::hash_bytes(name)
  uint32_t rrsets;     // index of the first RRset in Zone::rrsets_ (sorted by type)
  uint32_t wildcard;   // node "*.<this name>", or kNone
  uint32_t cut;        // topmost delegation point at or above this node (the apex excluded), or kNone
  uint16_t rrset_count;
  uint8_t name_len;    // including the root byte; wire names are at most 255 bytes
  uint8_t labels;
};

class Zone {
 public:
  // The kinds of answer the zone's data gives for a name (RFC 1034 §4.3.2 step 3).
  enum class Match : uint8_t {
    Exact,       // the node exists and is authoritative data (it may have no RRset of the type)
    Wildcard,    // the name does not exist; `node` is the wildcard that covers it
    Delegation,  // the name is at or below a zone cut; `node` is the cut
    NxDomain,    // the name does not exist; `node` is the closest encloser
  };
  struct Lookup {
    Match match;
    const Node* node;
  };

  // Looks up `name` (lowercase wire, `labels` labels, label offsets in `offsets`), which must be
  // at or below the origin. `hash` is dns::hash_bytes(name, name_len). With `ds`, a delegation
  // point itself is answered as Exact: DS lives on the parent side of the cut (RFC 4035 §3.1.4.1).
  Lookup lookup(const uint8_t* name, size_t name_len, unsigned labels, const uint8_t* offsets, uint64_t hash,
                bool ds) const;

  // The node for exactly this name, or null.
  const Node* find(const uint8_t* name, size_t name_len, uint64_t hash) const;

  const RRset* rrset(const Node& n, uint16_t type) const {
    const RRset* r = rrsets_.data() + n.rrsets;
    for (const RRset* end = r + n.rrset_count; r != end; ++r) {
      if (r->type == type) return r;
    }
    return nullptr;
  }
  std::span<const RRset> rrsets(const Node& n) const { return {rrsets_.data() + n.rrsets, n.rrset_count}; }

  const uint8_t* name(const Node& n) const { return names_.data() + n.name; }
  const uint8_t* rdata(const RRset& r) const { return rdata_.data() + r.rdata; }
  const uint32_t* targets(const RRset& r) const { return r.targets == kNone ? nullptr : targets_.data() + r.targets; }
  const Node& node(uint32_t index) const { return nodes_[index]; }
  uint32_t index_of(const Node& n) const { return static_cast<uint32_t>(&n - nodes_.data()); }

  const uint8_t* origin() const { return names_.data() + nodes_[0].name; }
  size_t origin_len() const { return nodes_[0].name_len; }
  unsigned origin_labels() const { return nodes_[0].labels; }
  const Node& apex() const { return nodes_[0]; }
  const RRset& soa() const { return rrsets_[soa_]; }
  uint32_t serial() const { return serial_; }
  // TTL of the SOA in negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
  uint32_t negative_ttl() const { return negative_ttl_; }

  const std::string& origin_text() const { return origin_text_; }
  const std::string& file() const { return file_; }
  // Every file the zone was read from: the zone file, then its $INCLUDEs.
  const std::vector<std::string>& files() const { return files_; }
  size_t record_count() const { return record_count_; }
  size_t node_count() const { return nodes_.size(); }
  size_t memory_bytes() const;

 private:
  friend class ZoneBuilder;

  std::vector<Node> nodes_;      // nodes_[0] is the apex
  std::vector<uint32_t> index_;  // open addressing over nodes_, kNone = empty; size a power of two
  std::vector<RRset> rrsets_;
  std::vector<uint8_t> names_;
  std::vector<uint8_t> rdata_;
  std::vector<uint32_t> targets_;
  uint32_t soa_ = 0;
  uint32_t serial_ = 0;
  uint32_t negative_ttl_ = 0;
  size_t record_count_ = 0;
  std::string origin_text_;
  std::string file_;
  std::vector<std::string> files_;
};

// Iterates the records of an RRset: each step yields the rdata span.
class RdataIterator {
 public:
  RdataIterator(const Zone& z, const RRset& r) : p_(z.rdata(r)), left_(r.count) {}
  bool next(const uint8_t*& rdata, uint16_t& len) {
    if (left_ == 0) return false;
    len = dns::read_u16(p_);
    rdata = p_ + 2;
    p_ += 2u + len;
    --left_;
    return true;
  }

 private:
  const uint8_t* p_;
  unsigned left_;
};

}  // namespace pharos::zone
