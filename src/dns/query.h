// Parsing a query in place: header, the one question, and the OPT record (RFC 6891).
// Fixed-size storage only: a Query lives in the worker and is reused for every packet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/types.h"

namespace pharos::dns {

enum class ParseStatus : uint8_t {
  Ok,
  Drop,     // not worth an answer: too short for a header, or QR=1 (a response)
  FormErr,  // answer FORMERR (question echoed when it could be parsed)
  NotImp,   // opcode we do not implement (question echoed when it could be parsed)
  BadVers,  // EDNS version above 0: answer BADVERS with an OPT
};

struct Query {
  // The message as received; the raw question is echoed from it, keeping the client's case.
  const uint8_t* packet = nullptr;
  size_t size = 0;

  uint16_t id = 0;
  uint16_t flags = 0;  // as received
  uint8_t opcode = 0;

  // The question. `question_end` is 0 when it could not be parsed.
  size_t question_end = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t qname_len = 0;     // including the root byte
  uint8_t qname_labels = 0;  // not counting the root
  uint8_t qname[kMaxNameLength + 1];      // lowercased, uncompressed (+1: lowercased 8 bytes at a time)
  uint8_t qname_offsets[kMaxLabels + 1];  // offset of each label in qname

  // EDNS (RFC 6891).
  bool edns = false;
  uint8_t edns_version = 0;
  bool do_bit = false;
  uint16_t udp_payload = 0;  // as sent by the client (0 without EDNS)
  bool nsid = false;         // client asked for NSID (RFC 5001)
  // EDNS Client Subnet (RFC 7871), validated: family 1 (IPv4) or 2 (IPv6), source prefix within
  // the family, scope 0, exactly ceil(source/8) address bytes, no bits set past the prefix.
  // Anything else makes the query FORMERR (§7.1.1).
  const uint8_t* client_subnet = nullptr;  // the option's data as received, for the reply's echo
  uint16_t client_subnet_len = 0;
  uint8_t ecs_source = 0;      // source prefix length
  bool ecs_v6 = false;
  uint8_t ecs_addr[16] = {};   // the address, zero-padded
};

// Parses `packet`. On any status other than Drop, `q` holds at least the header fields, and the
// question when `q.question_end != 0`.
ParseStatus parse_query(const uint8_t* packet, size_t size, Query& q);

}  // namespace pharos::dns
