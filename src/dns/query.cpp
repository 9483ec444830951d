#include "dns/query.h"

#include <cstring>

#include "dns/name.h"

namespace pharos::dns {
namespace {

// Skips a possibly compressed name without decoding it; returns the offset after it, or 0.
size_t skip_name(const uint8_t* p, size_t size, size_t pos) {
  size_t total = 0;
  while (pos < size) {
    uint8_t c = p[pos];
    if ((c & 0xC0) == 0xC0) return pos + 2 <= size ? pos + 2 : 0;
    if (c & 0xC0) return 0;
    if (c == 0) return pos + 1;
    total += c + 1u;
    if (total > kMaxNameLength) return 0;
    pos += c + 1u;
  }
  return 0;
}

// RFC 7871 §6 and §7.1.1: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS.
bool parse_client_subnet(const uint8_t* d, uint16_t len, Query& q) {
  if (len < 4) return false;
  const unsigned family = read_u16(d);
  const unsigned source = d[2];
  const unsigned max_bits = family == 1 ? 32u : family == 2 ? 128u : 0u;  // 0: no such family
  const unsigned bytes = (source + 7u) / 8u;
  if (source > max_bits || max_bits == 0 || d[3] != 0 || len != 4u + bytes) return false;
  if ((source % 8) && (d[3 + bytes] & (0xFFu >> (source % 8)))) return false;  // bits set past the prefix
  q.ecs_v6 = family == 2;
  q.ecs_source = static_cast<uint8_t>(source);
  std::memset(q.ecs_addr, 0, sizeof q.ecs_addr);
  copy_short(q.ecs_addr, d + 4, bytes);
  return true;
}

// Reads the OPT record's fields and options. `rr` points at the RR's owner.
ParseStatus parse_opt(const uint8_t* p, size_t rdata, size_t rdlen, size_t rr, Query& q) {
  if (p[rr] != 0) return ParseStatus::FormErr;  // OPT owner must be the root
  if (q.edns) return ParseStatus::FormErr;      // more than one OPT
  q.edns = true;
  // CLASS is the requestor's payload size; TTL is extended rcode, version, DO and Z.
  const uint8_t* fixed = p + rr + 1 + 2;
  q.udp_payload = read_u16(fixed);
  q.edns_version = fixed[3];
  q.do_bit = (fixed[4] & 0x80) != 0;
  size_t pos = rdata;
  size_t end = rdata + rdlen;
  while (pos < end) {
    if (end - pos < 4) return ParseStatus::FormErr;
    uint16_t code = read_u16(p + pos);
    uint16_t len = read_u16(p + pos + 2);
    pos += 4;
    if (end - pos < len) return ParseStatus::FormErr;
    if (code == edns_option::NSID) {
      q.nsid = true;
    } else if (code == edns_option::CLIENT_SUBNET) {
      if (q.client_subnet) return ParseStatus::FormErr;  // RFC 7871 §7.1.1: at most one
      if (!parse_client_subnet(p + pos, len, q)) return ParseStatus::FormErr;
      q.client_subnet = p + pos;
      q.client_subnet_len = len;
    }
    pos += len;  // other options are ignored (RFC 6891 §6.1.2)
  }
  return ParseStatus::Ok;
}

}  // namespace

ParseStatus parse_query(const uint8_t* p, size_t size, Query& q) {
  q.packet = p;
  q.size = size;
  q.question_end = 0;
  q.edns = false;
  q.edns_version = 0;
  q.do_bit = false;
  q.udp_payload = 0;
  q.nsid = false;
  q.client_subnet = nullptr;
  q.client_subnet_len = 0;
  if (size < kHeaderSize) return ParseStatus::Drop;
  q.id = read_u16(p);
  q.flags = read_u16(p + 2);
  if (q.flags & flag::QR) return ParseStatus::Drop;
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0xF);
  uint16_t qdcount = read_u16(p + 4);
  uint16_t ancount = read_u16(p + 6);
  uint16_t nscount = read_u16(p + 8);
  uint16_t arcount = read_u16(p + 10);

  // The question: exactly one, uncompressed (there is nothing before it to point at).
  if (qdcount != 1) return q.opcode == opcode::QUERY ? ParseStatus::FormErr : ParseStatus::NotImp;
  size_t pos = kHeaderSize;
  unsigned labels = 0;
  unsigned len = 0;
  while (true) {
    if (pos >= size) return ParseStatus::FormErr;
    uint8_t c = p[pos];
    if (c == 0) break;
    if (c > kMaxLabelLength || pos + 1 + c >= size || len + 1 + c + 1 > kMaxNameLength) return ParseStatus::FormErr;
    q.qname_offsets[labels++] = static_cast<uint8_t>(len);
    len += c + 1u;
    pos += c + 1u;
  }
  std::memcpy(q.qname, p + kHeaderSize, len);
  q.qname[len++] = 0;
  lowercase_bytes(q.qname, len);
  ++pos;
  if (size - pos < 4) return ParseStatus::FormErr;
  q.qname_len = static_cast<uint8_t>(len);
  q.qname_labels = static_cast<uint8_t>(labels);
  q.qtype = read_u16(p + pos);
  q.qclass = read_u16(p + pos + 2);
  pos += 4;
  q.question_end = pos;

  if (q.opcode != opcode::QUERY) return ParseStatus::NotImp;
  // A query carries no answer records; authority records only in IXFR and UPDATE, which we do not do.
  if (ancount != 0) return ParseStatus::FormErr;

  // Walk the authority and additional sections to find the OPT and check that the packet is
  // well formed; other records (TSIG, for one) are skipped.
  unsigned records = unsigned{nscount} + arcount;
  for (unsigned i = 0; i < records; ++i) {
    size_t rr = pos;
    pos = skip_name(p, size, pos);
    if (pos == 0 || size - pos < 10) return ParseStatus::FormErr;
    uint16_t type = read_u16(p + pos);
    uint16_t rdlen = read_u16(p + pos + 8);
    size_t rdata = pos + 10;
    if (size - rdata < rdlen) return ParseStatus::FormErr;
    if (type == type::OPT) {
      if (i < nscount) return ParseStatus::FormErr;  // OPT only in the additional section
      ParseStatus s = parse_opt(p, rdata, rdlen, rr, q);
      if (s != ParseStatus::Ok) return s;
    }
    pos = rdata + rdlen;
  }
  if (pos != size) return ParseStatus::FormErr;  // trailing garbage
  if (q.edns && q.edns_version > 0) return ParseStatus::BadVers;
  return ParseStatus::Ok;
}

}  // namespace pharos::dns
