// DNS constants: record types, classes, opcodes, rcodes, header bits, limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pharos::dns {

namespace type {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16,
                          AAAA = 28, SRV = 33, NAPTR = 35, DNAME = 39, OPT = 41, DS = 43, RRSIG = 46,
                          NSEC = 47, DNSKEY = 48, NSEC3 = 50, TKEY = 249, TSIG = 250, IXFR = 251,
                          AXFR = 252, MAILB = 253, MAILA = 254, ANY = 255, CAA = 257;
}  // namespace type

namespace rclass {
inline constexpr uint16_t IN = 1, CH = 3, NONE = 254, ANY = 255;
}  // namespace rclass

namespace opcode {
inline constexpr uint8_t QUERY = 0, IQUERY = 1, STATUS = 2, NOTIFY = 4, UPDATE = 5;
}  // namespace opcode

namespace rcode {
inline constexpr uint16_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5,
                          BADVERS = 16;
}  // namespace rcode

// Header flag bits in the 16-bit flags word.
namespace flag {
inline constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080, AD = 0x0020,
                          CD = 0x0010;
}  // namespace flag

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxLabels = 127;
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr size_t kUdpPayloadNoEdns = 512;
inline constexpr size_t kMaxMessage = 65535;
inline constexpr size_t kOptRecordSize = 11;  // root owner, type, class, ttl, rdlength 0

// EDNS option codes (RFC 6891 registry).
namespace edns_option {
inline constexpr uint16_t NSID = 3, CLIENT_SUBNET = 8, COOKIE = 10, PADDING = 12;
}  // namespace edns_option

inline uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t read_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void write_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Copies n <= 32 bytes between buffers that do not overlap, without a call: two fixed-size
// moves, the second ending where the data ends (they overlap when n is not a power of two).
inline void copy_short(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n >= 16) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n >= 2) {
    std::memcpy(dst, src, 2);
    std::memcpy(dst + n - 2, src + n - 2, 2);
  } else if (n == 1) {
    dst[0] = src[0];
  }
}

}  // namespace pharos::dns
