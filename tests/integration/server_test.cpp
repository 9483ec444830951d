// The real binary over UDP and TCP: answers, TCP framing and pipelining, limits, malformed input.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "integration/harness.h"

using namespace pharos::test;

namespace {

const char* kZone = R"($ORIGIN example.com.
$TTL 3600
@       SOA ns1 hostmaster 2026112201 7200 900 1209600 300
        NS  ns1
        NS  ns2
        MX  10 mail
ns1     A   192.0.2.53
ns2     A   198.51.100.53
mail    A   192.0.2.25
www  60 CNAME app
app     A   192.0.2.10
sub     NS  ns.sub
ns.sub  A   192.0.2.99
*.wild  A   203.0.113.7
)";

// A zone with an RRset too large for 512 bytes.
std::string big_zone() {
  std::string z = std::string(kZone);
  for (int i = 0; i < 40; ++i) z += "big TXT \"record number " + std::to_string(i) + " with some padding text\"\n";
  return z;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<Pharos> pharos;
  explicit Fixture(const std::string& server_extra = "") {
    std::string zone = dir.write("example.com.zone", big_zone());
    std::string cfg = dir.write("pharos.yaml", pharos_config({{"example.com", zone}}, server_extra));
    pharos = std::make_unique<Pharos>(cfg, dir.path() + "/pharos.log");
  }
  DnsClient client() const { return DnsClient(pharos->port()); }
};

}  // namespace

TEST_CASE("server: answers over UDP and TCP alike", "[integration]") {
  Fixture f;
  auto c = f.client();
  for (bool tcp : {false, true}) {
    INFO("tcp=" << tcp);
    auto p = c.query("www.example.com", LDNS_RR_TYPE_A, tcp);
    REQUIRE(p);
    CHECK(rcode_name(p.get()) == "NOERROR");
    CHECK(ldns_pkt_aa(p.get()));
    CHECK(section(p.get(), LDNS_SECTION_ANSWER) ==
          std::vector<std::string>{"app.example.com.\t3600\tin\ta\t192.0.2.10",
                                   "www.example.com.\t60\tin\tcname\tapp.example.com."});
    auto nx = c.query("nope.example.com", LDNS_RR_TYPE_A, tcp);
    REQUIRE(nx);
    CHECK(rcode_name(nx.get()) == "NXDOMAIN");
    CHECK(section(nx.get(), LDNS_SECTION_AUTHORITY).size() == 1);
  }
}

TEST_CASE("server: a reply too large for UDP is truncated and complete over TCP", "[integration]") {
  Fixture f;
  auto c = f.client();
  QueryOptions no_edns;
  no_edns.edns = false;
  auto udp = c.query("big.example.com", LDNS_RR_TYPE_TXT, false, no_edns);
  REQUIRE(udp);
  CHECK(ldns_pkt_tc(udp.get()));
  auto tcp = c.query("big.example.com", LDNS_RR_TYPE_TXT, true, no_edns);
  REQUIRE(tcp);
  CHECK_FALSE(ldns_pkt_tc(tcp.get()));
  CHECK(ldns_pkt_ancount(tcp.get()) == 40);
  // With EDNS and a 4096-byte buffer but our default maximum of 1232, still truncated.
  QueryOptions big;
  big.payload = 4096;
  auto edns = c.query("big.example.com", LDNS_RR_TYPE_TXT, false, big);
  REQUIRE(edns);
  CHECK(ldns_pkt_tc(edns.get()));
  CHECK(ldns_pkt_edns_udp_size(edns.get()) == 1232);
}

TEST_CASE("server: the EDNS payload maximum is configurable", "[integration]") {
  Fixture f("  udp_payload_max: 4096\n");
  QueryOptions big;
  big.payload = 4096;
  auto p = f.client().query("big.example.com", LDNS_RR_TYPE_TXT, false, big);
  REQUIRE(p);
  CHECK_FALSE(ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_ancount(p.get()) == 40);
}

