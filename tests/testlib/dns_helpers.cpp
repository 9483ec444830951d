#include "testlib/dns_helpers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace pharos::test {

std::vector<uint8_t> make_query(const std::string& name, uint16_t type, const QueryOptions& o) {
  ldns_pkt* q = nullptr;
  ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
  if (!owner) throw std::runtime_error("bad name " + name);
  q = ldns_pkt_query_new(owner, static_cast<ldns_rr_type>(type), static_cast<ldns_rr_class>(o.qclass),
                         o.rd ? LDNS_RD : 0);
  ldns_pkt_set_id(q, o.id);
  if (o.edns) {
    ldns_pkt_set_edns_udp_size(q, o.payload);
    ldns_pkt_set_edns_do(q, o.do_bit);
    std::vector<uint8_t> opts;
    if (!o.ecs.empty()) {
      opts = {0, 8, static_cast<uint8_t>(o.ecs.size() >> 8), static_cast<uint8_t>(o.ecs.size())};
      opts.insert(opts.end(), o.ecs.begin(), o.ecs.end());
    }
    ldns_pkt_set_edns_data(q, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, opts.size(), opts.data()));
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_status st = ldns_pkt2wire(&wire, q, &size);
  ldns_pkt_free(q);
  if (st != LDNS_STATUS_OK) throw std::runtime_error("ldns_pkt2wire failed");
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  return out;
}

Packet parse(const uint8_t* wire, size_t size) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire, size) != LDNS_STATUS_OK) return Packet(nullptr);
  return Packet(p);
}

Packet parse(const std::vector<uint8_t>& wire) { return parse(wire.data(), wire.size()); }

std::string rcode_name(const ldns_pkt* p) {
  ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(ldns_pkt_get_rcode(p)));
  return lt ? lt->name : std::to_string(ldns_pkt_get_rcode(p));
}

std::vector<std::string> section(const ldns_pkt* p, ldns_pkt_section s) {
  std::vector<std::string> out;
  ldns_rr_list* list = ldns_pkt_get_section_clone(p, s);
  if (!list) return out;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    char* text = ldns_rr2str(ldns_rr_list_rr(list, i));
    std::string line(text);
    free(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
    std::transform(line.begin(), line.end(), line.begin(), [](unsigned char c) { return std::tolower(c); });
    out.push_back(line);
  }
  ldns_rr_list_deep_free(list);
  std::sort(out.begin(), out.end());
  return out;
}

std::string to_text(const ldns_pkt* p) {
  if (!p) return "(no reply)";
  char* s = ldns_pkt2str(p);
  std::string out(s);
  free(s);
  return out;
}

}  // namespace pharos::test

namespace pharos::test {

std::vector<uint8_t> edns_option(const ldns_pkt* p, uint16_t code) {
  ldns_rdf* d = ldns_pkt_edns_data(p);
  if (!d) return {};
  const uint8_t* b = ldns_rdf_data(d);
  size_t n = ldns_rdf_size(d);
  for (size_t pos = 0; pos + 4 <= n;) {
    uint16_t c = static_cast<uint16_t>(b[pos] << 8 | b[pos + 1]);
    uint16_t len = static_cast<uint16_t>(b[pos + 2] << 8 | b[pos + 3]);
    if (pos + 4 + len > n) break;
    if (c == code) return std::vector<uint8_t>(b + pos + 4, b + pos + 4 + len);
    pos += 4u + len;
  }
  return {};
}

std::vector<uint8_t> ecs_option(const std::string& addr, uint8_t source) {
  uint8_t a[16] = {};
  bool v6 = addr.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), a) != 1) throw std::runtime_error("bad address " + addr);
  std::vector<uint8_t> out{0, static_cast<uint8_t>(v6 ? 2 : 1), source, 0};
  out.insert(out.end(), a, a + (source + 7) / 8);
  return out;
}

}  // namespace pharos::test
