#include "policy/policy_set.h"

#include <algorithm>
#include <map>

#include "dns/master_file.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/types.h"

namespace pharos::policy {

namespace {

// Parses `text` as rdata of `type` the way a zone file line would be, names relative to
// `origin`; appends [length][rdata] to `values` and returns its offset, or kNone. Equal values
// are stored once (`interned`), so that selection compares values by pointer.
uint32_t add_value(std::vector<uint8_t>& values, std::map<std::string, uint32_t>& interned, uint16_t type,
                   const std::string& text, const std::string& origin, std::string& why) {
  uint32_t offset = kNone;
  std::string line = ". 0 IN " + dns::type_to_text(type) + " " + text + "\n";
  auto r = dns::read_master_text(line, "value", origin, [&](const dns::MasterRecord& rec) {
    std::vector<uint8_t> wire(rec.rdata.begin(), rec.rdata.end());
    if (!dns::normalise_rdata(type, wire.data(), static_cast<uint16_t>(wire.size()), why)) return false;
    std::string key(reinterpret_cast<const char*>(wire.data()), wire.size());
    auto [it, fresh] = interned.emplace(std::move(key), static_cast<uint32_t>(values.size()));
    offset = it->second;
    if (!fresh) return false;
    values.push_back(static_cast<uint8_t>(wire.size() >> 8));
    values.push_back(static_cast<uint8_t>(wire.size()));
    values.insert(values.end(), wire.begin(), wire.end());
    return false;  // one record is all there is
  });
  if (!r) why = r.error().message;
  return offset;
}

}  // namespace

PolicySet::Built PolicySet::build(const config::Config& cfg, const zone::ZoneSet& zones, uint64_t registry) {
  auto set = std::make_shared<PolicySet>();
  Built out;
  set->registry_ = registry;
  std::map<std::string, uint32_t> check_ids;
  for (uint32_t i = 0; i < cfg.health_checks.size(); ++i) check_ids[cfg.health_checks[i].name] = i;
  std::map<std::string, uint32_t> record_ids;
  for (uint32_t i = 0; i < cfg.records.size(); ++i) record_ids[cfg.records[i].id] = i;
  std::vector<bool> broken(cfg.records.size(), false);
  std::map<std::string, uint32_t> interned;
  auto error = [&](uint32_t i, const std::string& why) {
    const config::PolicyRecord& r = cfg.records[i];
    out.errors.push_back(cfg.path + ":" + std::to_string(r.line) + ": record " + r.id + ": " + why);
    broken[i] = true;
  };

  // The zone and node each named record answers at.
  struct Place {
    const zone::Zone* zone = nullptr;
    uint32_t node = kNone;
  };
  std::vector<Place> places(cfg.records.size());
  for (uint32_t i = 0; i < cfg.records.size(); ++i) {
    const config::PolicyRecord& r = cfg.records[i];
    if (r.name.empty()) continue;
    std::vector<uint8_t> wire;
    dns::name_from_text(r.name, wire);
    uint8_t offsets[dns::kMaxLabels + 1];
    unsigned labels = dns::index_labels(wire.data(), offsets);
    uint64_t hash = dns::hash_bytes(wire.data(), wire.size());
    const zone::Zone* z = zones.find(wire.data(), wire.size(), labels, offsets, hash);
    if (!z) {
      error(i, "no zone serves " + r.name);
      continue;
    }
    zone::Zone::Lookup found = z->lookup(wire.data(), wire.size(), labels, offsets, hash, false);
    if (found.match == zone::Zone::Match::Delegation) {
      error(i, r.name + " is at or below the delegation " + dns::name_to_text(z->name(*found.node)) + " in zone " +
                   z->origin_text());
      continue;
    }
    if (found.match != zone::Zone::Match::Exact) {
      error(i, "zone " + z->origin_text() + " (" + z->file() + ") has no name " + r.name +
                   "; the zone file must contain it, e.g. with a placeholder record");
      continue;
    }
    const zone::Node& n = *found.node;
    if (r.type != dns::type::CNAME && z->rrset(n, dns::type::CNAME)) {
      error(i, r.name + " has a CNAME in zone " + z->origin_text() + ", which allows no other data");
      continue;
    }
    if (r.type == dns::type::CNAME) {
      bool other = false;
      for (const zone::RRset& s : z->rrsets(n)) {
        other = other || (s.type != dns::type::CNAME && s.type != dns::type::RRSIG && s.type != dns::type::NSEC);
      }
      if (other) {
        error(i, r.name + " has other data in zone " + z->origin_text() +
                     ", so it cannot answer a CNAME (a CNAME placeholder is fine)");
        continue;
      }
    }
    places[i] = Place{z, z->index_of(n)};
  }

  // Records, members and values.
  set->records_.resize(cfg.records.size());
  for (uint32_t i = 0; i < cfg.records.size(); ++i) {
    const config::PolicyRecord& r = cfg.records[i];
    Record& rec = set->records_[i];
    rec.id = r.id;
    rec.name = r.name;
    rec.type = r.type;
    rec.ttl = r.ttl;
    rec.policy = r.policy;
    rec.all_down = r.all_down;
    rec.count = static_cast<uint8_t>(r.count);
    rec.max_answers = static_cast<uint8_t>(r.max_answers);
    rec.line = r.line;
    rec.index = i;
    const std::string origin = places[i].zone ? places[i].zone->origin_text() : ".";
    auto add_member = [&](const config::PolicyMember& m) {
      Member mem{};
      mem.id = static_cast<uint32_t>(set->member_keys_.size());
      auto c = check_ids.find(m.check);
      mem.check = m.check.empty() || c == check_ids.end() ? kNone : c->second;
      mem.weight = static_cast<uint16_t>(m.weight);
      mem.tier = static_cast<uint8_t>(m.tier);
      mem.value = kNone;
      mem.nested = kNone;
      if (!m.record.empty()) {
        auto n = record_ids.find(m.record);
        if (n == record_ids.end()) {
          error(i, "unknown record " + m.record);
          return;
        }
        mem.nested = n->second;
      } else {
        std::string why;
        mem.value = add_value(set->values_, interned, r.type, m.value, origin, why);
        if (mem.value == kNone) {
          error(i, "value \"" + m.value + "\": " + why);
          return;
        }
      }
      set->member_keys_.push_back(health::MemberKey{r.id, m.record.empty() ? m.value : m.record});
      set->members_.push_back(mem);
    };
    if (r.policy == config::Policy::Cidr) {
      rec.group_first = static_cast<uint32_t>(set->groups_.size());
      for (const config::CidrGroup& g : r.groups) {
        uint32_t gi = static_cast<uint32_t>(set->groups_.size()) - rec.group_first;
        Group grp{static_cast<uint32_t>(set->members_.size()), 0};
        for (const config::PolicyMember& m : g.members) add_member(m);
        grp.count = static_cast<uint32_t>(set->members_.size()) - grp.first;
        set->groups_.push_back(grp);
        if (g.is_default) rec.default_group = gi;
        for (const config::Prefix& p : g.prefixes) rec.cidr.add(p.v6, p.addr, p.len, gi);
      }
      rec.group_count = static_cast<uint32_t>(set->groups_.size()) - rec.group_first;
    } else {
      rec.first = static_cast<uint32_t>(set->members_.size());
      for (const config::PolicyMember& m : r.members) add_member(m);
      rec.members = static_cast<uint32_t>(set->members_.size()) - rec.first;
    }
    // Plain: no nested member, no value twice among the members of one choice.
    rec.plain = true;
    auto check_plain = [&](uint32_t first, uint32_t count) {
      std::vector<uint32_t> seen;
      for (uint32_t k = 0; k < count; ++k) {
        const Member& m = set->members_[first + k];
        if (m.nested != kNone || std::find(seen.begin(), seen.end(), m.value) != seen.end()) rec.plain = false;
        seen.push_back(m.value);
      }
    };
    if (r.policy == config::Policy::Cidr) {
      for (uint32_t g = 0; g < rec.group_count; ++g) {
        const Group& grp = set->groups_[rec.group_first + g];
        check_plain(grp.first, grp.count);
      }
    } else {
      check_plain(rec.first, rec.members);
    }
    rec.fallback_first = static_cast<uint32_t>(set->fallback_.size());
    for (const std::string& v : r.fallback) {
      std::string why;
      uint32_t off = add_value(set->values_, interned, r.type, v, origin, why);
      if (off == kNone) {
        error(i, "fallback \"" + v + "\": " + why);
        continue;
      }
      set->fallback_.push_back(off);
    }
    rec.fallback_count = static_cast<uint32_t>(set->fallback_.size()) - rec.fallback_first;
  }

  // The serving index, per zone.
  std::vector<std::vector<Served>> served;
  for (uint32_t i = 0; i < cfg.records.size(); ++i) {
    if (!places[i].zone || broken[i]) continue;
    auto zi = std::find_if(set->zones_.begin(), set->zones_.end(),
                           [&](const ZoneIndex& x) { return x.zone == places[i].zone; });
    if (zi == set->zones_.end()) {
      set->zones_.push_back(ZoneIndex{places[i].zone, std::vector<uint64_t>((places[i].zone->node_count() + 63) / 64), {}, 0});
      served.emplace_back();
      zi = set->zones_.end() - 1;
    }
    uint32_t node = places[i].node;
    zi->bits[node / 64] |= uint64_t{1} << (node % 64);
    served[zi - set->zones_.begin()].push_back(Served{node, cfg.records[i].type, i});
  }
  for (size_t z = 0; z < set->zones_.size(); ++z) {
    ZoneIndex& zi = set->zones_[z];
    size_t size = 2;
    while (size < 2 * served[z].size()) size *= 2;
    zi.served.assign(size, Served{});
    zi.mask = static_cast<uint32_t>(size - 1);
    for (const Served& s : served[z]) {
      uint32_t i = slot_of(s.node, s.type, zi.mask);
      while (zi.served[i].node != kNone) i = (i + 1) & zi.mask;
      zi.served[i] = s;
    }
  }
  out.set = std::move(set);
  return out;
}

}  // namespace pharos::policy
