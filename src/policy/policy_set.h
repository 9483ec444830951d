// Policy records compiled for the query path: values in wire form, members with their check ids,
// nested records linked by index, cidr tables, and an index from (zone, node, type) to the
// record that answers there. Immutable once built; built on the loader thread whenever the
// config or a zone changes, shared by every worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "health/health_view.h"
#include "policy/cidr_table.h"
#include "zone/zone_set.h"

namespace pharos::policy {

inline constexpr uint32_t kNone = 0xFFFFFFFFu;

struct Member {
  uint32_t id;      // member id: index in PolicySet::member_keys(), for overrides
  uint32_t check;   // health check id (position in config.health_checks), or kNone: always healthy
  uint32_t value;   // offset of [length][rdata] in the values array, or kNone for a nested member
  uint32_t nested;  // index of the nested record, or kNone
  uint16_t weight;
  uint8_t tier;
};

struct Group {
  uint32_t first;  // members
  uint32_t count;
};

struct Record {
  std::string id;
  std::string name;  // absolute, presentation form; empty for a pool
  uint16_t type;
  uint32_t ttl;
  config::Policy policy;
  config::AllDown all_down;
  uint8_t count;        // weighted: members per answer
  uint8_t max_answers;  // multivalue, cidr
  uint32_t index = 0;   // in the set's records()
  uint32_t first = 0;   // members (not cidr)
  uint32_t members = 0;
  uint32_t fallback_first = 0;  // fallback value offsets
  uint32_t fallback_count = 0;
  uint32_t group_first = 0;     // cidr groups
  uint32_t group_count = 0;
  uint32_t default_group = kNone;
  CidrTable cidr;  // prefix -> group index (relative to group_first)
  // No nested member, and no value given twice among the members a query chooses from (the
  // record's, or one cidr group's): a choice never repeats a value, so selection need not check.
  bool plain = false;
  unsigned line = 0;  // in the config
};

class PolicySet {
 public:
  struct Built {
    std::shared_ptr<const PolicySet> set;
    std::vector<std::string> errors;  // "config:line: record www.example.com. A: reason"; those records are not served
  };
  // Compiles `cfg.records` against the zones they are served from. `registry` tags the set so
  // that only health views of the same generation are combined with it.
  static Built build(const config::Config& cfg, const zone::ZoneSet& zones, uint64_t registry);

  // The record answering `type` at `node` of `zone`, or null. Cheap when the node has none (a
  // bit per node), and a hash probe when it has.
  const Record* find(const zone::Zone* zone, uint32_t node, uint16_t type) const {
    for (const ZoneIndex& zi : zones_) {
      if (zi.zone != zone) continue;
      if (node / 64 >= zi.bits.size() || !(zi.bits[node / 64] & (uint64_t{1} << (node % 64)))) return nullptr;
      for (uint32_t i = slot_of(node, type, zi.mask);; i = (i + 1) & zi.mask) {
        const Served& s = zi.served[i];
        if (s.node == node && s.type == type) return &records_[s.record];
        if (s.node == kNone) return nullptr;
      }
    }
    return nullptr;
  }

  const std::vector<Record>& records() const { return records_; }
  const Record& record(uint32_t i) const { return records_[i]; }
  const Member& member(uint32_t i) const { return members_[i]; }
  const Group& group(uint32_t i) const { return groups_[i]; }
  size_t group_count() const { return groups_.size(); }
  uint32_t fallback(uint32_t i) const { return fallback_[i]; }
  // [16-bit length][rdata] at `offset`.
  const uint8_t* value(uint32_t offset) const { return values_.data() + offset; }
  const std::vector<health::MemberKey>& member_keys() const { return member_keys_; }
  uint64_t registry() const { return registry_; }
  bool empty() const { return records_.empty(); }

 private:
  struct Served {
    uint32_t node = kNone;  // kNone: an empty slot
    uint16_t type = 0;
    uint32_t record = 0;
  };
  struct ZoneIndex {
    const zone::Zone* zone;
    std::vector<uint64_t> bits;  // nodes with a policy record
    std::vector<Served> served;  // open addressing by (node, type), at most half full
    uint32_t mask = 0;           // served.size() - 1
  };
  static uint32_t slot_of(uint32_t node, uint16_t type, uint32_t mask) {
    return static_cast<uint32_t>(((uint64_t{node} << 16 | type) * 0x9E3779B97F4A7C15ull) >> 40) & mask;
  }

  std::vector<Record> records_;
  std::vector<Member> members_;
  std::vector<Group> groups_;
  std::vector<uint32_t> fallback_;
  std::vector<uint8_t> values_;
  std::vector<health::MemberKey> member_keys_;
  std::vector<ZoneIndex> zones_;
  uint64_t registry_ = 0;
};

}  // namespace pharos::policy
