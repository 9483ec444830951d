// Shared by the fuzzers: an independent reading of a query (what pharos must answer, and
// within which size), an independent parse of the reply built on dns::read_name, and the
// invariants that tie the two together. A violated invariant prints what and where, then traps,
// so libFuzzer records the input as a crash.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dns/name.h"
#include "dns/query.h"
#include "dns/types.h"
#include "query/encoder.h"
#include "query/processor.h"
#include "query/snapshot.h"
#include "zone/zone.h"
#include "zone/zone_set.h"

namespace pharos::fuzz {

[[noreturn]] inline void failed(const char* file, int line, const char* cond, const char* fmt, ...) {
  std::fprintf(stderr, "\n==== pharos fuzz invariant violated at %s:%d: %s\n     ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  __builtin_trap();
}

#define FUZZ_CHECK(cond, ...)                                                      \
  do {                                                                             \
    if (!(cond)) ::pharos::fuzz::failed(__FILE__, __LINE__, #cond, __VA_ARGS__);   \
  } while (0)

inline void lower(uint8_t* name, size_t len) {
  for (size_t i = 0; i < len; ++i) name[i] = dns::to_lower(name[i]);
}

inline bool name_equal(const uint8_t* a, size_t alen, const uint8_t* b, size_t blen) {
  return alen == blen && std::memcmp(a, b, alen) == 0;
}

// ------------------------------------------------------------------------------------------------
// The query, read without pharos's parser (RFC 1035 §4.1, RFC 6891 §6.1).

struct QueryView {
  bool drop = false;  // no reply at all: shorter than a header, or QR set
  uint16_t id = 0;
  uint16_t flags = 0;
  uint8_t opcode = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

  // The question when there is exactly one and it parses (uncompressed, <= 255 bytes, type and
  // class present): bytes [12, question_end) of the query. 0 otherwise.
  size_t question_end = 0;
  uint8_t qname[dns::kMaxNameLength];  // lowercased
  size_t qname_len = 0;
  uint16_t qtype = 0, qclass = 0;

  dns::ParseStatus status = dns::ParseStatus::Drop;  // what pharos must decide
  bool edns = false;  // a valid OPT (only meaningful when status is Ok or BadVers)
  uint16_t payload = 0;
  uint8_t version = 0;
  bool do_bit = false;
  bool nsid = false;
  const uint8_t* ecs = nullptr;  // a valid Client Subnet option's data, echoed in the reply
  uint16_t ecs_len = 0;
};

namespace detail {

// RFC 7871 §6 and §7.1.1, written out on its own: family 1 or 2, a source prefix the family
// can hold, scope 0 in a query, exactly the address bytes the prefix needs, no bit past it.
inline bool client_subnet_ok(const uint8_t* d, size_t len) {
  if (len < 4) return false;
  unsigned family = dns::read_u16(d), source = d[2], scope = d[3];
  unsigned bits = family == 1 ? 32 : family == 2 ? 128 : 0;
  if (bits == 0 || source > bits || scope != 0) return false;
  size_t need = (source + 7) / 8;
  if (len != 4 + need) return false;
  for (unsigned b = source; b < need * 8; ++b) {
    if (d[4 + b / 8] & (0x80 >> (b % 8))) return false;
  }
  return true;
}

// Skips one owner name (compression allowed, not followed); 0 when malformed.
inline size_t skip_owner(const uint8_t* p, size_t size, size_t pos) {
  size_t total = 0;
  for (;;) {
    if (pos >= size) return 0;
    uint8_t c = p[pos];
    if ((c & 0xC0) == 0xC0) return pos + 2 <= size ? pos + 2 : 0;
    if (c & 0xC0) return 0;
    if (c == 0) return pos + 1;
    total += c + 1u;
    if (total > dns::kMaxNameLength) return 0;
    pos += c + 1u;
  }
}

}  // namespace detail

inline QueryView view_query(const uint8_t* p, size_t size) {
  using dns::ParseStatus;
  QueryView v;
  if (size < dns::kHeaderSize || (p[2] & 0x80)) {
    v.drop = true;
    return v;
  }
  v.id = dns::read_u16(p);
  v.flags = dns::read_u16(p + 2);
  v.opcode = static_cast<uint8_t>((v.flags >> 11) & 0xF);
  v.qdcount = dns::read_u16(p + 4);
  v.ancount = dns::read_u16(p + 6);
  v.nscount = dns::read_u16(p + 8);
  v.arcount = dns::read_u16(p + 10);
  if (v.qdcount != 1) {
    v.status = v.opcode == dns::opcode::QUERY ? ParseStatus::FormErr : ParseStatus::NotImp;
    return v;
  }
  // The question: plain labels only, the name at most 255 bytes, then type and class.
  size_t pos = dns::kHeaderSize;
  size_t len = 0;
  for (;;) {
    if (pos >= size) break;
    uint8_t c = p[pos];
    if (c == 0) {
      if (len + 1 > dns::kMaxNameLength) break;
      v.qname[len++] = 0;
      ++pos;
      if (size - pos < 4) break;
      v.qname_len = len;
      v.qtype = dns::read_u16(p + pos);
      v.qclass = dns::read_u16(p + pos + 2);
      v.question_end = pos + 4;
      break;
    }
    if (c > dns::kMaxLabelLength || pos + 1 + c > size || len + 1 + c + 1 > dns::kMaxNameLength) break;
    std::memcpy(v.qname + len, p + pos, c + 1u);
    len += c + 1u;
    pos += c + 1u;
  }
  if (v.question_end == 0) {
    v.status = ParseStatus::FormErr;
    return v;
  }
  lower(v.qname, v.qname_len);
  if (v.opcode != dns::opcode::QUERY) {
    v.status = ParseStatus::NotImp;
    return v;
  }
  if (v.ancount != 0) {
    v.status = ParseStatus::FormErr;
    return v;
  }
  // Authority and additional: every record must be whole, OPT at most once, in the additional
  // section, owned by the root, its options well framed, at most one client-subnet option.
  pos = v.question_end;
  unsigned opts = 0, ecs = 0;
  bool bad = false;
  for (unsigned i = 0; i < unsigned{v.nscount} + v.arcount && !bad; ++i) {
    size_t rr = pos;
    pos = detail::skip_owner(p, size, pos);
    if (pos == 0 || size - pos < 10) {
      bad = true;
      break;
    }
    uint16_t type = dns::read_u16(p + pos);
    uint16_t rdlen = dns::read_u16(p + pos + 8);
    size_t rdata = pos + 10;
    if (size - rdata < rdlen) {
      bad = true;
      break;
    }
    if (type == dns::type::OPT) {
      if (i < v.nscount || p[rr] != 0 || ++opts > 1) {
        bad = true;
        break;
      }
      v.payload = dns::read_u16(p + rr + 3);
      v.version = p[rr + 6];
      v.do_bit = (p[rr + 7] & 0x80) != 0;
      size_t o = rdata, end = rdata + rdlen;
      while (o < end) {
        if (end - o < 4) {
          bad = true;
          break;
        }
        uint16_t code = dns::read_u16(p + o), olen = dns::read_u16(p + o + 2);
        o += 4;
        if (end - o < olen) {
          bad = true;
          break;
        }
        if (code == dns::edns_option::NSID) v.nsid = true;
        if (code == dns::edns_option::CLIENT_SUBNET) {
          if (++ecs > 1 || !detail::client_subnet_ok(p + o, olen)) bad = true;
          v.ecs = p + o;
          v.ecs_len = olen;
        }
        o += olen;
      }
    }
    pos = rdata + rdlen;
  }
  if (bad || pos != size) {
    v.status = ParseStatus::FormErr;
    return v;
  }
  v.edns = opts == 1;
  v.status = v.edns && v.version > 0 ? ParseStatus::BadVers : ParseStatus::Ok;
  return v;
}

// The largest reply allowed for `v` (RFC 1035 §4.2.1, RFC 6891 §6.2.5, RFC 7766 §8).
inline size_t expected_limit(const QueryView& v, const query::Options& o, query::Transport t) {
  if (t == query::Transport::Tcp) return dns::kMaxMessage;
  bool edns = v.edns && (v.status == dns::ParseStatus::Ok || v.status == dns::ParseStatus::BadVers);
  if (!edns) return dns::kUdpPayloadNoEdns;
  size_t asked = v.payload < 512 ? 512 : v.payload;
  size_t ours = o.udp_payload_max < 512 ? 512 : o.udp_payload_max;
  return asked < ours ? asked : ours;
}

// ------------------------------------------------------------------------------------------------
// The reply, parsed with dns::read_name (bounds, backward pointers, loops, 255-byte names).

struct ReplyRr {
  int section;  // 0 answer, 1 authority, 2 additional
  uint8_t owner[dns::kMaxNameLength];  // lowercased
  size_t owner_len;
  uint16_t type, rclass;
  uint32_t ttl;
  size_t rdata;
  uint16_t rdlen;
  uint8_t target[dns::kMaxNameLength];  // CNAME, NS, MX: the name in the rdata, lowercased
  size_t target_len;
  // The rdata as a zone stores it: names decompressed and lowercased (NS, CNAME, PTR, MX, SOA),
  // other types as sent. ReplyView::canon[canon, canon + canon_len).
  size_t canon;
  size_t canon_len;
};

struct ReplyView {
  // Room for any reply without reallocating: a record takes at least 11 bytes.
  ReplyView() {
    rrs.reserve(dns::kMaxMessage / 11 + 1);
    canon.reserve(4 * dns::kMaxMessage);
  }
  std::vector<uint8_t> canon;
  uint16_t id = 0, flags = 0;
  uint16_t counts[4] = {0, 0, 0, 0};  // qd, an, ns, ar
  std::vector<ReplyRr> rrs;
  bool opt = false;
  uint16_t opt_payload = 0;
  uint8_t ext_rcode = 0, opt_version = 0;
  bool opt_do = false;
  bool opt_nsid = false;
  const uint8_t* opt_ecs = nullptr;  // the reply's Client Subnet option data
  uint16_t opt_ecs_len = 0;
  uint16_t rcode = 0;  // the full 12-bit rcode
  bool tc() const { return flags & dns::flag::TC; }
  bool aa() const { return flags & dns::flag::AA; }
};

// Reads a name in the rdata at `pos` (which must stay within the rdata ending at `end`).
inline size_t rdata_name(const uint8_t* m, size_t n, size_t pos, size_t end, uint8_t* out, const char* what) {
  size_t next = 0;
  size_t len = dns::read_name(m, n, pos, out, next);
  FUZZ_CHECK(len != 0, "%s: malformed name in rdata at offset %zu", what, pos);
  FUZZ_CHECK(next <= end, "%s: name in rdata at offset %zu runs past the rdata (ends %zu > %zu)", what, pos, next,
             end);
  return next;
}

inline void parse_reply(const uint8_t* m, size_t n, ReplyView& r) {
  FUZZ_CHECK(n >= dns::kHeaderSize, "reply of %zu bytes is shorter than a header", n);
  r.id = dns::read_u16(m);
  r.flags = dns::read_u16(m + 2);
  for (int i = 0; i < 4; ++i) r.counts[i] = dns::read_u16(m + 4 + 2 * i);
  r.rrs.clear();
  r.canon.clear();
  r.opt = false;
  r.opt_payload = 0;
  r.ext_rcode = 0;
  r.opt_version = 0;
  r.opt_do = false;
  r.opt_nsid = false;
  r.opt_ecs = nullptr;
  r.opt_ecs_len = 0;
  FUZZ_CHECK(r.counts[0] <= 1, "reply QDCOUNT %u", r.counts[0]);
  size_t pos = dns::kHeaderSize;
  uint8_t name[dns::kMaxNameLength];
  if (r.counts[0] == 1) {
    size_t next = 0;
    FUZZ_CHECK(dns::read_name(m, n, pos, name, next) != 0, "reply question name malformed");
    FUZZ_CHECK(n - next >= 4 && next <= n, "reply question cut short");
    pos = next + 4;
  }
  size_t total = size_t{r.counts[1]} + r.counts[2] + r.counts[3];
  for (size_t i = 0; i < total; ++i) {
    ReplyRr rr{};
    rr.section = i < r.counts[1] ? 0 : i < size_t{r.counts[1]} + r.counts[2] ? 1 : 2;
    size_t next = 0;
    rr.owner_len = dns::read_name(m, n, pos, rr.owner, next);
    FUZZ_CHECK(rr.owner_len != 0, "record %zu of %zu: owner name at offset %zu malformed", i, total, pos);
    lower(rr.owner, rr.owner_len);
    FUZZ_CHECK(next <= n && n - next >= 10, "record %zu of %zu: fixed fields cut short at %zu (reply %zu bytes)",
               i, total, next, n);
    rr.type = dns::read_u16(m + next);
    rr.rclass = dns::read_u16(m + next + 2);
    rr.ttl = dns::read_u32(m + next + 4);
    rr.rdlen = dns::read_u16(m + next + 8);
    rr.rdata = next + 10;
    FUZZ_CHECK(n - rr.rdata >= rr.rdlen, "record %zu of %zu: rdata (%u bytes at %zu) past the end (%zu)", i, total,
               rr.rdlen, rr.rdata, n);
    const size_t end = rr.rdata + rr.rdlen;
    size_t at = rr.rdata;
    switch (rr.type) {
      case dns::type::A:
        FUZZ_CHECK(rr.rdlen == 4, "A rdata of %u bytes", rr.rdlen);
        break;
      case dns::type::AAAA:
        FUZZ_CHECK(rr.rdlen == 16, "AAAA rdata of %u bytes", rr.rdlen);
        break;
      case dns::type::NS:
      case dns::type::CNAME:
      case dns::type::PTR:
        at = rdata_name(m, n, at, end, rr.target, "NS/CNAME/PTR");
        rr.target_len = dns::name_length(rr.target);
        lower(rr.target, rr.target_len);
        FUZZ_CHECK(at == end, "type %u: rdata has %zu bytes after the name", rr.type, end - at);
        break;
      case dns::type::MX:
        FUZZ_CHECK(rr.rdlen >= 3, "MX rdata of %u bytes", rr.rdlen);
        at = rdata_name(m, n, at + 2, end, rr.target, "MX");
        rr.target_len = dns::name_length(rr.target);
        lower(rr.target, rr.target_len);
        FUZZ_CHECK(at == end, "MX rdata has %zu bytes after the name", end - at);
        break;
      case dns::type::SOA:
        at = rdata_name(m, n, at, end, rr.target, "SOA mname");
        rr.target_len = dns::name_length(rr.target);
        at = rdata_name(m, n, at, end, name, "SOA rname");
        FUZZ_CHECK(end - at == 20, "SOA rdata has %zu bytes after the names, not 20", end - at);
        break;
      case dns::type::OPT:
        FUZZ_CHECK(rr.section == 2, "OPT in section %d", rr.section);
        FUZZ_CHECK(!r.opt, "more than one OPT in the reply");
        FUZZ_CHECK(rr.owner_len == 1, "OPT owner is not the root");
        FUZZ_CHECK(i + 1 == total, "OPT is not the last record");
        r.opt = true;
        r.opt_payload = rr.rclass;
        r.ext_rcode = static_cast<uint8_t>(rr.ttl >> 24);
        r.opt_version = static_cast<uint8_t>(rr.ttl >> 16);
        r.opt_do = (rr.ttl & 0x8000) != 0;
        while (at < end) {
          FUZZ_CHECK(end - at >= 4, "OPT option header cut short");
          uint16_t code = dns::read_u16(m + at), olen = dns::read_u16(m + at + 2);
          at += 4;
          FUZZ_CHECK(end - at >= olen, "OPT option %u longer than the rdata", code);
          if (code == dns::edns_option::NSID) r.opt_nsid = true;
          if (code == dns::edns_option::CLIENT_SUBNET) {
            FUZZ_CHECK(!r.opt_ecs, "more than one Client Subnet option in the reply");
            r.opt_ecs = m + at;
            r.opt_ecs_len = olen;
          }
          at += olen;
        }
        break;
      default:
        break;
    }
    if (rr.type != dns::type::OPT) {
      FUZZ_CHECK(rr.ttl <= 0x7fffffffu, "TTL %u above 2^31-1 (RFC 2181 §8)", rr.ttl);
    }
    rr.canon = r.canon.size();
    switch (rr.type) {
      case dns::type::NS:
      case dns::type::CNAME:
      case dns::type::PTR:
        r.canon.insert(r.canon.end(), rr.target, rr.target + rr.target_len);
        break;
      case dns::type::MX:
        r.canon.insert(r.canon.end(), m + rr.rdata, m + rr.rdata + 2);
        r.canon.insert(r.canon.end(), rr.target, rr.target + rr.target_len);
        break;
      case dns::type::SOA: {
        size_t rname_len = dns::name_length(name);
        lower(rr.target, rr.target_len);
        lower(name, rname_len);
        r.canon.insert(r.canon.end(), rr.target, rr.target + rr.target_len);
        r.canon.insert(r.canon.end(), name, name + rname_len);
        r.canon.insert(r.canon.end(), m + end - 20, m + end);
        break;
      }
      default:
        r.canon.insert(r.canon.end(), m + rr.rdata, m + end);
        break;
    }
    rr.canon_len = r.canon.size() - rr.canon;
    r.rrs.push_back(rr);
    pos = end;
  }
  FUZZ_CHECK(pos == n, "section counts (%u/%u/%u/%u) account for %zu bytes, the reply has %zu", r.counts[0],
             r.counts[1], r.counts[2], r.counts[3], pos, n);
  r.rcode = static_cast<uint16_t>((uint16_t{r.ext_rcode} << 4) | (r.flags & 0xF));
}

// ------------------------------------------------------------------------------------------------
// The invariants of one reply.

inline const char* transport_name(query::Transport t) { return t == query::Transport::Tcp ? "tcp" : "udp"; }

// `reply`/`n` answered `packet`/`size` over `t` with options `o`. Fills `r`.
inline void check_reply(const uint8_t* packet, size_t size, const QueryView& v, const uint8_t* reply, size_t n,
                        const query::Options& o, query::Transport t, ReplyView& r) {
  namespace rc = dns::rcode;
  namespace ty = dns::type;
  const char* tn = transport_name(t);
  FUZZ_CHECK(v.question_end <= size, "question end %zu past the query (%zu)", v.question_end, size);
  if (v.drop) {
    FUZZ_CHECK(n == 0, "%s: %zu-byte reply to a packet that must be dropped", tn, n);
    return;
  }
  FUZZ_CHECK(n != 0, "%s: no reply to a query (status %d)", tn, static_cast<int>(v.status));

  // Size: within the transport's limit, and only above 512 over UDP when the client said so.
  const size_t limit = expected_limit(v, o, t);
  FUZZ_CHECK(n <= limit, "%s: reply of %zu bytes exceeds the limit %zu (edns=%d payload=%u max=%u)", tn, n, limit,
             v.edns, v.payload, o.udp_payload_max);

  parse_reply(reply, n, r);

  // Header.
  FUZZ_CHECK(r.id == v.id, "%s: ID %04x not echoed (%04x)", tn, v.id, r.id);
  FUZZ_CHECK(r.flags & dns::flag::QR, "%s: QR not set", tn);
  FUZZ_CHECK(((r.flags >> 11) & 0xF) == v.opcode, "%s: opcode %u not echoed (%u)", tn, v.opcode,
             (r.flags >> 11) & 0xF);
  FUZZ_CHECK((r.flags & dns::flag::RD) == (v.flags & dns::flag::RD), "%s: RD not echoed", tn);
  FUZZ_CHECK((r.flags & dns::flag::CD) == (v.flags & dns::flag::CD), "%s: CD not echoed", tn);
  FUZZ_CHECK((r.flags & (dns::flag::RA | dns::flag::AD | 0x0040)) == 0, "%s: RA, AD or Z set (flags %04x)", tn,
             r.flags);
  FUZZ_CHECK(t == query::Transport::Udp || !r.tc(), "tcp: TC set");

  // The question, byte for byte as sent, when there was one to echo.
  if (v.question_end != 0) {
    FUZZ_CHECK(r.counts[0] == 1, "%s: question not echoed", tn);
    FUZZ_CHECK(n >= v.question_end &&
                   std::memcmp(reply + dns::kHeaderSize, packet + dns::kHeaderSize, v.question_end - dns::kHeaderSize) == 0,
               "%s: question not echoed byte for byte", tn);
  } else {
    FUZZ_CHECK(r.counts[0] == 0, "%s: a question echoed from a query without a parseable one", tn);
  }

  // EDNS: an OPT exactly when the query had a valid one (RFC 6891 §7), advertising our size.
  const bool want_opt = v.edns && (v.status == dns::ParseStatus::Ok || v.status == dns::ParseStatus::BadVers);
  FUZZ_CHECK(r.opt == want_opt, "%s: OPT %s in the reply (query status %d, edns %d)", tn,
             r.opt ? "present" : "missing", static_cast<int>(v.status), v.edns);
  if (r.opt) {
    FUZZ_CHECK(r.opt_version == 0, "%s: OPT version %u", tn, r.opt_version);
    FUZZ_CHECK(r.opt_payload == o.udp_payload_max, "%s: OPT payload %u, configured %u", tn, r.opt_payload,
               o.udp_payload_max);
    FUZZ_CHECK(r.opt_do == v.do_bit, "%s: DO bit not echoed", tn);
    // NSID when asked for and configured (RFC 5001 §2.2), unless it cannot fit beside the question.
    const size_t nsid_size = o.nsid.size() < 512 ? o.nsid.size() : 512;
    // The Client Subnet echo comes first: it is owed to every query that sent one.
    const size_t ecs_size = v.ecs ? 4u + v.ecs_len : 0u;
    const bool nsid_fits = v.question_end + dns::kOptRecordSize + ecs_size + 4 + nsid_size <= limit;
    FUZZ_CHECK(r.opt_nsid == (v.nsid && nsid_size != 0 && nsid_fits), "%s: NSID option %s", tn,
               r.opt_nsid ? "unexpected" : "missing");
    // Client Subnet (RFC 7871 §7.2.1): family, source prefix and address as sent; a scope no
    // longer than the family's addresses.
    FUZZ_CHECK((r.opt_ecs != nullptr) == (v.ecs != nullptr), "%s: Client Subnet option %s", tn,
               r.opt_ecs ? "unexpected" : "missing");
    if (v.ecs && r.opt_ecs) {
      FUZZ_CHECK(r.opt_ecs_len == v.ecs_len && std::memcmp(r.opt_ecs, v.ecs, 3) == 0 &&
                     std::memcmp(r.opt_ecs + 4, v.ecs + 4, v.ecs_len - 4u) == 0,
                 "%s: Client Subnet not echoed as sent", tn);
      FUZZ_CHECK(r.opt_ecs[3] <= (dns::read_u16(v.ecs) == 1 ? 32 : 128), "%s: Client Subnet scope %u", tn,
                 r.opt_ecs[3]);
    }
  }

  // Rcode by parse status.
  switch (v.status) {
    case dns::ParseStatus::FormErr:
      FUZZ_CHECK(r.rcode == rc::FORMERR, "%s: rcode %u for a malformed query", tn, r.rcode);
      break;
    case dns::ParseStatus::NotImp:
      FUZZ_CHECK(r.rcode == rc::NOTIMP, "%s: rcode %u for opcode %u", tn, r.rcode, v.opcode);
      break;
    case dns::ParseStatus::BadVers:
      FUZZ_CHECK(r.rcode == rc::BADVERS, "%s: rcode %u for EDNS version %u", tn, r.rcode, v.version);
      break;
    case dns::ParseStatus::Ok:
      FUZZ_CHECK(r.rcode == rc::NOERROR || r.rcode == rc::NXDOMAIN || r.rcode == rc::REFUSED ||
                     r.rcode == rc::FORMERR,
                 "%s: unexpected rcode %u", tn, r.rcode);
      if (v.qclass != dns::rclass::IN && v.qclass != dns::rclass::CH) {
        FUZZ_CHECK(r.rcode == rc::REFUSED, "%s: class %u not refused", tn, v.qclass);
      }
      if (v.qclass == dns::rclass::IN && (v.qtype == ty::AXFR || v.qtype == ty::IXFR)) {
        FUZZ_CHECK(r.rcode == rc::REFUSED, "%s: zone transfer not refused", tn);
      }
      if (v.qclass == dns::rclass::IN && (v.qtype == ty::OPT || v.qtype == ty::TSIG || v.qtype == ty::TKEY)) {
        FUZZ_CHECK(r.rcode == rc::FORMERR, "%s: meta type %u as question not FORMERR", tn, v.qtype);
      }
      break;
    case dns::ParseStatus::Drop:
      break;
  }
  if (r.rcode != rc::NOERROR && r.rcode != rc::NXDOMAIN) {
    FUZZ_CHECK(r.counts[1] == 0 && r.counts[2] == 0 && r.counts[3] == (r.opt ? 1 : 0),
               "%s: rcode %u with records (%u/%u/%u)", tn, r.rcode, r.counts[1], r.counts[2], r.counts[3]);
    FUZZ_CHECK(!r.aa(), "%s: AA with rcode %u", tn, r.rcode);
    return;
  }

  // Sections. Answer owners are the question's name or a target of a CNAME before them;
  // answer types are the question's type or CNAME (anything for ANY).
  const bool in = v.qclass == dns::rclass::IN;
  const uint8_t* allowed[16];
  size_t allowed_len[16];
  size_t n_allowed = 0;
  allowed[n_allowed] = v.qname;
  allowed_len[n_allowed++] = v.qname_len;
  unsigned soa = 0, ns = 0;
  for (size_t i = 0; i < r.rrs.size(); ++i) {
    const ReplyRr& rr = r.rrs[i];
    if (rr.type != ty::OPT) {
      FUZZ_CHECK(rr.rclass == (in ? dns::rclass::IN : v.qclass), "%s: record class %u for question class %u", tn,
                 rr.rclass, v.qclass);
    }
    switch (rr.section) {
      case 0: {
        bool ok = false;
        for (size_t k = 0; k < n_allowed && !ok; ++k) ok = name_equal(rr.owner, rr.owner_len, allowed[k], allowed_len[k]);
        FUZZ_CHECK(ok, "%s: answer %zu owned by %s, neither the question's name nor a CNAME target", tn, i,
                   dns::name_to_text(rr.owner).c_str());
        FUZZ_CHECK(v.qtype == ty::ANY || rr.type == v.qtype || rr.type == ty::CNAME,
                   "%s: answer of type %u to a question of type %u", tn, rr.type, v.qtype);
        FUZZ_CHECK(rr.type != ty::OPT, "%s: OPT in the answer section", tn);
        if (rr.type == ty::CNAME && v.qtype != ty::CNAME && n_allowed < 16) {
          allowed[n_allowed] = rr.target;
          allowed_len[n_allowed++] = rr.target_len;
        }
        break;
      }
      case 1:
        FUZZ_CHECK(rr.type == ty::NS || rr.type == ty::SOA, "%s: type %u in the authority section", tn, rr.type);
        (rr.type == ty::SOA ? soa : ns)++;
        break;
      case 2:
        FUZZ_CHECK(rr.type == ty::A || rr.type == ty::AAAA || rr.type == ty::OPT,
                   "%s: type %u in the additional section", tn, rr.type);
        break;
    }
  }
  FUZZ_CHECK(soa <= 1 && !(soa && ns), "%s: authority has %u SOA and %u NS", tn, soa, ns);
  if (r.rcode == rc::NXDOMAIN && !r.tc()) FUZZ_CHECK(soa == 1, "%s: NXDOMAIN without the SOA", tn);
  if (ns) FUZZ_CHECK(r.counts[1] == 0 || r.aa(), "%s: referral with answers but no AA", tn);
  if (!r.tc() && in) {
    if (r.rcode == rc::NOERROR && r.counts[1] == 0) {
      FUZZ_CHECK(soa == 1 || ns > 0, "%s: empty NOERROR without SOA or referral", tn);
    }
    FUZZ_CHECK(r.aa() || ns > 0, "%s: a non-referral answer without AA", tn);
    if (ns > 0 && r.counts[1] == 0) FUZZ_CHECK(!r.aa(), "%s: referral with AA", tn);
  }
}

// ------------------------------------------------------------------------------------------------
// The records of a reply against the zones' data.

inline bool rrset_has(const zone::Zone& z, const zone::RRset& set, const uint8_t* rd, size_t len) {
  zone::RdataIterator it(z, set);
  const uint8_t* d;
  uint16_t l;
  while (it.next(d, l)) {
    if (l == len && std::memcmp(d, rd, len) == 0) return true;
  }
  return false;
}

// The RRset holding `rr` in one of the zones: at its owner, or at a wildcard "*.<ancestor>"
// (RFC 4592 synthesis). Null if no zone has it.
inline const zone::RRset* find_rrset(const zone::ZoneSet& zs, const ReplyView& r, const ReplyRr& rr) {
  const uint8_t* rd = r.canon.data() + rr.canon;
  for (const auto& zp : zs.zones()) {
    const zone::Zone& z = *zp;
    if (!dns::is_subdomain(rr.owner, rr.owner_len, z.origin(), z.origin_len())) continue;
    if (const zone::Node* node = z.find(rr.owner, rr.owner_len, dns::hash_bytes(rr.owner, rr.owner_len))) {
      const zone::RRset* set = z.rrset(*node, rr.type);
      if (set && rrset_has(z, *set, rd, rr.canon_len)) return set;
      continue;  // the name exists: no wildcard applies in this zone
    }
    // Wildcards at each ancestor down to the origin.
    uint8_t wild[dns::kMaxNameLength + 2];
    for (size_t off = rr.owner[0] + 1u; off < rr.owner_len; off += rr.owner[off] + 1u) {
      size_t len = rr.owner_len - off;
      if (len < z.origin_len()) break;
      wild[0] = 1;
      wild[1] = '*';
      std::memcpy(wild + 2, rr.owner + off, len);
      if (const zone::Node* node = z.find(wild, len + 2, dns::hash_bytes(wild, len + 2))) {
        const zone::RRset* set = z.rrset(*node, rr.type);
        if (set && rrset_has(z, *set, rd, rr.canon_len)) return set;
      }
    }
  }
  return nullptr;
}

// Every record of class IN in the reply is zone data (stored or wildcard-synthesised), with a
// TTL no higher than the RRset's, and RRsets are whole: never half an RRset (RFC 2181 §5, §9).
inline void check_content(const zone::ZoneSet& zs, const ReplyView& r, const char* tn) {
  for (size_t i = 0; i < r.rrs.size(); ++i) {
    const ReplyRr& rr = r.rrs[i];
    if (rr.type == dns::type::OPT || rr.rclass != dns::rclass::IN) continue;
    const zone::RRset* set = find_rrset(zs, r, rr);
    FUZZ_CHECK(set, "%s: %s type %u (section %d, %zu rdata bytes) is in no zone", tn,
               dns::name_to_text(rr.owner).c_str(), rr.type, rr.section, rr.canon_len);
    FUZZ_CHECK(rr.ttl <= set->ttl, "%s: %s type %u has TTL %u, the zone %u", tn, dns::name_to_text(rr.owner).c_str(),
               rr.type, rr.ttl, set->ttl);
    size_t same = 0;
    for (const ReplyRr& o : r.rrs) {
      if (o.section == rr.section && o.type == rr.type && name_equal(o.owner, o.owner_len, rr.owner, rr.owner_len)) {
        ++same;
      }
    }
    FUZZ_CHECK(same == set->count, "%s: %zu of the %u records of %s type %u in section %d", tn, same, set->count,
               dns::name_to_text(rr.owner).c_str(), rr.type, rr.section);
  }
}

// ------------------------------------------------------------------------------------------------
// Building queries (for fuzz_zone's lookups).

inline size_t make_query(uint8_t* out, uint16_t id, const uint8_t* qname, size_t qname_len, uint16_t qtype,
                         bool edns, uint16_t payload = 1232, bool do_bit = false) {
  std::memset(out, 0, dns::kHeaderSize);
  dns::write_u16(out, id);
  dns::write_u16(out + 4, 1);
  dns::write_u16(out + 10, edns ? 1 : 0);
  size_t pos = dns::kHeaderSize;
  std::memcpy(out + pos, qname, qname_len);
  pos += qname_len;
  dns::write_u16(out + pos, qtype);
  dns::write_u16(out + pos + 2, dns::rclass::IN);
  pos += 4;
  if (edns) {
    out[pos] = 0;
    dns::write_u16(out + pos + 1, dns::type::OPT);
    dns::write_u16(out + pos + 3, payload);
    out[pos + 5] = 0;
    out[pos + 6] = 0;
    out[pos + 7] = do_bit ? 0x80 : 0;
    out[pos + 8] = 0;
    dns::write_u16(out + pos + 9, 0);
    pos += dns::kOptRecordSize;
  }
  return pos;
}

}  // namespace pharos::fuzz
