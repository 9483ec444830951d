#include "dns/writer.h"

#include <bit>
#include <cstring>

#include "dns/name.h"

namespace pharos::dns {
namespace {

constexpr uint16_t kNoPointer = 0xFFFF;

// How many bytes `a` and `b` (wire names of lengths `al` and `bl`) share at their ends,
// compared eight at a time from the end.
inline size_t common_tail(const uint8_t* a, size_t al, const uint8_t* b, size_t bl) {
  const size_t max = al < bl ? al : bl;
  size_t m = 0;
  if constexpr (std::endian::native == std::endian::little) {
    while (m + 8 <= max) {
      uint64_t x, y;
      std::memcpy(&x, a + al - m - 8, 8);
      std::memcpy(&y, b + bl - m - 8, 8);
      if (uint64_t d = x ^ y) return m + static_cast<size_t>(__builtin_clzll(d) / 8);
      m += 8;
    }
  }
  while (m < max && a[al - 1 - m] == b[bl - 1 - m]) ++m;
  return m;
}

}  // namespace

void MessageWriter::begin(uint8_t* buf, size_t limit, size_t reserve, const Query& q) {
  buf_ = buf;
  limit_ = limit - reserve;
  id_ = q.id;
  counts_[0] = counts_[1] = counts_[2] = 0;
  entries_ = 0;
  flags_ = 0;
  pos_ = kHeaderSize;
  qname_ = nullptr;
  if (q.question_end == 0) return;
  // Echo the question as received. It fits: it came in a message no larger than 512 bytes
  // over UDP without EDNS, and the caller's buffer is never smaller than the request.
  size_t qlen = q.question_end - kHeaderSize;
  std::memcpy(buf_ + kHeaderSize, q.packet + kHeaderSize, qlen);
  pos_ += qlen;
  qname_ = q.qname;
  // The question name is the first compression target, at offset 12.
  Entry& e = table_[entries_++];
  e.name = q.qname;
  e.len = q.qname_len;
  e.labels = q.qname_labels;
  e.literal = q.qname_labels;
  e.start = kHeaderSize;
  std::memcpy(e.offsets, q.qname_offsets, q.qname_labels);
}

uint16_t MessageWriter::suffix_pos(unsigned k, unsigned i) const {
  const Entry* e = &table_[k];
  while (i >= e->literal) {
    i = e->parent_first + (i - e->literal);
    e = &table_[e->parent];
  }
  if (e->start == kNoPointer) return kNoPointer;
  size_t at = size_t{e->start} + e->offsets[i];
  return at < 0x4000 ? static_cast<uint16_t>(at) : kNoPointer;
}

bool MessageWriter::put_name(const uint8_t* name, bool compress) {
  if (name == qname_) {
    if (pos_ + 2 > limit_) return false;
    if (*name == 0) {
      buf_[pos_++] = 0;
      return true;
    }
    buf_[pos_] = 0xC0;
    buf_[pos_ + 1] = kHeaderSize;
    pos_ += 2;
    return true;
  }
  uint8_t offsets[kMaxLabels + 1];
  const unsigned n = index_labels(name, offsets);
  const size_t len = n ? offsets[n - 1] + name[offsets[n - 1]] + 2u : 1u;
  // The entry sharing the most trailing labels with `name`. Shared bytes at the end are found
  // a word at a time; the shared suffix then starts at the first label of `name` that fits in
  // them and that also starts a label of the entry.
  unsigned best = 0;  // labels shared
  unsigned best_entry = 0;
  unsigned best_first = 0;  // label in best_entry where the shared suffix starts
  uint16_t best_pos = kNoPointer;
  if (compress && n > 0) {
    for (unsigned k = 0; k < entries_ && best < n; ++k) {
      const Entry& e = table_[k];
      size_t tail = common_tail(name, len, e.name, e.len);
      unsigned i = 0;
      while (i < n && len - offsets[i] > tail) ++i;
      for (; i < n; ++i) {
        unsigned shared = n - i;
        if (shared <= best) break;
        if (shared > e.labels) continue;
        unsigned first = e.labels - shared;
        if (size_t{e.offsets[first]} + (len - offsets[i]) != e.len) continue;  // not a label start in e
        uint16_t at = suffix_pos(k, first);
        if (at == kNoPointer) continue;  // too far into a large message to point at
        best = shared;
        best_entry = k;
        best_first = first;
        best_pos = at;
        break;
      }
    }
  }
  const unsigned literal = n - best;  // labels written out
  const size_t literal_bytes = literal < n ? offsets[literal] : len - 1;
  const size_t need = literal_bytes + (best ? 2 : 1);
  if (pos_ + need > limit_) return false;
  const size_t start = pos_;
  std::memcpy(buf_ + pos_, name, literal_bytes);
  pos_ += literal_bytes;
  if (best) {
    buf_[pos_] = static_cast<uint8_t>(0xC0 | (best_pos >> 8));
    buf_[pos_ + 1] = static_cast<uint8_t>(best_pos);
    pos_ += 2;
  } else {
    buf_[pos_++] = 0;
  }
  // Remember the name if it adds suffixes later names could point at.
  if (compress && literal > 0 && entries_ < kMaxEntries) {
    Entry& e = table_[entries_++];
    e.name = name;
    e.len = static_cast<uint8_t>(len);
    e.labels = static_cast<uint8_t>(n);
    e.literal = static_cast<uint8_t>(literal);
    e.parent = static_cast<uint8_t>(best_entry);
    e.parent_first = static_cast<uint8_t>(best_first);
    e.start = start < 0x4000 ? static_cast<uint16_t>(start) : kNoPointer;
    std::memcpy(e.offsets, offsets, n);
  }
  return true;
}

bool MessageWriter::put_rr(Section s, const uint8_t* owner, uint16_t rrtype, uint16_t rrclass, uint32_t ttl,
                           const uint8_t* rdata, uint16_t rdlen) {
  Mark m = mark();
  if (!put_name(owner, true)) return false;
  if (pos_ + 10 > limit_) {
    rollback(m);
    return false;
  }
  uint8_t* fixed = buf_ + pos_;
  write_u16(fixed, rrtype);
  write_u16(fixed + 2, rrclass);
  write_u32(fixed + 4, ttl);
  pos_ += 10;
  size_t rdata_start = pos_;
  bool ok = true;
  switch (rdata_names_for(rrtype)) {
    case RdataNames::None:
      if (pos_ + rdlen > limit_) {
        ok = false;
        break;
      }
      std::memcpy(buf_ + pos_, rdata, rdlen);
      pos_ += rdlen;
      break;
    case RdataNames::Name:
      ok = put_name(rdata, true);
      break;
    case RdataNames::Mx:
      if (pos_ + 2 > limit_) {
        ok = false;
        break;
      }
      std::memcpy(buf_ + pos_, rdata, 2);
      pos_ += 2;
      ok = put_name(rdata + 2, true);
      break;
    case RdataNames::Soa: {
      size_t mname_len = name_length(rdata);
      ok = put_name(rdata, true) && put_name(rdata + mname_len, true);
      size_t rest = mname_len + name_length(rdata + mname_len);
      if (ok && pos_ + 20 <= limit_) {
        std::memcpy(buf_ + pos_, rdata + rest, 20);
        pos_ += 20;
      } else {
        ok = false;
      }
      break;
    }
  }
  if (!ok) {
    rollback(m);
    return false;
  }
  write_u16(fixed + 8, static_cast<uint16_t>(pos_ - rdata_start));
  ++counts_[static_cast<int>(s)];
  return true;
}

void MessageWriter::rollback(const Mark& m) {
  pos_ = m.pos;
  counts_[0] = m.counts[0];
  counts_[1] = m.counts[1];
  counts_[2] = m.counts[2];
  entries_ = m.entries;
}

void MessageWriter::put_opt(uint16_t payload, uint8_t ext_rcode, bool do_bit, const uint8_t* nsid,
                            uint16_t nsid_len, const uint8_t* ecs, uint16_t ecs_len, uint8_t ecs_scope) {
  uint8_t* p = buf_ + pos_;
  p[0] = 0;  // root owner
  write_u16(p + 1, type::OPT);
  write_u16(p + 3, payload);
  p[5] = ext_rcode;
  p[6] = 0;  // version 0
  p[7] = do_bit ? 0x80 : 0;
  p[8] = 0;
  uint16_t rdlen = static_cast<uint16_t>((nsid ? 4u + nsid_len : 0u) + (ecs ? 4u + ecs_len : 0u));
  write_u16(p + 9, rdlen);
  pos_ += kOptRecordSize;
  if (nsid) {
    write_u16(buf_ + pos_, edns_option::NSID);
    write_u16(buf_ + pos_ + 2, nsid_len);
    std::memcpy(buf_ + pos_ + 4, nsid, nsid_len);
    pos_ += 4u + nsid_len;
  }
  if (ecs) {
    write_u16(buf_ + pos_, edns_option::CLIENT_SUBNET);
    write_u16(buf_ + pos_ + 2, ecs_len);
    if (ecs_len <= 32) {
      copy_short(buf_ + pos_ + 4, ecs, ecs_len);  // a valid one has at most 4 + 16 bytes
    } else {
      std::memcpy(buf_ + pos_ + 4, ecs, ecs_len);
    }
    buf_[pos_ + 4 + 3] = ecs_scope;
    pos_ += 4u + ecs_len;
  }
  ++counts_[2];
}

size_t MessageWriter::finish() {
  write_u16(buf_, id_);
  write_u16(buf_ + 2, flags_);
  write_u16(buf_ + 4, qname_ ? 1 : 0);
  write_u16(buf_ + 6, counts_[0]);
  write_u16(buf_ + 8, counts_[1]);
  write_u16(buf_ + 10, counts_[2]);
  return pos_;
}

}  // namespace pharos::dns
