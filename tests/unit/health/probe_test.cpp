// Probes against real servers started on 127.0.0.1 port 0 inside the test.
#include "health/probe.h"

#include <catch2/catch.hpp>
#include <set>

#include "health/dns_message.h"
#include "unit/health/test_servers.h"

using namespace pharos;
using namespace pharos::health;
using namespace pharos::health::test;
using config::CheckType;

namespace {

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

// ---- tcp --------------------------------------------------------------------------------------

TEST_CASE("health: tcp probe passes when the connect succeeds", "[health]") {
  TcpListener listener;
  ProbeResult r = probe_once(make_check("t", CheckType::Tcp, listener.port()));
  CHECK(r.ok);
  CHECK(r.reason == "connected");
  CHECK(r.latency.count() >= 0);
}

TEST_CASE("health: tcp probe fails with connect refused on a closed port", "[health]") {
  ClosedPort closed;
  ProbeResult r = probe_once(make_check("t", CheckType::Tcp, closed.port()));
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "connect refused");
}

TEST_CASE("health: tcp probe times out on a listener that never completes the handshake", "[health]") {
  FullBacklog backlog;
  auto c = make_check("t", CheckType::Tcp, backlog.port());
  c.timeout = 200ms;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "connect timeout");
}

TEST_CASE("health: a target that is not an address fails every probe", "[health]") {
  auto c = make_check("t", CheckType::Tcp, 80);
  c.target.address = "web.example";
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "target \"web.example\" is not an IP address");
}

TEST_CASE("health: a cancelled probe reports cancelled", "[health]") {
  FullBacklog backlog;
  auto c = make_check("t", CheckType::Tcp, backlog.port());
  c.timeout = 60s;
  asio::io_context io;
  ProbeResult out;
  int calls = 0;
  ProbeHandle h = start_probe(io.get_executor(), prepare_probe(c), [&](ProbeResult r) {
    out = std::move(r);
    ++calls;
  });
  asio::post(io, [&] { h.cancel(); });
  io.run();
  CHECK(calls == 1);
  CHECK_FALSE(out.ok);
  CHECK(out.reason == "cancelled");
  h.cancel();  // harmless once finished
}

TEST_CASE("health: a probe cancelled before its first operation does not start it", "[health]") {
  // The cancellation signal reaches only an operation in progress; one sent before the
  // coroutine has started (or between two operations) must still stop the probe, and not leave
  // it waiting for its 60s timeout. (The dns probe's send completes at once whatever the
  // signal says; its receive then used to wait for the timeout.)
  FullBacklog backlog;
  DnsResponder silent([](const std::vector<uint8_t>&) { return std::vector<std::vector<uint8_t>>{}; });
  for (auto type : {CheckType::Tcp, CheckType::Http, CheckType::Https, CheckType::Dns}) {
    INFO(static_cast<int>(type));
    auto c = make_check("t", type, type == CheckType::Dns ? silent.port() : backlog.port());
    c.timeout = 60s;
    c.tls_verify = false;
    c.query_name = "example.com.";
    asio::io_context io;
    ProbeResult out;
    int calls = 0;
    ProbeHandle h = start_probe(io.get_executor(), prepare_probe(c), [&](ProbeResult r) {
      out = std::move(r);
      ++calls;
    });
    h.cancel();
    const auto t0 = std::chrono::steady_clock::now();
    io.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // loose: "at once", not after the timeout
    CHECK(calls == 1);
    CHECK(out.reason == "cancelled");
  }
}

// ---- http -------------------------------------------------------------------------------------

