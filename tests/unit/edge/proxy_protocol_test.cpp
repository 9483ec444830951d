// The PROXY protocol header, byte for byte, against HAProxy's proxy-protocol.txt.
#include <catch2/catch.hpp>

#include "edge/proxy_protocol.h"

using namespace pharos::edge;
using pharos::config::ProxyProtocol;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

const std::string kSig = bytes({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

}  // namespace

TEST_CASE("edge proxy protocol: version 1 is one text line", "[edge]") {
  std::string out;
  ClientInfo v4{"192.0.2.7", 51234, true, "198.51.100.1", 443};
  write_proxy_header(ProxyProtocol::V1, v4, out);
  CHECK(out == "PROXY TCP4 192.0.2.7 198.51.100.1 51234 443\r\n");
  ClientInfo v6{"2001:db8::7", 1, true, "2001:db8::1", 8443};
  write_proxy_header(ProxyProtocol::V1, v6, out);
  CHECK(out == "PROXY TCP6 2001:db8::7 2001:db8::1 1 8443\r\n");
  ClientInfo mixed{"192.0.2.7", 1, true, "2001:db8::1", 443};
  write_proxy_header(ProxyProtocol::V1, mixed, out);
  CHECK(out == "PROXY UNKNOWN\r\n");
  ClientInfo none{"", 0, true, "", 0};
  write_proxy_header(ProxyProtocol::V1, none, out);
  CHECK(out == "PROXY UNKNOWN\r\n");
}

TEST_CASE("edge proxy protocol: version 2 is the binary header", "[edge]") {
  std::string out;
  ClientInfo v4{"192.0.2.7", 51234, true, "198.51.100.1", 443};
  write_proxy_header(ProxyProtocol::V2, v4, out);
  // signature, v2 PROXY, TCP over IPv4, 12 bytes: src, dst, src port, dst port
  CHECK(out == kSig + bytes({0x21, 0x11, 0x00, 0x0C, 192, 0, 2, 7, 198, 51, 100, 1, 0xC8, 0x22, 0x01, 0xBB}));

  ClientInfo v6{"2001:db8::7", 1, true, "2001:db8::1", 8443};
  write_proxy_header(ProxyProtocol::V2, v6, out);
  REQUIRE(out.size() == 16 + 36);
  CHECK(out.substr(0, 16) == kSig + bytes({0x21, 0x21, 0x00, 0x24}));
  CHECK(out.substr(16, 16) == bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}));
  CHECK(out.substr(32, 16) == bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  CHECK(out.substr(48) == bytes({0x00, 0x01, 0x20, 0xFB}));

  ClientInfo mixed{"192.0.2.7", 1, true, "2001:db8::1", 443};
  write_proxy_header(ProxyProtocol::V2, mixed, out);
  CHECK(out == kSig + bytes({0x20, 0x00, 0x00, 0x00}));  // LOCAL, no address
}
