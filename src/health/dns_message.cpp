#include "health/dns_message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "dns/name.h"
#include "dns/types.h"

namespace pharos::health {
namespace {

namespace dt = pharos::dns::type;

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_u16(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 0xFFFF) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3597: "\# <length> <hex>...".
bool parse_generic(std::string_view text, std::vector<uint8_t>& out) {
  auto words = split_words(text);
  if (words.size() < 2 || words[0] != "\\#") return false;
  uint16_t len;
  if (!parse_u16(words[1], len)) return false;
  std::string hex;
  for (size_t i = 2; i < words.size(); ++i) hex += words[i];
  if (hex.size() != 2u * len) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return true;
}

// TXT presentation: character strings, quoted or not, with \X and \DDD escapes.
bool parse_txt(std::string_view s, std::vector<uint8_t>& out) {
  out.clear();
  size_t i = 0;
  bool any = false;
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i == s.size()) break;
    const bool quoted = s[i] == '"';
    if (quoted) ++i;
    std::string str;
    bool closed = !quoted;
    while (i < s.size()) {
      char c = s[i];
      if (quoted && c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (!quoted && std::isspace(static_cast<unsigned char>(c))) break;
      if (c == '\\') {
        if (i + 1 >= s.size()) return false;
        if (i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 2])) && std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
          unsigned v = static_cast<unsigned>((s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0'));
          if (v > 255) return false;
          str.push_back(static_cast<char>(v));
          i += 4;
        } else {
          str.push_back(s[i + 1]);
          i += 2;
        }
        continue;
      }
      str.push_back(c);
      ++i;
    }
    if (!closed || str.size() > 255) return false;
    out.push_back(static_cast<uint8_t>(str.size()));
    out.insert(out.end(), str.begin(), str.end());
    any = true;
  }
  return any;
}

bool parse_name_text(std::string_view s, std::vector<uint8_t>& out) {
  return !s.empty() && pharos::dns::name_from_text(s, out);
}

// Reads a (possibly compressed) name at `off` of `msg` into lowercase wire form.
bool read_lower_name(std::span<const uint8_t> msg, size_t off, uint8_t* out, size_t& len, size_t& next) {
  len = pharos::dns::read_name(msg.data(), msg.size(), off, out, next);
  if (len == 0) return false;
  pharos::dns::lowercase_name(out);
  return true;
}

bool name_equals(const uint8_t* a, size_t alen, const std::vector<uint8_t>& b) {
  return alen == b.size() && std::memcmp(a, b.data(), alen) == 0;
}

// Does the rdata at [off, off + len) of `msg` match `e`?
bool rdata_matches(std::span<const uint8_t> msg, size_t off, size_t len, const ExpectedAnswer& e) {
  uint8_t name[pharos::dns::kMaxNameLength + 8];
  size_t name_len = 0, next = 0;
  switch (e.kind) {
    case ExpectedAnswer::Kind::Any:
      return true;
    case ExpectedAnswer::Kind::Bytes:
      return len == e.bytes.size() && std::equal(e.bytes.begin(), e.bytes.end(), msg.begin() + off);
    case ExpectedAnswer::Kind::Name:
      return read_lower_name(msg.first(off + len), off, name, name_len, next) && next == off + len &&
             name_equals(name, name_len, e.name);
    case ExpectedAnswer::Kind::Mx:
      return len > 2 && pharos::dns::read_u16(&msg[off]) == e.numbers[0] &&
             read_lower_name(msg.first(off + len), off + 2, name, name_len, next) && next == off + len &&
             name_equals(name, name_len, e.name);
    case ExpectedAnswer::Kind::Srv:
      return len > 6 && pharos::dns::read_u16(&msg[off]) == e.numbers[0] &&
             pharos::dns::read_u16(&msg[off + 2]) == e.numbers[1] &&
             pharos::dns::read_u16(&msg[off + 4]) == e.numbers[2] &&
             read_lower_name(msg.first(off + len), off + 6, name, name_len, next) && next == off + len &&
             name_equals(name, name_len, e.name);
  }
  return false;
}

}  // namespace

