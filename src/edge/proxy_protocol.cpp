#include "edge/proxy_protocol.h"

#include <arpa/inet.h>

namespace pharos::edge {

namespace {

// The v2 signature: \r\n\r\n\0\r\nQUIT\n.
constexpr char kSignature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

void write_proxy_header(config::ProxyProtocol version, const ClientInfo& client, std::string& out) {
  out.clear();
  unsigned char src[16], dst[16];
  int family = 0;
  if (inet_pton(AF_INET, client.address.c_str(), src) == 1 && inet_pton(AF_INET, client.local_address.c_str(), dst) == 1) {
    family = AF_INET;
  } else if (inet_pton(AF_INET6, client.address.c_str(), src) == 1 &&
             inet_pton(AF_INET6, client.local_address.c_str(), dst) == 1) {
    family = AF_INET6;
  }
  if (version == config::ProxyProtocol::V1) {
    if (family == 0) {
      out = "PROXY UNKNOWN\r\n";
      return;
    }
    out = family == AF_INET ? "PROXY TCP4 " : "PROXY TCP6 ";
    out += client.address + " " + client.local_address + " " + std::to_string(client.port) + " " +
           std::to_string(client.local_port) + "\r\n";
    return;
  }
  out.append(kSignature, sizeof kSignature);
  if (family == 0) {
    out.push_back(0x20);  // version 2, LOCAL
    out.push_back(0x00);  // AF_UNSPEC
    put16(out, 0);
    return;
  }
  out.push_back(0x21);                                  // version 2, PROXY
  out.push_back(family == AF_INET ? 0x11 : 0x21);       // TCP over IPv4 / IPv6
  const size_t len = family == AF_INET ? 4 : 16;
  put16(out, static_cast<uint16_t>(2 * len + 4));
  out.append(reinterpret_cast<const char*>(src), len);
  out.append(reinterpret_cast<const char*>(dst), len);
  put16(out, client.port);
  put16(out, client.local_port);
}

}  // namespace pharos::edge
