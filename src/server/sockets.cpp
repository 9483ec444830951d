#include "server/sockets.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pharos::server {
namespace {

struct Address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool v6 = false;
  bool wildcard = false;
};

bool make_address(const config::ListenAddress& a, uint16_t port, Address& out) {
  out = Address{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET, a.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    out.wildcard = v4->sin_addr.s_addr == htonl(INADDR_ANY);
    return true;
  }
  if (inet_pton(AF_INET6, a.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    out.v6 = true;
    out.wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
    return true;
  }
  return false;
}

std::string errno_text(const char* what, const std::string& where) {
  return std::string(what) + " " + where + ": " + std::strerror(errno);
}

// A socket bound to `addr`, SO_REUSEPORT set; -1 and `err` on failure.
int open_bound(const Address& addr, int type, std::string& err, const std::string& where) {
  int fd = ::socket(addr.v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno_text("socket", where);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    // A larger receive buffer rides out bursts (the kernel caps it at net.core.rmem_max).
    int size = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (addr.wildcard) {
      // Bound to every address: learn each query's destination to answer from it.
      if (addr.v6) {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
      } else {
        ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
      }
    }
  } else {
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr.ss), addr.len) != 0) {
    err = errno_text("bind", where);
    ::close(fd);
    return -1;
  }
  if (type == SOCK_STREAM && ::listen(fd, 1024) != 0) {
    err = errno_text("listen", where);
    ::close(fd);
    return -1;
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace

void close_all(ListenSockets& s) {
  for (int fd : s.udp) ::close(fd);
  for (int fd : s.tcp) ::close(fd);
  s.udp.clear();
  s.tcp.clear();
}

Result<ListenSockets> open_listen_sockets(const config::ListenAddress& a, unsigned count) {
  Address addr;
  if (!make_address(a, a.port, addr)) return Error{"listen address " + a.to_string() + " is not numeric"};
  ListenSockets out;
  out.ipv6 = addr.v6;
  out.wildcard = addr.wildcard;
  std::string err;
  // With port 0 the first UDP socket picks the port; TCP must get the same one, which may be
  // taken for TCP, so try a few times.
  for (int attempt = 0; attempt < (a.port == 0 ? 20 : 1); ++attempt) {
    close_all(out);
    make_address(a, a.port, addr);
    int first = open_bound(addr, SOCK_DGRAM, err, a.to_string());
    if (first < 0) break;
    out.udp.push_back(first);
    uint16_t port = bound_port(first);
    make_address(a, port, addr);
    config::ListenAddress resolved = a;
    resolved.port = port;
    out.address = resolved.to_string();
    bool ok = true;
    for (unsigned i = 1; i < count && ok; ++i) {
      int fd = open_bound(addr, SOCK_DGRAM, err, out.address);
      if (fd < 0) ok = false; else out.udp.push_back(fd);
    }
    for (unsigned i = 0; i < count && ok; ++i) {
      int fd = open_bound(addr, SOCK_STREAM, err, out.address);
      if (fd < 0) ok = false; else out.tcp.push_back(fd);
    }
    if (ok) return out;
  }
  close_all(out);
  return Error{err};
}

}  // namespace pharos::server
