#include "zone/zone_builder.h"

#include <algorithm>
#include <cstring>

#include "dns/master_file.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/types.h"

namespace pharos::zone {

using dns::read_u16;
using dns::read_u32;
namespace type = dns::type;

void Diagnostics::error(std::string m) {
  if (errors.size() < kMaxMessages) {
    errors.push_back(std::move(m));
  } else {
    ++errors_dropped;
  }
}

void Diagnostics::warning(std::string m) {
  if (warnings.size() < kMaxMessages) {
    warnings.push_back(std::move(m));
  } else {
    ++warnings_dropped;
  }
}

std::string Diagnostics::error_text() const {
  std::string s;
  for (const auto& e : errors) {
    if (!s.empty()) s += '\n';
    s += e;
  }
  if (errors_dropped) s += "\n(" + std::to_string(errors_dropped) + " more errors)";
  return s;
}

namespace {

// Where the one embedded name starts in rdata of the types whose names we index (NS, MX, SRV).
int target_offset(uint16_t t) {
  switch (t) {
    case type::NS:
      return 0;
    case type::MX:
      return 2;
    case type::SRV:
      return 6;
    default:
      return -1;
  }
}

bool is_meta_type(uint16_t t) {
  return t == type::OPT || t == type::TSIG || t == type::TKEY || t == type::IXFR || t == type::AXFR ||
         t == type::MAILA || t == type::MAILB || t == type::ANY || t == 0;
}

}  // namespace

ZoneBuilder::ZoneBuilder(const std::string& origin, std::string file, Diagnostics& diag)
    : zone_(std::make_unique<Zone>()), diag_(diag) {
  zone_->file_ = std::move(file);
  std::vector<uint8_t> wire;
  origin_ok_ = dns::name_from_text(origin, wire);
  if (!origin_ok_) {
    diag_.error(zone_->file_ + ": bad zone origin \"" + origin + "\"");
    wire.assign(1, 0);
  }
  zone_->origin_text_ = dns::name_to_text(wire.data());
  zone_->index_.assign(1024, kNone);
  find_or_add_node(wire.data(), wire.size());  // the apex is node 0
}

ZoneBuilder::~ZoneBuilder() = default;

void ZoneBuilder::grow_index() {
  Zone& z = *zone_;
  size_t size = z.index_.size() * 2;
  z.index_.assign(size, kNone);
  const uint32_t mask = static_cast<uint32_t>(size - 1);
  for (uint32_t idx = 0; idx < z.nodes_.size(); ++idx) {
    const Node& n = z.nodes_[idx];
    uint64_t h = dns::hash_bytes(z.names_.data() + n.name, n.name_len);
    uint32_t i = static_cast<uint32_t>(h >> 32) & mask;
    while (z.index_[i] != kNone) i = (i + 1) & mask;
    z.index_[i] = idx;
  }
}

uint32_t ZoneBuilder::find_or_add_node(const uint8_t* name, size_t len) {
  Zone& z = *zone_;
  uint64_t h = dns::hash_bytes(name, len);
  if (const Node* n = z.find(name, len, h)) return z.index_of(*n);
  if ((z.nodes_.size() + 1) * 2 > z.index_.size()) grow_index();
  Node n{};
  n.name = static_cast<uint32_t>(z.names_.size());
  n.hash = static_cast<uint32_t>(h);
  n.name_len = static_cast<uint8_t>(len);
  n.labels = static_cast<uint8_t>(dns::count_labels(name));
  n.wildcard = kNone;
  n.cut = kNone;
  z.names_.insert(z.names_.end(), name, name + len);
  uint32_t idx = static_cast<uint32_t>(z.nodes_.size());
  z.nodes_.push_back(n);
  const uint32_t mask = static_cast<uint32_t>(z.index_.size() - 1);
  uint32_t i = static_cast<uint32_t>(h >> 32) & mask;
  while (z.index_[i] != kNone) i = (i + 1) & mask;
  z.index_[i] = idx;
  return idx;
}

std::string ZoneBuilder::where(const Rec& r) const { return files_[r.file] + ":" + std::to_string(r.line); }

void ZoneBuilder::add(const uint8_t* owner, uint16_t t, uint16_t rclass, uint32_t ttl, const uint8_t* rdata,
                      uint16_t rdlen, const std::string& file, unsigned line) {
  if (&file != last_file_ptr_) {
    auto it = std::find(files_.begin(), files_.end(), file);
    last_file_ = static_cast<uint16_t>(it - files_.begin());
    if (it == files_.end()) files_.push_back(file);
    last_file_ptr_ = &file;
  }
  auto fail = [&](const std::string& reason) { diag_.error(file + ":" + std::to_string(line) + ": " + reason); };
  const Zone& z = *zone_;
  size_t owner_len = dns::name_length(owner);
  if (rclass != dns::rclass::IN) return fail("class " + std::to_string(rclass) + " is not IN");
  if (is_meta_type(t)) return fail("type " + dns::type_to_text(t) + " cannot be stored in a zone");
  if (!dns::is_subdomain(owner, owner_len, z.origin(), z.origin_len())) {
    return fail("out-of-zone data: " + dns::name_to_text(owner) + " is not in zone " + z.origin_text_);
  }
  size_t at = raw_.size();
  raw_.insert(raw_.end(), rdata, rdata + rdlen);
  std::string why;
  if (!dns::normalise_rdata(t, raw_.data() + at, rdlen, why)) {
    raw_.resize(at);
    return fail(why);
  }
  uint32_t node;
  if (last_node_ != kNone && z.nodes_[last_node_].name_len == owner_len &&
      std::memcmp(z.names_.data() + z.nodes_[last_node_].name, owner, owner_len) == 0) {
    node = last_node_;  // zone files group records by owner: skip the hash most of the time
  } else {
    node = last_node_ = find_or_add_node(owner, owner_len);
  }
  recs_.push_back(Rec{node, t, rdlen, ttl, static_cast<uint32_t>(at), line, last_file_});
}

std::string ZoneBuilder::where_node(uint32_t node, uint16_t t) const {
  // The first record of that type at that node; recs_ is sorted by then.
  auto it = std::lower_bound(recs_.begin(), recs_.end(), std::make_pair(node, t),
                             [](const Rec& r, const std::pair<uint32_t, uint16_t>& k) {
                               return r.node != k.first ? r.node < k.first : r.type < k.second;
                             });
  if (it != recs_.end() && it->node == node) return where(*it);
  return zone_->file_;
}

Result<std::shared_ptr<const Zone>> ZoneBuilder::build() {
  Zone& z = *zone_;
  built_ = true;
  if (!origin_ok_) return Error{diag_.error_text()};

  // Records into RRsets: sort by node, type and rdata; drop exact duplicates (RFC 2181 §5).
  std::sort(recs_.begin(), recs_.end(), [this](const Rec& a, const Rec& b) {
    if (a.node != b.node) return a.node < b.node;
    if (a.type != b.type) return a.type < b.type;
    int c = std::memcmp(raw_.data() + a.rdata, raw_.data() + b.rdata, std::min(a.rdlen, b.rdlen));
    return c != 0 ? c < 0 : a.rdlen < b.rdlen;
  });
  recs_.erase(std::unique(recs_.begin(), recs_.end(),
                          [this](const Rec& a, const Rec& b) {
                            return a.node == b.node && a.type == b.type && a.rdlen == b.rdlen &&
                                   std::memcmp(raw_.data() + a.rdata, raw_.data() + b.rdata, a.rdlen) == 0;
                          }),
              recs_.end());
  z.record_count_ = recs_.size();

  // Empty non-terminals: every node's parent exists, up to the apex (RFC 4592 §2.2.2).
  const size_t named_nodes = z.nodes_.size();
  std::vector<uint32_t> parent;
  parent.reserve(named_nodes + named_nodes / 4);
  for (uint32_t i = 0; i < z.nodes_.size(); ++i) {
    if (i == 0) {
      parent.push_back(kNone);
      continue;
    }
    const Node n = z.nodes_[i];
    const uint8_t* name = z.names_.data() + n.name;
    size_t skip = name[0] + 1u;
    // Copy: adding a node may move names_.
    uint8_t buf[dns::kMaxNameLength];
    std::memcpy(buf, name + skip, n.name_len - skip);
    parent.push_back(find_or_add_node(buf, n.name_len - skip));
  }

  // RRsets, in node order; rdata copied into the final array with its length prefix.
  z.rrsets_.reserve(recs_.size());
  z.rdata_.reserve(raw_.size() + 2 * recs_.size());
  std::vector<uint32_t> first_rec;  // per RRset: index of its first record, for messages
  first_rec.reserve(recs_.size());
  for (size_t i = 0; i < recs_.size();) {
    const Rec& r = recs_[i];
    Node& n = z.nodes_[r.node];
    if (n.rrset_count == 0) n.rrsets = static_cast<uint32_t>(z.rrsets_.size());
    RRset set{r.type, 0, r.ttl, static_cast<uint32_t>(z.rdata_.size()), kNone};
    first_rec.push_back(static_cast<uint32_t>(i));
    size_t j = i;
    for (; j < recs_.size() && recs_[j].node == r.node && recs_[j].type == r.type; ++j) {
      const Rec& m = recs_[j];
      if (m.ttl != set.ttl) {
        diag_.warning(where(m) + ": TTL " + std::to_string(m.ttl) + " differs from " + std::to_string(set.ttl) +
                      " in the same RRset; using the lowest (RFC 2181 §5.2)");
        set.ttl = std::min(set.ttl, m.ttl);
      }
      if (set.count == 0xFFFF) {
        diag_.error(where(m) + ": too many records in one RRset");
        break;
      }
      uint8_t len[2];
      dns::write_u16(len, m.rdlen);
      z.rdata_.insert(z.rdata_.end(), len, len + 2);
      z.rdata_.insert(z.rdata_.end(), raw_.begin() + m.rdata, raw_.begin() + m.rdata + m.rdlen);
      ++set.count;
    }
    z.rrsets_.push_back(set);
    ++n.rrset_count;
    i = j;
  }
  std::vector<uint8_t>().swap(raw_);

  // Zone cuts: parents before children, so each node inherits its parent's topmost cut.
  std::vector<uint32_t> by_labels(z.nodes_.size());
  {
    std::vector<uint32_t> count(dns::kMaxLabels + 2, 0);
    for (const Node& n : z.nodes_) ++count[n.labels + 1];
    for (size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
    for (uint32_t i = 0; i < z.nodes_.size(); ++i) by_labels[count[z.nodes_[i].labels]++] = i;
  }
  for (uint32_t i : by_labels) {
    if (i == 0) continue;
    Node& n = z.nodes_[i];
    uint32_t inherited = z.nodes_[parent[i]].cut;
    n.cut = inherited != kNone ? inherited : (z.rrset(n, type::NS) ? i : kNone);
    const uint8_t* name = z.names_.data() + n.name;
    if (name[0] == 1 && name[1] == '*') z.nodes_[parent[i]].wildcard = i;
  }

  // Semantic checks.
  const Node& apex = z.nodes_[0];
  const RRset* soa = z.rrset(apex, type::SOA);
  if (!soa) {
    diag_.error(z.file_ + ": zone " + z.origin_text_ + ": no SOA record at the apex");
  } else if (soa->count != 1) {
    diag_.error(where_node(0, type::SOA) + ": zone " + z.origin_text_ + " has " + std::to_string(soa->count) +
                " SOA records; exactly one is allowed");
  } else {
    z.soa_ = static_cast<uint32_t>(soa - z.rrsets_.data());
    const uint8_t* rd = z.rdata(*soa) + 2;
    size_t names = dns::name_length(rd);
    names += dns::name_length(rd + names);
    z.serial_ = read_u32(rd + names);
    z.negative_ttl_ = std::min(soa->ttl, read_u32(rd + names + 16));
  }
  if (!z.rrset(apex, type::NS)) diag_.error(z.file_ + ": zone " + z.origin_text_ + ": no NS records at the apex");

  z.targets_.reserve(z.rrsets_.size() / 8);
  for (uint32_t i = 0; i < z.nodes_.size(); ++i) {
    const Node& n = z.nodes_[i];
    std::string owner;
    auto owner_text = [&]() -> const std::string& {
      if (owner.empty()) owner = dns::name_to_text(z.names_.data() + n.name);
      return owner;
    };
    const RRset* cname = z.rrset(n, type::CNAME);
    for (size_t k = 0; k < n.rrset_count; ++k) {
      RRset& set = z.rrsets_[n.rrsets + k];
      const Rec& first = recs_[first_rec[n.rrsets + k]];
      if (set.type == type::SOA && i != 0) {
        diag_.error(where(first) + ": SOA record for " + owner_text() + " is not at the zone apex " + z.origin_text_);
      }
      if (cname && set.type != type::CNAME && set.type != type::RRSIG && set.type != type::NSEC) {
        diag_.error(where_node(i, type::CNAME) + ": CNAME at " + owner_text() + " beside other data (" +
                    dns::type_to_text(set.type) + " at " + where(first) + ")");
      }
      if (set.type == type::CNAME && set.count > 1) {
        diag_.error(where(recs_[first_rec[n.rrsets + k] + 1]) + ": more than one CNAME record at " + owner_text());
      }
      if (n.cut != kNone && n.cut != i && set.type != type::A && set.type != type::AAAA) {
        diag_.warning(where(first) + ": " + dns::type_to_text(set.type) + " at " + owner_text() +
                      " is below the delegation at " + dns::name_to_text(z.names_.data() + z.nodes_[n.cut].name) +
                      " and will not be served");
      } else if (n.cut == i && set.type != type::NS && set.type != type::DS && set.type != type::RRSIG &&
                 set.type != type::NSEC) {
        diag_.warning(where(first) + ": " + dns::type_to_text(set.type) + " at delegation point " + owner_text() +
                      " will not be served (only NS, DS and glue are)");
      }
      // Targets for the additional section; in-zone NS targets must have addresses (glue).
      int off = target_offset(set.type);
      if (off < 0) continue;
      set.targets = static_cast<uint32_t>(z.targets_.size());
      RdataIterator it(z, set);
      const uint8_t* rd;
      uint16_t len;
      while (it.next(rd, len)) {
        const uint8_t* target = rd + off;
        size_t tlen = dns::name_length(target);
        uint32_t t = kNone;
        if (dns::is_subdomain(target, tlen, z.origin(), z.origin_len())) {
          const Node* tn = z.find(target, tlen, dns::hash_bytes(target, tlen));
          bool has_address = tn && (z.rrset(*tn, type::A) || z.rrset(*tn, type::AAAA));
          if (set.type == type::NS && !has_address && (i == 0 || n.cut == i)) {
            diag_.error(where(first) + ": NS " + dns::name_to_text(target) + " for " + owner_text() +
                        " is in the zone but has no A or AAAA record (missing glue)");
          }
          // Below a cut only NS may use the data (as glue); for MX and SRV it is not ours to give.
          if (tn && has_address && (set.type == type::NS || tn->cut == kNone)) t = z.index_of(*tn);
        }
        z.targets_.push_back(t);
      }
    }
  }

  if (!diag_.errors.empty()) return Error{diag_.error_text()};
  z.files_ = files_;
  if (z.files_.empty()) z.files_.push_back(z.file_);
  z.targets_.shrink_to_fit();
  z.names_.shrink_to_fit();
  z.nodes_.shrink_to_fit();
  return std::shared_ptr<const Zone>(std::move(zone_));
}

Result<std::shared_ptr<const Zone>> load_zone_file(const std::string& origin, const std::string& file,
                                                   Diagnostics& diag) {
  ZoneBuilder builder(origin, file, diag);
  if (!builder.origin_ok()) return Error{diag.error_text()};
  auto read = dns::read_master_file(
      file, origin,
      [&](const dns::MasterRecord& r) {
        builder.add(r.owner.data(), r.type, r.rclass, r.ttl, r.rdata.data(), static_cast<uint16_t>(r.rdata.size()),
                    *r.file, r.line);
        return diag.errors.size() < Diagnostics::kMaxMessages;
      },
      [&](const std::string& w) { diag.warning(w); });
  if (!read) {
    diag.error(read.error().message);
    return Error{diag.error_text()};
  }
  return builder.build();
}

}  // namespace pharos::zone