TEST_CASE("server: TCP queries pipelined on one connection are all answered", "[integration]") {
  Fixture f;
  int fd = tcp_connect(f.pharos->port());
  REQUIRE(fd >= 0);
  const int n = 200;
  std::vector<uint8_t> all;
  const char* names[] = {"www.example.com", "mail.example.com", "nope.example.com", "x.wild.example.com"};
  for (int i = 0; i < n; ++i) {
    QueryOptions o;
    o.id = static_cast<uint16_t>(i);
    auto q = make_query(names[i % 4], LDNS_RR_TYPE_A, o);
    all.push_back(static_cast<uint8_t>(q.size() >> 8));
    all.push_back(static_cast<uint8_t>(q.size()));
    all.insert(all.end(), q.begin(), q.end());
  }
  REQUIRE(send_all(fd, all.data(), all.size()));  // one write: the server reads them together
  std::vector<bool> seen(n, false);
  for (int i = 0; i < n; ++i) {
    auto frame = read_frame(fd);
    REQUIRE(frame);
    auto p = parse(*frame);
    REQUIRE(p);
    uint16_t id = ldns_pkt_id(p.get());
    REQUIRE(id < n);
    CHECK_FALSE(seen[id]);
    seen[id] = true;
    CHECK(rcode_name(p.get()) == (id % 4 == 2 ? "NXDOMAIN" : "NOERROR"));
  }
  ::close(fd);
}

