// Checks on wire rdata of the types whose layout the server relies on (A, AAAA, and the types
// carrying names: NS, CNAME, PTR, DNAME, MX, SRV, SOA), lowercasing the names inside.
#pragma once

#include <cstdint>
#include <string>

namespace pharos::dns {

// Length of the valid uncompressed name at `p` within `avail` bytes, or 0.
size_t valid_name_length(const uint8_t* p, size_t avail);

// Validates `rdata` for `type` and lowercases the names in it (they are compared and compressed
// byte for byte later). Other types pass unchanged. On failure `why` says what is wrong.
bool normalise_rdata(uint16_t type, uint8_t* rdata, uint16_t len, std::string& why);

}  // namespace pharos::dns
