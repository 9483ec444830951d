// DNS messages as presentation text, for tools and the control API's explain (never per packet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pharos::dns {

struct MessageText {
  std::string rcode;  // "NOERROR", "NXDOMAIN", ... (the header's 4 bits; an extended rcode shows as its number)
  bool aa = false;
  bool tc = false;
  std::vector<std::string> answer;      // one RR per line, as dig prints them (tabs between fields)
  std::vector<std::string> authority;
  std::vector<std::string> additional;  // without the OPT pseudo-record
};

// Parses a whole message (a reply pharos wrote). An error says why it is not one.
Result<MessageText> message_to_text(const uint8_t* wire, size_t size);

}  // namespace pharos::dns