TEST_CASE("health: http probe sends the request line and headers", "[health]") {
  HttpServer server([](const std::string&) { return http_response(200, "fine"); });
  auto c = make_check("h", CheckType::Http, server.port());
  c.path = "/health?full=1";
  c.headers = {{"X-Probe", "1"}, {"Connection", "keep-alive"}};
  ProbeResult r = probe_once(c);
  CHECK(r.ok);
  CHECK(r.reason == "status 200");
  REQUIRE(server.requests().size() == 1);
  const std::string req = server.requests()[0];
  CHECK(req.rfind("GET /health?full=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(has(req, "\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
  CHECK(has(req, "\r\nUser-Agent: pharos-health\r\n"));
  CHECK(has(req, "\r\nConnection: close\r\n"));
  CHECK_FALSE(has(req, "keep-alive"));
  CHECK(has(req, "\r\nX-Probe: 1\r\n"));

  SECTION("host and a configured User-Agent replace the defaults") {
    c.host = "www.example.test";
    c.method = "HEAD";
    c.headers = {{"user-agent", "custom"}};
    CHECK(probe_once(c).ok);
    const std::string req2 = server.requests().back();
    CHECK(req2.rfind("HEAD /health?full=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(has(req2, "\r\nHost: www.example.test:" + std::to_string(server.port()) + "\r\n"));
    CHECK(has(req2, "\r\nUser-Agent: custom\r\n"));
    CHECK_FALSE(has(req2, "pharos-health"));
  }
}

TEST_CASE("health: http probe judges the status against expect_status", "[health]") {
  std::atomic<unsigned> status{503};
  HttpServer server([&](const std::string&) { return http_response(status, "body"); });
  auto c = make_check("h", CheckType::Http, server.port());
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "status 503");

  c.expect_status = {{200, 200}, {503, 503}};
  CHECK(probe_once(c).ok);
  status = 302;
  CHECK(probe_once(make_check("h", CheckType::Http, server.port())).ok);  // 200-399 by default
  CHECK_FALSE(probe_once(c).ok);
}

TEST_CASE("health: http probe looks for expect_body in the first body_limit bytes", "[health]") {
  std::atomic<int> mode{0};
  HttpServer server([&](const std::string&) {
    switch (mode.load()) {
      case 0:
        return http_response(200, "all ok here");
      case 1:
        return http_response(200, "all fine here");
      case 2:
        return http_chunked(200, {"all o", "k h", "ere"});  // split across chunks
      default:
        return http_response(200, std::string(100, 'x') + "ok");  // beyond body_limit
    }
  });
  auto c = make_check("h", CheckType::Http, server.port());
  c.expect_body = "ok";
  c.body_limit = 64;

  ProbeResult r = probe_once(c);
  CHECK(r.ok);
  CHECK(r.reason == "status 200, body has \"ok\"");

  mode = 1;
  r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "body lacks \"ok\"");

  mode = 2;
  CHECK(probe_once(c).ok);

  mode = 3;
  r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "body lacks \"ok\"");
  c.body_limit = 102;
  CHECK(probe_once(c).ok);

}

TEST_CASE("health: http probe reads a chunked body past the first chunk", "[health]") {
  HttpServer server([](const std::string&) { return http_chunked(200, {std::string(5000, 'y'), "ok"}); });
  auto c = make_check("h", CheckType::Http, server.port());
  c.expect_body = "ok";
  CHECK(probe_once(c).ok);
  c.body_limit = 5001;  // "ok" would end at byte 5002
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "body lacks \"ok\"");
}

TEST_CASE("health: http probe times out on a slow response", "[health]") {
  HttpServer server([](const std::string&) {
    HttpReply r = http_response(200, "ok");
    r.rest = r.first.substr(20);
    r.first = r.first.substr(0, 20);  // part of the status line, then nothing
    r.stall = true;
    return r;
  });
  auto c = make_check("h", CheckType::Http, server.port());
  c.timeout = 200ms;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "timeout reading response");

  SECTION("a body that stalls times out too") {
    HttpServer body_stall([](const std::string&) {
      return HttpReply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", "", true};
    });
    auto b = make_check("h", CheckType::Http, body_stall.port());
    b.timeout = 200ms;
    b.expect_body = "ok";
    r = probe_once(b);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "timeout reading response");
    b.expect_body.clear();  // the status alone decides
    CHECK(probe_once(b).ok);
  }
}

