#include "dns/rdata.h"

#include "dns/name.h"
#include "dns/types.h"

namespace pharos::dns {

// Length of the valid uncompressed name at `p` within `avail` bytes, or 0.
size_t valid_name_length(const uint8_t* p, size_t avail) {
  size_t off = 0;
  while (true) {
    if (off >= avail) return 0;
    uint8_t c = p[off];
    if (c == 0) return off + 1 <= dns::kMaxNameLength ? off + 1 : 0;
    if (c > dns::kMaxLabelLength) return 0;
    off += c + 1u;
    if (off >= dns::kMaxNameLength) return 0;
  }
}

bool normalise_rdata(uint16_t t, uint8_t* rd, uint16_t len, std::string& why) {
  auto name_at = [&](size_t off, bool to_end) -> size_t {
    size_t n = off <= len ? valid_name_length(rd + off, len - off) : 0;
    if (n == 0 || (to_end && off + n != len)) return 0;
    dns::lowercase_name(rd + off);
    return n;
  };
  switch (t) {
    case type::A:
      if (len != 4) why = "A rdata must be 4 bytes";
      break;
    case type::AAAA:
      if (len != 16) why = "AAAA rdata must be 16 bytes";
      break;
    case type::NS:
    case type::CNAME:
    case type::PTR:
    case type::DNAME:
      if (!name_at(0, true)) why = "rdata is not a single domain name";
      break;
    case type::MX:
      if (len < 3 || !name_at(2, true)) why = "MX rdata must be a preference and a name";
      break;
    case type::SRV:
      if (len < 7 || !name_at(6, true)) why = "SRV rdata must be priority, weight, port and a name";
      break;
    case type::SOA: {
      size_t m = name_at(0, false);
      size_t r = m ? name_at(m, false) : 0;
      if (!m || !r || m + r + 20 != len) why = "SOA rdata must be two names and five 32-bit numbers";
      break;
    }
    default:
      break;
  }
  return why.empty();
}

}  // namespace pharos::dns
