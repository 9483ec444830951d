// Building queries and reading replies with ldns, independently of pharos's own wire code.
// Shared by the unit and integration tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/ldns_cxx.h"

namespace pharos::test {

struct PacketDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Packet = std::unique_ptr<ldns_pkt, PacketDeleter>;

struct QueryOptions {
  bool edns = true;
  uint16_t payload = 1232;
  bool do_bit = false;
  bool rd = false;
  uint16_t id = 0x1234;
  uint16_t qclass = LDNS_RR_CLASS_IN;
  std::vector<uint8_t> ecs;  // Client Subnet option data (RFC 7871) to send, if not empty
};

std::vector<uint8_t> make_query(const std::string& name, uint16_t type, const QueryOptions& o = {});
Packet parse(const std::vector<uint8_t>& wire);
Packet parse(const uint8_t* wire, size_t size);
std::string rcode_name(const ldns_pkt* p);
// The records of a section as presentation lines, lowercased, sorted (for comparisons).
std::vector<std::string> section(const ldns_pkt* p, ldns_pkt_section s);
std::string to_text(const ldns_pkt* p);
// The data of the reply's first EDNS option `code`; empty if absent.
std::vector<uint8_t> edns_option(const ldns_pkt* p, uint16_t code);
// Client Subnet option data for `addr` ("10.1.2.0" or "2001:db8::") with `source` bits.
std::vector<uint8_t> ecs_option(const std::string& addr, uint8_t source);

}  // namespace pharos::test