TEST_CASE("health: http probe times out on a server that accepts and never answers", "[health]") {
  TcpListener silent;
  auto c = make_check("h", CheckType::Http, silent.port());
  c.timeout = 200ms;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "timeout reading response");
}

TEST_CASE("health: http probe fails on a connection closed without a response", "[health]") {
  TcpListener closer(false);
  ProbeResult r = probe_once(make_check("h", CheckType::Http, closer.port()));
  CHECK_FALSE(r.ok);
  CHECK((r.reason == "connection closed before the response" || r.reason.rfind("reading response: ", 0) == 0));
}

TEST_CASE("health: http probe reports a malformed response", "[health]") {
  HttpServer server([](const std::string&) { return HttpReply{"SPDY/9 what\r\n\r\n", "", false}; });
  ProbeResult r = probe_once(make_check("h", CheckType::Http, server.port()));
  CHECK_FALSE(r.ok);
  CHECK(r.reason.rfind("bad response: ", 0) == 0);
}

TEST_CASE("health: http probe refuses a malformed request definition", "[health]") {
  auto c = make_check("h", CheckType::Http, 80);
  c.path = "no-slash";
  CHECK(probe_once(c).reason == "path \"no-slash\" must start with / and contain no spaces");
  c.path = "/";
  c.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  CHECK(probe_once(c).reason == "header \"X-Bad\" is malformed");
}

// ---- https ------------------------------------------------------------------------------------

TEST_CASE("health: https probe verifies the chain and the host name", "[health]") {
  TestPki pki;
  HttpServer server([](const std::string&) { return http_response(200, "ok"); }, &pki.leaf);
  auto c = make_check("s", CheckType::Https, server.port());
  c.host = "health.test";
  c.ca_file = pki.ca_file;
  c.expect_body = "ok";

  SECTION("trusted CA and matching name: passes, with SNI = host") {
    ProbeResult r = probe_once(c);
    CHECK(r.reason == "status 200, body has \"ok\"");
    CHECK(r.ok);
    CHECK(server.last_sni() == "health.test");
    CHECK(has(server.requests().back(), "\r\nHost: health.test:" + std::to_string(server.port()) + "\r\n"));
  }
  SECTION("no host: the certificate must name the target address") {
    c.host.clear();
    ProbeResult r = probe_once(c);
    CHECK(r.reason == "status 200, body has \"ok\"");
  }
  SECTION("a wrong host name fails verification") {
    c.host = "other.test";
    ProbeResult r = probe_once(c);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "tls: certificate verify failed (hostname mismatch)");
  }
  SECTION("the system store does not trust the test CA") {
    c.ca_file.clear();
    ProbeResult r = probe_once(c);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "tls: certificate verify failed (unable to get local issuer certificate)");
  }
  SECTION("tls_verify false accepts it") {
    c.ca_file.clear();
    c.host = "other.test";
    c.tls_verify = false;
    CHECK(probe_once(c).ok);
  }
  SECTION("an unreadable ca_file fails every probe") {
    c.ca_file = "/nonexistent/ca.pem";
    ProbeResult r = probe_once(c);
    CHECK_FALSE(r.ok);
    CHECK(r.reason.rfind("tls: cannot load ca_file \"/nonexistent/ca.pem\": ", 0) == 0);
  }
}

TEST_CASE("health: https probe rejects a self-signed certificate unless told not to verify", "[health]") {
  TestPki pki;
  HttpServer server([](const std::string&) { return http_response(200, "ok"); }, &pki.self_signed);
  auto c = make_check("s", CheckType::Https, server.port());
  c.host = "health.test";
  c.ca_file = pki.ca_file;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "tls: certificate verify failed (self-signed certificate)");
  c.tls_verify = false;
  CHECK(probe_once(c).ok);
}

