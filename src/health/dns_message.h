// The dns probe's wire work, without I/O: building the query, recognising our reply, and
// matching `expect_answer` against the answer section. No ldns (this runs on the engine
// thread for every probe).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pharos::health {

// What a dns check expects in the answer section, parsed once from `expect_answer`.
// Supported forms, compared as DNS compares them (addresses by value, names case-insensitively,
// after decompression):
//   A, AAAA                 an address                     "192.0.2.10", "2001:db8::1"
//   NS, CNAME, PTR, DNAME   a name                         "host.example.com."
//   MX                      preference and name            "10 mail.example.com."
//   SRV                     priority weight port target    "0 5 443 www.example.com."
//   TXT, SPF                character strings              "\"v=spf1 -all\"", "a b" (two strings)
//   any type                RFC 3597 generic rdata         "\# 4 c000020a"
// Any other type in its usual presentation form is refused (that needs a full rdata printer,
// which pharos keeps off this path); the generic form covers it.
struct ExpectedAnswer {
  enum class Kind : uint8_t { Any, Bytes, Name, Mx, Srv };
  Kind kind = Kind::Any;
  uint16_t type = 0;
  std::vector<uint8_t> bytes;  // Bytes: the exact rdata
  std::vector<uint8_t> name;   // Name, Mx, Srv: lowercase wire name
  uint16_t numbers[3] = {};    // Mx: preference; Srv: priority, weight, port
  std::string text;            // as configured, for messages
};

// Empty text: Kind::Any (any reply with the expected rcode passes).
Result<ExpectedAnswer> parse_expected_answer(uint16_t type, std::string_view text);

// A query for `qname` (absolute, presentation form) and `qtype`, class IN, opcode QUERY, RD=0,
// no EDNS, ID 0 (set it per probe with set_query_id).
Result<std::vector<uint8_t>> make_dns_query(std::string_view qname, uint16_t qtype);
void set_query_id(std::vector<uint8_t>& query, uint16_t id);

struct DnsReplyVerdict {
  bool ours = false;  // the ID, QR and question match our query; otherwise ignore the datagram
  bool ok = false;
  std::string reason;  // "rcode NOERROR, answer 192.0.2.10", "rcode SERVFAIL, expected NOERROR", ...
};

DnsReplyVerdict check_dns_reply(std::span<const uint8_t> reply, std::span<const uint8_t> query, uint16_t expect_rcode,
                                const ExpectedAnswer& expected);

// "NOERROR", "SERVFAIL", ..., "RCODE12".
std::string rcode_name(uint16_t rcode);

}  // namespace pharos::health
