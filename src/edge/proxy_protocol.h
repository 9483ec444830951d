// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that tells a member
// who the client is at the start of a connection: the client's address and port, and the
// address and port it connected to. Pure.
#pragma once

#include <string>

#include "config/config.h"
#include "edge/http_rules.h"

namespace pharos::edge {

// Writes the header for `client` (its address and local_address, numeric, both IPv4 or both
// IPv6) into `out` (cleared first). Addresses that do not parse, or of two families, give
// "PROXY UNKNOWN" (v1) or the LOCAL command (v2), which members take as "no address".
void write_proxy_header(config::ProxyProtocol version, const ClientInfo& client, std::string& out);

}  // namespace pharos::edge
