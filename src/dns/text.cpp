#include "dns/text.h"

#include <cstdlib>

#include "dns/ldns_cxx.h"

namespace pharos::dns {

namespace {

std::vector<std::string> lines_of(const ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) continue;
    char* text = ldns_rr2str(rr);
    if (!text) continue;
    std::string line(text);
    std::free(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace

Result<MessageText> message_to_text(const uint8_t* wire, size_t size) {
  ldns_pkt* pkt = nullptr;
  const ldns_status st = ldns_wire2pkt(&pkt, wire, size);
  if (st != LDNS_STATUS_OK) return Error{std::string("not a DNS message: ") + ldns_get_errorstr_by_id(st)};
  MessageText m;
  const int rcode = static_cast<int>(ldns_pkt_get_rcode(pkt));
  const ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, rcode);
  m.rcode = lt ? lt->name : std::to_string(rcode);
  m.aa = ldns_pkt_aa(pkt);
  m.tc = ldns_pkt_tc(pkt);
  m.answer = lines_of(ldns_pkt_answer(pkt));
  m.authority = lines_of(ldns_pkt_authority(pkt));
  m.additional = lines_of(ldns_pkt_additional(pkt));
  ldns_pkt_free(pkt);
  return m;
}

}  // namespace pharos::dns
