// Listening: IPv6, wildcard binds answering from the address asked, and the real dig and kdig
// reading our replies.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "integration/harness.h"

using namespace pharos::test;

namespace {

const char* kZone = "$ORIGIN example.com.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
                    "www A 192.0.2.80\nwww AAAA 2001:db8::80\n";

// One UDP exchange over a connected socket of family `af` to `addr`:`port`. A connected socket
// only accepts a reply from exactly that address and port.
std::optional<std::vector<uint8_t>> exchange(int af, const std::string& addr, uint16_t port,
                                             const std::vector<uint8_t>& q) {
  int fd = ::socket(af, SOCK_DGRAM, 0);
  sockaddr_storage ss{};
  socklen_t len;
  if (af == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, addr.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, addr.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  std::optional<std::vector<uint8_t>> out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 && ::send(fd, q.data(), q.size(), 0) > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) == 1) {
      std::vector<uint8_t> buf(65535);
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n > 0) {
        buf.resize(static_cast<size_t>(n));
        out = std::move(buf);
      }
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("addresses: IPv6 over UDP and TCP", "[integration]") {
  TempDir dir;
  std::string zone = dir.write("example.com.zone", kZone);
  std::string cfg = dir.write("pharos.yaml", "server:\n  listen: [\"127.0.0.1:0\", \"[::1]:0\"]\n  workers: 1\nzones:\n"
                                             "  - origin: example.com\n    file: " + zone + "\n");
  Process p({pharos_binary(), "--config", cfg}, dir.path() + "/pharos.log");
  auto port = p.wait_for_log(R"(listening address=\[::1\]:(\d+))");
  REQUIRE(port);
  uint16_t v6 = static_cast<uint16_t>(std::stoi(*port));
  auto r = exchange(AF_INET6, "::1", v6, make_query("www.example.com", LDNS_RR_TYPE_AAAA));
  REQUIRE(r);
  auto pkt = parse(*r);
  REQUIRE(pkt);
  CHECK(section(pkt.get(), LDNS_SECTION_ANSWER) ==
        std::vector<std::string>{"www.example.com.\t60\tin\taaaa\t2001:db8::80"});
  std::string out = run_capture("kdig +tcp +short -p " + *port + " @::1 www.example.com AAAA 2>&1");
  CHECK(out == "2001:db8::80\n");
}

TEST_CASE("addresses: a wildcard bind answers from the address the query was sent to", "[integration]") {
  TempDir dir;
  std::string zone = dir.write("example.com.zone", kZone);
  std::string cfg = dir.write("pharos.yaml", "server:\n  listen: [\"0.0.0.0:0\"]\n  workers: 1\nzones:\n"
                                             "  - origin: example.com\n    file: " + zone + "\n");
  Process p({pharos_binary(), "--config", cfg}, dir.path() + "/pharos.log");
  auto port = p.wait_for_log(R"(listening address=0\.0\.0\.0:(\d+))");
  REQUIRE(port);
  uint16_t v4 = static_cast<uint16_t>(std::stoi(*port));
  // 127.0.0.0/8 is all loopback on Linux: a reply from 127.0.0.1 to a query sent to 127.0.0.3
  // would be refused by the connected socket.
  for (const char* addr : {"127.0.0.1", "127.0.0.3"}) {
    INFO(addr);
    auto r = exchange(AF_INET, addr, v4, make_query("www.example.com", LDNS_RR_TYPE_A));
    REQUIRE(r);
    CHECK(parse(*r));
  }
}

TEST_CASE("addresses: dig and kdig read our answers", "[integration]") {
  TempDir dir;
  std::string zone = dir.write("example.com.zone", kZone);
  std::string cfg = dir.write("pharos.yaml", pharos_config({{"example.com", zone}}));
  Pharos p(cfg, dir.path() + "/pharos.log");
  std::string port = std::to_string(p.port());
  for (const char* tool : {"dig", "kdig"}) {
    INFO(tool);
    REQUIRE(have_program(tool));
    std::string base = std::string(tool) + " -p " + port + " @127.0.0.1 ";
    CHECK(run_capture(base + "+short www.example.com A 2>&1") == "192.0.2.80\n");
    CHECK(run_capture(base + "+tcp +short www.example.com A 2>&1") == "192.0.2.80\n");
    std::string nx = run_capture(base + "nope.example.com A 2>&1");
    CHECK(nx.find("NXDOMAIN") != std::string::npos);
    CHECK(nx.find("aa") != std::string::npos);
  }
}