TEST_CASE("health: https probe times out when the server never answers the handshake", "[health]") {
  TcpListener silent;
  auto c = make_check("s", CheckType::Https, silent.port());
  c.timeout = 200ms;
  c.tls_verify = false;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "tls handshake timeout");
}

TEST_CASE("health: https probe fails the handshake when the server hangs up", "[health]") {
  TcpListener closer(false);
  auto c = make_check("s", CheckType::Https, closer.port());
  c.tls_verify = false;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason.rfind("tls: ", 0) == 0);
}

// ---- dns --------------------------------------------------------------------------------------

namespace {

std::vector<uint8_t> ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

// Also called on the responders' threads, where a Catch2 assertion must not run (Catch2 is
// not thread-safe): a bad name gives an empty result, which the probe then fails on.
std::vector<uint8_t> wire(const std::string& name) {
  std::vector<uint8_t> out;
  if (!dns::name_from_text(name, out)) out.clear();
  return out;
}

config::HealthCheck dns_check(uint16_t port, uint16_t qtype = dns::type::A) {
  auto c = make_check("d", CheckType::Dns, port);
  c.query_name = "www.example.test.";
  c.query_type = qtype;
  return c;
}

}  // namespace

TEST_CASE("health: dns probe sends one RD=0 query and checks the rcode", "[health]") {
  std::atomic<uint16_t> rcode{0};
  std::mutex m;
  std::vector<std::vector<uint8_t>> seen;
  DnsResponder dns_server([&](const std::vector<uint8_t>& q) {
    std::lock_guard lock(m);
    seen.push_back(q);
    return std::vector<std::vector<uint8_t>>{dns_reply(q, rcode)};
  });
  auto c = dns_check(dns_server.port());
  ProbeResult r = probe_once(c);
  CHECK(r.ok);
  CHECK(r.reason == "rcode NOERROR");
  {
    std::lock_guard lock(m);
    REQUIRE(seen.size() == 1);
    const auto& q = seen[0];
    CHECK((dns::read_u16(&q[2]) & dns::flag::RD) == 0);
    CHECK(dns::read_u16(&q[4]) == 1);
    const auto name = wire("www.example.test.");
    CHECK(std::equal(name.begin(), name.end(), q.begin() + 12));
  }

  rcode = dns::rcode::SERVFAIL;
  r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "rcode SERVFAIL, expected NOERROR");

  rcode = dns::rcode::NXDOMAIN;
  c.expect_rcode = dns::rcode::NXDOMAIN;
  CHECK(probe_once(c).ok);
}

TEST_CASE("health: dns probe uses a fresh random ID per query", "[health]") {
  std::mutex m;
  std::set<uint16_t> ids;
  DnsResponder dns_server([&](const std::vector<uint8_t>& q) {
    std::lock_guard lock(m);
    ids.insert(dns::read_u16(&q[0]));
    return std::vector<std::vector<uint8_t>>{dns_reply(q, 0)};
  });
  for (int i = 0; i < 4; ++i) CHECK(probe_once(dns_check(dns_server.port())).ok);
  std::lock_guard lock(m);
  CHECK(ids.size() > 1);  // four equal 16-bit random IDs: chance 2^-48
}