TEST_CASE("server: a TCP query split across many small writes is answered", "[integration]") {
  Fixture f;
  int fd = tcp_connect(f.pharos->port());
  REQUIRE(fd >= 0);
  auto q = make_query("www.example.com", LDNS_RR_TYPE_A);
  std::vector<uint8_t> framed{static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  for (uint8_t b : framed) {
    REQUIRE(send_all(fd, &b, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto frame = read_frame(fd);
  REQUIRE(frame);
  CHECK(parse(*frame));
  ::close(fd);
}

TEST_CASE("server: idle, half-open and truncated TCP connections are closed after the idle timeout",
          "[integration]") {
  Fixture f("  tcp_idle_timeout: 300ms\n");
  int idle = tcp_connect(f.pharos->port());
  int partial = tcp_connect(f.pharos->port());
  REQUIRE(idle >= 0);
  REQUIRE(partial >= 0);
  // A frame that promises 100 bytes and delivers 10, then goes quiet.
  uint8_t head[12] = {0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  REQUIRE(send_all(partial, head, sizeof head));
  // Half-open: we stop writing but keep reading.
  int half = tcp_connect(f.pharos->port());
  REQUIRE(half >= 0);
  ::shutdown(half, SHUT_WR);
  CHECK(wait_closed(idle, std::chrono::milliseconds(3000)));
  CHECK(wait_closed(partial, std::chrono::milliseconds(3000)));
  CHECK(wait_closed(half, std::chrono::milliseconds(3000)));
  ::close(idle);
  ::close(partial);
  ::close(half);
  // Still serving.
  CHECK(f.client().query("www.example.com", LDNS_RR_TYPE_A, true));
}

TEST_CASE("server: a zero-length TCP frame closes the connection", "[integration]") {
  Fixture f;
  int fd = tcp_connect(f.pharos->port());
  REQUIRE(fd >= 0);
  uint8_t zero[2] = {0, 0};
  REQUIRE(send_all(fd, zero, 2));
  CHECK(wait_closed(fd, std::chrono::milliseconds(2000)));
  ::close(fd);
}

TEST_CASE("server: connections over the cap are refused and the cap frees up", "[integration]") {
  Fixture f("  tcp_max_connections: 4\n");
  std::vector<int> open;
  for (int i = 0; i < 4; ++i) {
    int fd = tcp_connect(f.pharos->port());
    REQUIRE(fd >= 0);
    open.push_back(fd);
  }
  // Let the server accept all four before the fifth.
  for (int fd : open) {
    auto q = make_query("www.example.com", LDNS_RR_TYPE_A);
    std::vector<uint8_t> framed{0, static_cast<uint8_t>(q.size())};
    framed.insert(framed.end(), q.begin(), q.end());
    REQUIRE(send_all(fd, framed.data(), framed.size()));
    REQUIRE(read_frame(fd));
  }
  int over = tcp_connect(f.pharos->port());
  REQUIRE(over >= 0);
  CHECK(wait_closed(over, std::chrono::milliseconds(2000)));
  ::close(over);
  ::close(open.back());
  open.pop_back();
  // The slot is released when the server sees the close; retry briefly.
  bool answered = false;
  for (int attempt = 0; attempt < 50 && !answered; ++attempt) {
    answered = static_cast<bool>(f.client().tcp(make_query("www.example.com", LDNS_RR_TYPE_A)));
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(answered);
  for (int fd : open) ::close(fd);
}

TEST_CASE("server: malformed packets are answered FORMERR or dropped, never a crash", "[integration]") {
  Fixture f;
  auto c = f.client();
  // QDCOUNT 2: FORMERR.
  auto q = make_query("www.example.com", LDNS_RR_TYPE_A);
  q[5] = 2;
  auto r = c.udp(q);
  REQUIRE(r);
  REQUIRE(r->size() >= 12);
  CHECK(((*r)[3] & 0xF) == LDNS_RCODE_FORMERR);
  // A response (QR=1) gets no answer.
  auto resp = make_query("www.example.com", LDNS_RR_TYPE_A);
  resp[2] |= 0x80;
  CHECK_FALSE(c.udp(resp, std::chrono::milliseconds(300)).has_value());
  // Shorter than a header: dropped.
  CHECK_FALSE(c.udp({1, 2, 3}, std::chrono::milliseconds(300)).has_value());
  // Random garbage and truncations of a valid query, over UDP and TCP.
  std::mt19937 rng(42);
  int sock = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.pharos->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> junk;
    if (i % 2) {
      junk = make_query("www.example.com", LDNS_RR_TYPE_A);
      junk.resize(rng() % junk.size());
      if (!junk.empty()) junk[rng() % junk.size()] = static_cast<uint8_t>(rng());
    } else {
      junk.resize(rng() % 600);
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      if (junk.size() > 2) junk[2] &= 0x7F;  // mostly queries, so they get parsed further
    }
    ::sendto(sock, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ::close(sock);
  for (int i = 0; i < 50; ++i) {
    std::vector<uint8_t> junk(rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> framed{static_cast<uint8_t>(junk.size() >> 8), static_cast<uint8_t>(junk.size())};
    framed.insert(framed.end(), junk.begin(), junk.end());
    int fd = tcp_connect(f.pharos->port());
    if (fd >= 0) {
      send_all(fd, framed.data(), framed.size());
      ::close(fd);
    }
  }
  // Still alive and answering.
  auto p = c.query("www.example.com", LDNS_RR_TYPE_A);
  REQUIRE(p);
  CHECK(rcode_name(p.get()) == "NOERROR");
  CHECK(f.pharos->process().running());
}

TEST_CASE("server: EDNS version above 0 gets BADVERS", "[integration]") {
  Fixture f;
  auto q = make_query("www.example.com", LDNS_RR_TYPE_A);
  // The OPT record is last: root(1) type(2) class(2) ext-rcode(1) version(1) flags(2) rdlen(2).
  q[q.size() - 11 + 6] = 1;
  auto r = f.client().udp(q);
  REQUIRE(r);
  auto p = parse(*r);
  REQUIRE(p);
  // ldns folds the extended rcode into the OPT; BADVERS is 16: header rcode 0, extended rcode 1.
  CHECK(((*r)[3] & 0xF) == 0);
  CHECK(ldns_pkt_edns_extended_rcode(p.get()) == 1);
  CHECK(ldns_pkt_edns_version(p.get()) == 0);
  CHECK(ldns_pkt_ancount(p.get()) == 0);
}

TEST_CASE("server: names outside every zone are REFUSED, unknown opcodes NOTIMP", "[integration]") {
  Fixture f;
  auto c = f.client();
  auto p = c.query("example.org", LDNS_RR_TYPE_A);
  REQUIRE(p);
  CHECK(rcode_name(p.get()) == "REFUSED");
  CHECK_FALSE(ldns_pkt_aa(p.get()));
  auto q = make_query("www.example.com", LDNS_RR_TYPE_A);
  q[2] = static_cast<uint8_t>((q[2] & 0x87) | (9 << 3));  // opcode 9
  auto r = c.udp(q);
  REQUIRE(r);
  CHECK(((*r)[3] & 0xF) == LDNS_RCODE_NOTIMPL);
}
