// Listening sockets: one UDP socket and one TCP listener per worker and address, all bound to
// the same port with SO_REUSEPORT so the kernel spreads packets and connections over workers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace pharos::server {

struct ListenSockets {
  std::string address;  // as bound, "127.0.0.1:5353"
  bool ipv6 = false;
  bool wildcard = false;  // 0.0.0.0 or ::, so replies need the destination address (pktinfo)
  std::vector<int> udp;   // one per worker
  std::vector<int> tcp;   // one per worker, listening
};

// Opens `count` UDP sockets and `count` TCP listeners on `addr`. Port 0 picks one free port for
// UDP and TCP alike. On error nothing stays open.
Result<ListenSockets> open_listen_sockets(const config::ListenAddress& addr, unsigned count);

void close_all(ListenSockets& s);

}  // namespace pharos::server