TEST_CASE("health: dns probe matches expect_answer", "[health]") {
  DnsResponder dns_server([&](const std::vector<uint8_t>& q) {
    const uint16_t qtype = dns::read_u16(&q[q.size() - 4]);
    std::vector<TestRecord> answers;
    switch (qtype) {
      case dns::type::A:
        answers = {{dns::type::CNAME, wire("Edge.Example.Test.")},
                   {dns::type::A, ipv4(192, 0, 2, 9)},
                   {dns::type::A, ipv4(192, 0, 2, 10)}};
        break;
      case dns::type::AAAA:
        answers = {{dns::type::AAAA, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}};
        break;
      case dns::type::CNAME: {
        // Compressed: "edge" + pointer to the question's "example.test." (offset 12 + 4).
        answers = {{dns::type::CNAME, {4, 'E', 'd', 'g', 'e', 0xC0, 16}}};
        break;
      }
      case dns::type::MX: {
        std::vector<uint8_t> rd = {0, 10};
        auto n = wire("mail.example.test.");
        rd.insert(rd.end(), n.begin(), n.end());
        answers = {{dns::type::MX, rd}};
        break;
      }
      case dns::type::TXT:
        answers = {{dns::type::TXT, {2, 'o', 'k', 3, 'a', ' ', 'b'}}};
        break;
      case dns::type::CAA:
        answers = {{dns::type::CAA, {0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a'}}};
        break;
    }
    return std::vector<std::vector<uint8_t>>{dns_reply(q, 0, answers)};
  });

  auto c = dns_check(dns_server.port());
  c.expect_answer = "192.0.2.10";
  ProbeResult r = probe_once(c);
  CHECK(r.ok);
  CHECK(r.reason == "rcode NOERROR, answer 192.0.2.10");

  c.expect_answer = "192.0.2.11";
  r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "no answer matches \"192.0.2.11\"");

  c = dns_check(dns_server.port(), dns::type::AAAA);
  c.expect_answer = "2001:db8:0::1";
  CHECK(probe_once(c).ok);

  c = dns_check(dns_server.port(), dns::type::CNAME);
  c.expect_answer = "edge.EXAMPLE.test.";
  CHECK(probe_once(c).ok);
  c.expect_answer = "other.example.test.";
  CHECK_FALSE(probe_once(c).ok);

  c = dns_check(dns_server.port(), dns::type::MX);
  c.expect_answer = "10 mail.example.test.";
  CHECK(probe_once(c).ok);
  c.expect_answer = "20 mail.example.test.";
  CHECK_FALSE(probe_once(c).ok);

  c = dns_check(dns_server.port(), dns::type::TXT);
  c.expect_answer = "ok \"a b\"";
  CHECK(probe_once(c).ok);
  c.expect_answer = "\"ok a b\"";
  CHECK_FALSE(probe_once(c).ok);

  c = dns_check(dns_server.port(), dns::type::CAA);
  c.expect_answer = "\\# 9 0005697373756563 61";
  CHECK(probe_once(c).ok);
  c.expect_answer = "0 issue \"ca\"";
  r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason.rfind("expect_answer for type 257: give the rdata in RFC 3597 generic form", 0) == 0);
}

TEST_CASE("health: dns probe ignores replies with a wrong ID or question", "[health]") {
  std::atomic<int> mode{0};
  DnsResponder dns_server([&](const std::vector<uint8_t>& q) {
    std::vector<std::vector<uint8_t>> out;
    auto upper_case = dns_reply(q, 0);
    upper_case[13] ^= 0x20;  // first letter of the name, case flipped: still ours
    auto other_name = dns_reply(q, 0);
    other_name[13] = 'x';
    auto other_type = dns_reply(q, 0);
    other_type[other_type.size() - 3] ^= 1;  // qtype
    switch (mode.load()) {
      case 0:
        out = {dns_reply(q, dns::rcode::SERVFAIL, {}, 1), dns_reply(q, 0)};  // wrong ID first, then ours
        break;
      case 1:
        out = {dns_reply(q, 0, {}, 1)};  // only a wrong ID
        break;
      case 2:
        out = {other_type};
        break;
      case 3:
        out = {upper_case};
        break;
      case 4:
        out = {other_name};
        break;
      default:
        break;  // silence
    }
    return out;
  });
  auto c = dns_check(dns_server.port());
  c.timeout = 200ms;
  ProbeResult r = probe_once(c);
  CHECK(r.ok);
  CHECK(r.reason == "rcode NOERROR");

  mode = 1;
  r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK(r.reason == "timeout waiting for reply");

  mode = 2;
  CHECK(probe_once(c).reason == "timeout waiting for reply");

  mode = 3;  // names compare case-insensitively
  CHECK(probe_once(c).ok);

  mode = 4;
  CHECK(probe_once(c).reason == "timeout waiting for reply");

  mode = 5;
  CHECK(probe_once(c).reason == "timeout waiting for reply");
}

TEST_CASE("health: dns probe to a closed UDP port fails", "[health]") {
  asio::io_context io;
  udp::socket hold(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = hold.local_endpoint().port();
  hold.close();  // nothing listens now: ICMP port unreachable
  auto c = dns_check(port);
  c.timeout = 2s;
  ProbeResult r = probe_once(c);
  CHECK_FALSE(r.ok);
  CHECK((r.reason == "port unreachable" || r.reason == "timeout waiting for reply"));
}

TEST_CASE("health: dns expectations parse or explain", "[health]") {
  CHECK(parse_expected_answer(dns::type::A, "").value().kind == ExpectedAnswer::Kind::Any);
  CHECK(parse_expected_answer(dns::type::A, "192.0.2.1").value().bytes == std::vector<uint8_t>{192, 0, 2, 1});
  CHECK(parse_expected_answer(dns::type::A, "2001:db8::1").error().message ==
        "expect_answer \"2001:db8::1\" is not an IPv4 address");
  CHECK_FALSE(parse_expected_answer(dns::type::AAAA, "192.0.2.1").ok());
  CHECK_FALSE(parse_expected_answer(dns::type::MX, "mail.example.").ok());
  CHECK_FALSE(parse_expected_answer(dns::type::SRV, "1 2 x t.example.").ok());
  CHECK(parse_expected_answer(dns::type::SRV, "1 2 443 t.example.").ok());
  CHECK_FALSE(parse_expected_answer(dns::type::TXT, "\"unterminated").ok());
  CHECK(parse_expected_answer(dns::type::TXT, "\"a\\\"b\" c\\032d").value().bytes ==
        std::vector<uint8_t>{3, 'a', '"', 'b', 3, 'c', ' ', 'd'});
  CHECK_FALSE(parse_expected_answer(dns::type::SOA, "\\# 3 00").ok());
  CHECK(parse_expected_answer(dns::type::SOA, "\\# 0").ok());

  CHECK_FALSE(make_dns_query("", 1).ok());
  CHECK_FALSE(make_dns_query("a..b.", 1).ok());
  auto q = make_dns_query("A.b.", dns::type::AAAA);
  REQUIRE(q.ok());
  const std::vector<uint8_t> expected = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 1, 'b', 0, 0, 28, 0, 1};
  CHECK(*q == expected);
  CHECK(rcode_name(3) == "NXDOMAIN");
  CHECK(rcode_name(12) == "RCODE12");
}

TEST_CASE("health: dns replies that are malformed after the question fail the probe", "[health]") {
  auto q = make_dns_query("www.example.test.", dns::type::A).value();
  set_query_id(q, 0x4242);
  auto reply = dns_reply(q, 0, {{dns::type::A, ipv4(192, 0, 2, 10)}});
  auto expected = parse_expected_answer(dns::type::A, "192.0.2.10").value();
  CHECK(check_dns_reply(reply, q, 0, expected).ok);
  reply.resize(reply.size() - 2);  // rdata cut short
  auto v = check_dns_reply(reply, q, 0, expected);
  CHECK(v.ours);
  CHECK_FALSE(v.ok);
  CHECK(v.reason == "malformed reply");
  CHECK_FALSE(check_dns_reply(std::vector<uint8_t>(5, 0), q, 0, expected).ours);
  auto not_reply = dns_reply(q, 0);
  not_reply[2] &= 0x7F;  // QR clear
  CHECK_FALSE(check_dns_reply(not_reply, q, 0, expected).ours);
}
