// Building a response in a caller-owned buffer: header, echoed question, records with name
// compression (RFC 1035 §4.1.4), a size limit with rollback for truncation, and the OPT record.
// No allocation: the compression table is fixed-size and lives in the writer, which a worker
// reuses for every packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/query.h"
#include "dns/types.h"

namespace pharos::dns {

enum class Section : uint8_t { Answer = 0, Authority = 1, Additional = 2 };

// How the writer treats names inside rdata. Only the RFC 1035 types may be compressed
// (RFC 3597 §4); other rdata is copied as is.
enum class RdataNames : uint8_t {
  None,   // copy
  Name,   // a single name: NS, CNAME, PTR
  Mx,     // 16-bit preference, then a name
  Soa,    // two names, then 20 bytes
};

inline RdataNames rdata_names_for(uint16_t rrtype) {
  switch (rrtype) {
    case type::NS:
    case type::CNAME:
    case type::PTR:
      return RdataNames::Name;
    case type::MX:
      return RdataNames::Mx;
    case type::SOA:
      return RdataNames::Soa;
    default:
      return RdataNames::None;
  }
}

class MessageWriter {
 public:
  struct Mark {
    size_t pos;
    uint16_t counts[3];
    uint8_t entries;
  };

  // Starts a response to `q` in `buf`. `limit` is the largest message allowed (the UDP payload
  // size or 65535 for TCP) and `reserve` the bytes kept free for the OPT record. Copies the
  // header ID and the question as received, so the client sees its own case.
  void begin(uint8_t* buf, size_t limit, size_t reserve, const Query& q);

  // Header bits and rcode (low 4 bits) of the response.
  void set_flags(uint16_t flags) { flags_ = flags; }
  uint16_t flags() const { return flags_; }

  // Writes one record. `owner` is a lowercase uncompressed wire name; passing the query's own
  // `qname` buffer writes a pointer to the question. `rdata` is uncompressed wire rdata of
  // `rdlen` bytes. Returns false, having written nothing, if the record would pass the limit.
  bool put_rr(Section s, const uint8_t* owner, uint16_t rrtype, uint16_t rrclass, uint32_t ttl, const uint8_t* rdata,
              uint16_t rdlen);

  Mark mark() const { return Mark{pos_, {counts_[0], counts_[1], counts_[2]}, entries_}; }
  void rollback(const Mark& m);

  // Appends the OPT record (always fits: its space was reserved). `ext_rcode` is the upper 8
  // bits of a 12-bit rcode; `nsid` may be null. `ecs` (may be null) is a query's Client Subnet
  // option data, echoed with its scope prefix length set to `ecs_scope` (RFC 7871 §7.2.1).
  void put_opt(uint16_t payload, uint8_t ext_rcode, bool do_bit, const uint8_t* nsid, uint16_t nsid_len,
               const uint8_t* ecs = nullptr, uint16_t ecs_len = 0, uint8_t ecs_scope = 0);

  // Writes the header and returns the message length.
  size_t finish();

  size_t size() const { return pos_; }
  uint16_t count(Section s) const { return counts_[static_cast<int>(s)]; }

 private:
  static constexpr unsigned kMaxEntries = 24;
  // A name written to the message, for later names to point into. Its first `literal` labels
  // were written out at `start`; the rest is the suffix of entry `parent` from label
  // `parent_first` (a pointer was written there).
  struct Entry {
    const uint8_t* name;  // lowercase uncompressed
    uint8_t len;          // bytes, including the root
    uint8_t labels;
    uint8_t literal;
    uint8_t parent;
    uint8_t parent_first;
    uint16_t start;
    uint8_t offsets[kMaxLabels + 1];
  };
  // Where the suffix of entry `e` starting at label `i` can be pointed at, or 0xFFFF.
  uint16_t suffix_pos(unsigned e, unsigned i) const;

  // Writes `name` compressed against the names already written; false if it does not fit.
  bool put_name(const uint8_t* name, bool compress);

  uint8_t* buf_ = nullptr;
  size_t limit_ = 0;
  size_t pos_ = 0;
  const uint8_t* qname_ = nullptr;
  uint16_t flags_ = 0;
  uint16_t id_ = 0;
  uint16_t counts_[3] = {0, 0, 0};
  uint8_t entries_ = 0;
  Entry table_[kMaxEntries];
};

}  // namespace pharos::dns
