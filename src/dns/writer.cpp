#include "dns/writer.h"

#include <cstring>

#include "dns/name.h"

namespace pharos::dns {
namespace {

constexpr uint16_t kNoPointer = 0xFFFF;

inline bool label_equal(const uint8_t* a, const uint8_t* b) {
  if (*a != *b) return false;
  for (unsigned i = 1; i <= *a; ++i)
    if (a[i] != b[i]) return false;
  return true;
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
  e.labels = q.qname_labels;
  for (unsigned i = 0; i < q.qname_labels; ++i) {
    e.offsets[i] = q.qname_offsets[i];
    e.pos[i] = static_cast<uint16_t>(kHeaderSize + q.qname_offsets[i]);
  }
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
  unsigned n = index_labels(name, offsets);
  size_t name_len = n ? offsets[n - 1] + name[offsets[n - 1]] + 2u : 1u;
  // Find the entry sharing the longest suffix with `name`, label by label from the right.
  unsigned best = 0;
  uint16_t best_pos = kNoPointer;
  const Entry* best_entry = nullptr;
  unsigned best_first = 0;  // label index in best_entry where the shared suffix starts
  if (compress) {
    for (unsigned k = 0; k < entries_; ++k) {
      const Entry& e = table_[k];
      int i = static_cast<int>(n) - 1;
      int j = static_cast<int>(e.labels) - 1;
      unsigned shared = 0;
      while (i >= 0 && j >= 0 && label_equal(name + offsets[i], e.name + e.offsets[j])) {
        --i;
        --j;
        ++shared;
      }
      // The suffix must be addressable by a 14-bit pointer; shorten it until it is.
      unsigned first = static_cast<unsigned>(j + 1);
      while (shared > 0 && e.pos[first] == kNoPointer) {
        ++first;
        --shared;
      }
      if (shared > best) {
        best = shared;
        best_pos = e.pos[first];
        best_entry = &e;
        best_first = first;
      }
    }
  }
  unsigned literal = n - best;  // labels written out
  size_t literal_bytes = literal ? (literal < n ? offsets[literal] : name_len - 1) : 0;
  size_t need = literal_bytes + (best ? 2 : 1);
  if (pos_ + need > limit_) return false;
  size_t start = pos_;
  std::memcpy(buf_ + pos_, name, literal_bytes);
  pos_ += literal_bytes;
  if (best) {
    buf_[pos_] = static_cast<uint8_t>(0xC0 | (best_pos >> 8));
    buf_[pos_ + 1] = static_cast<uint8_t>(best_pos);
    pos_ += 2;
  } else {
    buf_[pos_++] = 0;
  }
  // Remember the name so later names can point into it.
  if (compress && entries_ < kMaxEntries && n > 0) {
    Entry& e = table_[entries_++];
    e.name = name;
    e.labels = static_cast<uint8_t>(n);
    for (unsigned i = 0; i < n; ++i) {
      e.offsets[i] = offsets[i];
      if (i < literal) {
        size_t at = start + offsets[i];
        e.pos[i] = at < 0x4000 ? static_cast<uint16_t>(at) : kNoPointer;
      } else {
        e.pos[i] = best_entry->pos[best_first + (i - literal)];
      }
    }
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
                            uint16_t nsid_len) {
  uint8_t* p = buf_ + pos_;
  p[0] = 0;  // root owner
  write_u16(p + 1, type::OPT);
  write_u16(p + 3, payload);
  p[5] = ext_rcode;
  p[6] = 0;  // version 0
  p[7] = do_bit ? 0x80 : 0;
  p[8] = 0;
  uint16_t rdlen = nsid ? static_cast<uint16_t>(4 + nsid_len) : 0;
  write_u16(p + 9, rdlen);
  pos_ += kOptRecordSize;
  if (nsid) {
    write_u16(buf_ + pos_, edns_option::NSID);
    write_u16(buf_ + pos_ + 2, nsid_len);
    std::memcpy(buf_ + pos_ + 4, nsid, nsid_len);
    pos_ += 4u + nsid_len;
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