std::string rcode_name(uint16_t rcode) {
  static const char* const kNames[] = {"NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                       "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  if (rcode < std::size(kNames)) return kNames[rcode];
  return "RCODE" + std::to_string(rcode);
}

Result<ExpectedAnswer> parse_expected_answer(uint16_t type, std::string_view text) {
  ExpectedAnswer e;
  e.type = type;
  e.text = std::string(text);
  if (text.empty()) return e;
  auto bad = [&](const std::string& form) {
    return Error{"expect_answer " + pharos::dns::quote(text) + " is not " + form};
  };
  if (text.substr(0, 2) == "\\#") {
    e.kind = ExpectedAnswer::Kind::Bytes;
    if (!parse_generic(text, e.bytes)) return bad("valid RFC 3597 generic rdata (\\# length hex)");
    return e;
  }
  const std::string s(text);
  switch (type) {
    case dt::A: {
      e.kind = ExpectedAnswer::Kind::Bytes;
      e.bytes.resize(4);
      if (inet_pton(AF_INET, s.c_str(), e.bytes.data()) != 1) return bad("an IPv4 address");
      return e;
    }
    case dt::AAAA: {
      e.kind = ExpectedAnswer::Kind::Bytes;
      e.bytes.resize(16);
      if (inet_pton(AF_INET6, s.c_str(), e.bytes.data()) != 1) return bad("an IPv6 address");
      return e;
    }
    case dt::NS:
    case dt::CNAME:
    case dt::PTR:
    case dt::DNAME:
      e.kind = ExpectedAnswer::Kind::Name;
      if (!parse_name_text(text, e.name)) return bad("a domain name");
      return e;
    case dt::MX: {
      e.kind = ExpectedAnswer::Kind::Mx;
      auto w = split_words(text);
      if (w.size() != 2 || !parse_u16(w[0], e.numbers[0]) || !parse_name_text(w[1], e.name))
        return bad("MX rdata (preference name)");
      return e;
    }
    case dt::SRV: {
      e.kind = ExpectedAnswer::Kind::Srv;
      auto w = split_words(text);
      if (w.size() != 4 || !parse_u16(w[0], e.numbers[0]) || !parse_u16(w[1], e.numbers[1]) ||
          !parse_u16(w[2], e.numbers[2]) || !parse_name_text(w[3], e.name))
        return bad("SRV rdata (priority weight port target)");
      return e;
    }
    case dt::TXT:
    case 99:  // SPF
      e.kind = ExpectedAnswer::Kind::Bytes;
      if (!parse_txt(text, e.bytes)) return bad("TXT rdata (character strings)");
      return e;
    default:
      return Error{"expect_answer for type " + std::to_string(type) +
                   ": give the rdata in RFC 3597 generic form (\\# length hex); only A, AAAA, NS, CNAME, PTR, "
                   "DNAME, MX, SRV and TXT are understood in presentation form"};
  }
}

Result<std::vector<uint8_t>> make_dns_query(std::string_view qname, uint16_t qtype) {
  std::vector<uint8_t> name;
  if (qname.empty() || !pharos::dns::name_from_text(qname, name))
    return Error{"query_name " + pharos::dns::quote(qname) + " is not a valid domain name"};
  std::vector<uint8_t> q(pharos::dns::kHeaderSize, 0);
  pharos::dns::write_u16(&q[4], 1);  // QDCOUNT; flags 0: QUERY, RD=0
  q.insert(q.end(), name.begin(), name.end());
  uint8_t tail[4];
  pharos::dns::write_u16(tail, qtype);
  pharos::dns::write_u16(tail + 2, pharos::dns::rclass::IN);
  q.insert(q.end(), tail, tail + 4);
  return q;
}

void set_query_id(std::vector<uint8_t>& query, uint16_t id) {
  if (query.size() >= 2) pharos::dns::write_u16(query.data(), id);
}

DnsReplyVerdict check_dns_reply(std::span<const uint8_t> reply, std::span<const uint8_t> query, uint16_t expect_rcode,
                                const ExpectedAnswer& expected) {
  using pharos::dns::read_u16;
  DnsReplyVerdict v;
  const size_t hs = pharos::dns::kHeaderSize;
  if (reply.size() < hs || query.size() < hs + 5) return v;
  if (read_u16(&reply[0]) != read_u16(&query[0])) return v;  // ID
  const uint16_t flags = read_u16(&reply[2]);
  if (!(flags & pharos::dns::flag::QR)) return v;
  if (read_u16(&reply[4]) != 1) return v;  // QDCOUNT
  // The question must be ours (name case-insensitively, type, class).
  uint8_t qname[pharos::dns::kMaxNameLength + 8];
  size_t qlen = 0, off = 0;
  if (!read_lower_name(reply, hs, qname, qlen, off)) return v;
  const size_t our_len = query.size() - hs - 4;
  if (qlen != our_len || std::memcmp(qname, &query[hs], qlen) != 0) return v;
  if (off + 4 > reply.size() || std::memcmp(&reply[off], &query[hs + our_len], 4) != 0) return v;
  off += 4;
  v.ours = true;

  const uint16_t rcode = flags & 0x000F;
  if (rcode != expect_rcode) {
    v.reason = "rcode " + rcode_name(rcode) + ", expected " + rcode_name(expect_rcode);
    return v;
  }
  if (expected.kind == ExpectedAnswer::Kind::Any) {
    v.ok = true;
    v.reason = "rcode " + rcode_name(rcode);
    return v;
  }
  const uint16_t ancount = read_u16(&reply[6]);
  for (unsigned i = 0; i < ancount; ++i) {
    uint8_t owner[pharos::dns::kMaxNameLength + 8];
    size_t olen = 0, next = 0;
    if (!read_lower_name(reply, off, owner, olen, next) || next + 10 > reply.size()) {
      v.reason = "malformed reply";
      return v;
    }
    const uint16_t type = read_u16(&reply[next]);
    const uint16_t cls = read_u16(&reply[next + 2]);
    const uint16_t rdlen = read_u16(&reply[next + 8]);
    const size_t rd = next + 10;
    if (rd + rdlen > reply.size()) {
      v.reason = "malformed reply";
      return v;
    }
    if (type == expected.type && cls == pharos::dns::rclass::IN && rdata_matches(reply, rd, rdlen, expected)) {
      v.ok = true;
      v.reason = "rcode " + rcode_name(rcode) + ", answer " + expected.text;
      return v;
    }
    off = rd + rdlen;
  }
  v.reason = "no answer matches " + pharos::dns::quote(expected.text);
  if (flags & pharos::dns::flag::TC) v.reason += " (reply truncated)";
  return v;
}

}  // namespace pharos::health
