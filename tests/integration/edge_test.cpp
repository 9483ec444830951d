// The edge against the real binary, with real TLS clients (openssl s_client, curl, and an OpenSSL
// client for raw exchanges on one connection) and real app servers on loopback.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <thread>

#include "integration/edge_helpers.h"

using namespace pharos;
using namespace pharos::edge::itest;
using pharos::edge::test::KeyType;
using pharos::edge::test::Pem;
using pharos::edge::test::Pki;
namespace fs = std::filesystem;

namespace {

// The start of an edge config: one worker (so balancing is deterministic), https on a free
// port with the given certificates, optionally http with an ACME webroot.
std::string head(const std::string& certificates = "      - live: live/a\n", bool http = false,
                 const std::string& webroot = "") {
  std::string s = "edge:\n  workers: 1\n  https:\n    listen: [\"127.0.0.1:0\"]\n    certificates:\n" + certificates;
  if (http) {
    s += "  http:\n    listen: [\"127.0.0.1:0\"]\n";
    if (!webroot.empty()) s += "    acme_webroot: " + webroot + "\n";
  }
  return s;
}

std::string one_pool(const Backend& b, const std::string& extra = "") {
  return "  routes:\n    - pool: web\n  pools:\n    web:\n      members: [\"" + b.address() + "\"]\n" + extra;
}


}  // namespace

TEST_CASE("edge: SNI chooses the certificate, ECDSA and RSA, TLS 1.2 and 1.3, ALPN", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test,DNS:www.a.test");
  e.certificate("b", "b.test", "DNS:*.b.test", KeyType::Rsa);
  Backend web("web");
  e.start(head("      - live: live/a\n      - live: live/b\n") + one_pool(web));

  std::string out = s_client(e, {"-servername", "a.test", "-verify_hostname", "a.test", "-alpn", "http/1.1"});
  INFO(out);
  CHECK(contains(out, "subject=CN = a.test"));
  CHECK(contains(out, "Verify return code: 0 (ok)"));
  CHECK(contains(out, "ALPN protocol: http/1.1"));
  CHECK(contains(out, "TLSv1.3"));

  out = s_client(e, {"-servername", "x.b.test", "-verify_hostname", "x.b.test"});
  INFO(out);
  CHECK(contains(out, "subject=CN = b.test"));
  CHECK(contains(out, "Server public key is 2048 bit"));
  CHECK(contains(out, "Verify return code: 0 (ok)"));

  out = s_client(e, {"-servername", "unknown.test"});
  CHECK(contains(out, "subject=CN = a.test"));  // the first certificate is the default
  out = s_client(e, {"-noservername"});
  CHECK(contains(out, "subject=CN = a.test"));

  out = s_client(e, {"-servername", "a.test", "-tls1_2"});
  INFO(out);
  CHECK(contains(out, "New, TLSv1.2"));
  CHECK(contains(out, "Verify return code: 0 (ok)"));
  out = s_client(e, {"-servername", "a.test", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
  CHECK_FALSE(contains(out, "subject=CN = a.test"));  // TLS 1.1 is refused
  out = s_client(e, {"-servername", "a.test", "-alpn", "h2"});
  CHECK(contains(out, "No ALPN negotiated"));  // h2 alone: no ALPN, the handshake goes on
  CHECK(contains(out, "Verify return code: 0 (ok)"));

  // curl, verifying the chain and the name, through both certificates.
  auto a = curl_https(e, "a.test", "/hello");
  INFO(a.raw);
  CHECK(a.status == 200);
  CHECK(contains(a.body, "backend=web"));
  auto b = curl_https(e, "x.b.test", "/hello", {"--tlsv1.2", "--tls-max", "1.2"});
  INFO(b.raw);
  CHECK(b.status == 200);
}

TEST_CASE("edge: the chain sent is the certificate file's, whole or the leaf alone", "[integration][edge]") {
  // No chain is built in the handshake (SSL_MODE_NO_AUTO_CHAIN): what the file holds is sent.
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");  // certbot's fullchain.pem: the leaf, then the CA
  const Pem c = e.pki().leaf("c.test", "DNS:c.test");
  const std::string leaf = c.cert.substr(0, c.cert.find("-----END CERTIFICATE-----") + 25) + "\n";
  Pki::write_file(e.path() + "/c.pem", leaf);
  Pki::write_file(e.path() + "/c.key", c.key);
  Backend web("web");
  e.start(head("      - live: live/a\n      - {cert: c.pem, key: c.key}\n") + one_pool(web));
  auto count = [](const std::string& s) {
    size_t n = 0;
    for (size_t at = s.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
         at = s.find("-----BEGIN CERTIFICATE-----", at + 1)) {
      ++n;
    }
    return n;
  };
  std::string out = s_client(e, {"-servername", "a.test", "-showcerts"});
  INFO(out);
  CHECK(count(out) == 2);
  CHECK(contains(out, "Verify return code: 0 (ok)"));
  out = s_client(e, {"-servername", "c.test", "-showcerts"});
  INFO(out);
  CHECK(count(out) == 1);
  CHECK(contains(out, "subject=CN = c.test"));
  CHECK(contains(out, "Verify return code: 0 (ok)"));  // the client has the CA
  CHECK(curl_https(e, "c.test", "/hello").status == 200);
}

TEST_CASE("edge: certificates reload without dropping an open connection, a mismatched key is refused",
          "[integration][edge]") {
  Edge e;
  const std::string first = e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web));

  auto held = e.client();
  REQUIRE(held->ok());
  CHECK(held->serial() == first);
  CHECK(backend_of(held->get("a.test", "/1")) == "web");

  // A renewal, as certbot writes it: the files change, the edge reads them again on its own.
  size_t mark = e.process().log_size();
  const std::string second = e.certificate("a", "a.test", "DNS:a.test");
  REQUIRE(e.logged("edge certificate .*/live/a/fullchain.pem names=a.test .*: loaded", mark));
  auto fresh = e.client();
  REQUIRE(fresh->ok());
  CHECK(fresh->serial() == second);
  CHECK(backend_of(held->get("a.test", "/2")) == "web");  // the old connection goes on

  // A key that does not match: refused, logged with the file and the reason, the pair before it
  // keeps serving.
  mark = e.process().log_size();
  Pem other = e.pki().leaf("other.test", "DNS:other.test");
  Pem renewed = e.pki().leaf("a.test", "DNS:a.test");
  Pki::write_file(e.path() + "/live/a/privkey.pem", other.key);
  Pki::write_file(e.path() + "/live/a/fullchain.pem", renewed.cert);
  REQUIRE(e.logged("edge certificate .*/live/a/fullchain.pem: key .*/live/a/privkey.pem does not match the certificate; "
                   "the previous certificate and key \\(if any\\) keep serving",
                   mark));
  auto after = e.client();
  REQUIRE(after->ok());
  CHECK(after->serial() == second);
  CHECK(backend_of(held->get("a.test", "/3")) == "web");

  // SIGHUP reads them again too: a matching pair is taken.
  mark = e.process().log_size();
  Pem fixed = e.pki().leaf("a.test", "DNS:a.test");
  Pki::write_live(e.path() + "/live/a", fixed);
  e.process().signal(SIGHUP);
  REQUIRE(e.logged("edge certificate .*/live/a/fullchain.pem names=a.test .*: loaded", mark));
  auto last = e.client();
  REQUIRE(last->ok());
  CHECK(last->serial() == fixed.serial);
  CHECK(backend_of(held->get("a.test", "/4")) == "web");
}

TEST_CASE("edge: routes by host and path prefix, and logs each request", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test,DNS:*.b.test,DNS:other.test");
  Backend web("web"), api("api"), admin("admin"), tenant("tenant"), fallback("fallback");
  e.start(head() + "  routes:\n"
                   "    - {host: a.test, pool: web}\n"
                   "    - {host: a.test, path: /api/, pool: api}\n"
                   "    - {host: a.test, path: /api/admin/, pool: admin}\n"
                   "    - {host: \"*.b.test\", pool: tenant}\n"
                   "    - {pool: fallback}\n"
                   "  pools:\n"
                   "    web: {members: [\"" + web.address() + "\"]}\n"
                   "    api: {members: [\"" + api.address() + "\"]}\n"
                   "    admin: {members: [\"" + admin.address() + "\"]}\n"
                   "    tenant: {members: [\"" + tenant.address() + "\"]}\n"
                   "    fallback: {members: [\"" + fallback.address() + "\"]}\n");
  auto c = e.client();
  REQUIRE(c->ok());
  CHECK(backend_of(c->get("a.test", "/")) == "web");
  CHECK(backend_of(c->get("A.Test:443", "/index.html")) == "web");
  CHECK(backend_of(c->get("a.test", "/api/users?x=1")) == "api");
  CHECK(backend_of(c->get("a.test", "/api")) == "web");  // a prefix as written: "/api/" needs the slash
  CHECK(backend_of(c->get("a.test", "/api/admin/x")) == "admin");
  CHECK(backend_of(c->get("x.b.test", "/api/")) == "tenant");
  CHECK(backend_of(c->get("other.test", "/")) == "fallback");
  CHECK(api.seen().at(0).target == "/api/users?x=1");  // the target goes as it came
  REQUIRE(e.logged(R"(access client=127\.0\.0\.1:\d+ host=a\.test method=GET path=/api/users\?x=1 status=200 bytes=\d+ upstream=127\.0\.0\.1:)" +
                   std::to_string(api.port()) + R"( time_ms=[0-9.]+ upstream_ms=[0-9.]+)"));
}

TEST_CASE("edge: balancing: round robin, weighted, least connections, ip hash", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:*.a.test");
  Backend a("A"), b("B");
  const std::string members = "[\"" + a.address() + "\", \"" + b.address() + "\"]";
  e.start(head() + "  routes:\n"
                   "    - {host: rr.a.test, pool: rr}\n"
                   "    - {host: w.a.test, pool: w}\n"
                   "    - {host: lc.a.test, pool: lc}\n"
                   "    - {host: ip.a.test, pool: ip}\n"
                   "  pools:\n"
                   "    rr: {members: " + members + "}\n"
                   "    lc: {balance: least_connections, members: " + members + "}\n"
                   "    ip: {balance: ip_hash, members: " + members + "}\n"
                   "    w:\n      balance: weighted\n      members:\n"
                   "        - {address: \"" + a.address() + "\", weight: 3}\n"
                   "        - {address: \"" + b.address() + "\", weight: 1}\n");
  auto c = e.client("rr.a.test");
  REQUIRE(c->ok());
  auto sequence = [&](const std::string& host, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += backend_of(c->get(host, "/"));
    return s;
  };
  const std::string rr = sequence("rr.a.test", 6);
  CHECK((rr == "ABABAB" || rr == "BABABA"));
  const std::string w = sequence("w.a.test", 8);
  CHECK(std::count(w.begin(), w.end(), 'A') == 6);
  CHECK(std::count(w.begin(), w.end(), 'B') == 2);
  const std::string lc = sequence("lc.a.test", 4);  // sequential requests: all idle, taken in turn
  CHECK((lc == "ABAB" || lc == "BABA"));
  const std::string ip = sequence("ip.a.test", 6);
  CHECK((ip == "AAAAAA" || ip == "BBBBBB"));
  // Upstream connections are kept alive: far fewer connections than requests.
  CHECK(a.connections() + b.connections() < a.requests() + b.requests());
}

TEST_CASE("edge: a member killed mid-test: requests go on to the others and it is taken out",
          "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend a("A"), b("B");
  e.start(head() + "  routes:\n    - pool: web\n  pools:\n    web:\n      members: [\"" + a.address() + "\", \"" +
          b.address() + "\"]\n      fail_timeout: 60s\n");
  auto c = e.client();
  REQUIRE(c->ok());
  std::string s;
  for (int i = 0; i < 4; ++i) s += backend_of(c->get("a.test", "/"));
  CHECK(std::count(s.begin(), s.end(), 'B') == 2);

  b.stop();
  s.clear();
  for (int i = 0; i < 10; ++i) s += backend_of(c->get("a.test", "/"));
  CHECK(s == "AAAAAAAAAA");  // the request that found B gone was retried on A
  CHECK(e.logged("edge pool web member " + b.address() + ": out for 60000ms after 1 failure: connect: "));
  auto health = c->get("a.test", "/_pharos/health");
  REQUIRE(health);
  CHECK(health->status == 200);

  a.stop();
  auto r = c->get("a.test", "/");
  REQUIRE(r);
  CHECK(r->status == 502);
  health = c->get("a.test", "/_pharos/health");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == "no healthy member\n");
}

TEST_CASE("edge: retries: a reused connection that fails before the response, and a failed connect",
          "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend s("S");
  s.drop_reused = true;  // answers the first request of a connection, closes on the second
  health::test::ClosedPort closed;
  Backend ok("OK");
  e.start(head() + "  routes:\n    - {host: a.test, pool: stale}\n    - {pool: half}\n  pools:\n"
                   "    stale:\n      members: [\"" + s.address() + "\"]\n"
                   "    half:\n      members: [\"127.0.0.1:" + std::to_string(closed.port()) + "\", \"" +
          ok.address() + "\"]\n");
  auto c = e.client();
  REQUIRE(c->ok());
  CHECK(backend_of(c->get("a.test", "/1")) == "S");
  CHECK(backend_of(c->get("a.test", "/2")) == "S");  // the kept connection was dropped: sent again
  REQUIRE(c->send("POST /3 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello"));
  auto post = c->response();
  REQUIRE(post);
  CHECK(post->status == 200);
  auto seen = s.seen();
  REQUIRE(seen.size() == 5);
  CHECK(seen[1].target == "/2");
  CHECK(seen[2].target == "/2");
  CHECK(seen[1].connection != seen[2].connection);
  CHECK(seen[3].method == "POST");
  CHECK(seen[4].method == "POST");
  CHECK(seen[4].body == "hello");
  CHECK_FALSE(contains(e.log(), "member " + s.address() + ": out"));  // a stale connection is not the member's fault

  // A connect that fails is retried on the other member, whatever the method (nothing was sent).
  for (int i = 0; i < 4; ++i) {
    INFO(i);
    CHECK(backend_of(c->get("other.test", "/")) == "OK");
  }
  REQUIRE(c->send("POST /p HTTP/1.1\r\nHost: other.test\r\nContent-Length: 2\r\n\r\nhi"));
  auto p2 = c->response();
  REQUIRE(p2);
  CHECK(p2->status == 200);
}

TEST_CASE("edge: forwarded headers are set, hop-by-hop headers removed", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web));
  auto c = e.client();
  REQUIRE(c->ok());
  const std::string host = "a.test:" + std::to_string(e.https_port());
  auto r = c->get(host, "/echo",
                  "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
                  "Connection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                  "Proxy-Authorization: Basic eDp5\r\nUser-Agent: edge-test\r\n");
  REQUIRE(r);
  CHECK(r->status == 200);
  const auto h = web.seen().at(0).headers;
  auto get = [&](const std::string& k) { return h.count(k) ? h.at(k) : std::string("(none)"); };
  CHECK(get("host") == host);
  CHECK(get("x-forwarded-for") == "127.0.0.1");
  CHECK(get("x-forwarded-proto") == "https");
  CHECK(get("x-forwarded-host") == host);
  CHECK(get("x-real-ip") == "127.0.0.1");
  CHECK(get("forwarded") == "for=127.0.0.1;proto=https;host=\"" + host + "\"");
  CHECK(get("user-agent") == "edge-test");
  for (const char* gone : {"x-private", "keep-alive", "te", "proxy-authorization", "connection"}) {
    INFO(gone);
    CHECK(get(gone) == "(none)");
  }
  // Responses: a body that ends with the member's connection reaches the client chunked, and a
  // big chunked one whole.
  auto nolength = c->get("a.test", "/nolength");
  REQUIRE(nolength);
  CHECK(nolength->body == "until the end");
  CHECK(nolength->header("Transfer-Encoding") == "chunked");
  auto big = c->get("a.test", "/big");
  REQUIRE(big);
  CHECK(big->body.size() == 256 * 1024);
  // HEAD: the head only, Content-Length as the member gave it.
  REQUIRE(c->send("HEAD /echo HTTP/1.1\r\nHost: a.test\r\n\r\n"));
  auto head_only = c->response(true);
  REQUIRE(head_only);
  CHECK(head_only->status == 200);
  CHECK_FALSE(head_only->header("Content-Length").empty());
  CHECK(backend_of(c->get("a.test", "/after-head")) == "web");  // the connection is still in step
}

// Between requests a connection waits with no coroutine of its own (http1.cpp, park): each way
// a request can be due again must start one.
TEST_CASE("edge: keep-alive: pipelined requests, a request in pieces, idle connections used again",
          "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web));
  const std::string h = "Host: a.test\r\n";
  {
    // Two requests in one write: the second is already read when the first is answered.
    auto c = e.client();
    REQUIRE(c->send("GET /one HTTP/1.1\r\n" + h + "\r\nGET /two HTTP/1.1\r\n" + h + "\r\n"));
    for (int i = 0; i < 2; ++i) {
      auto r = c->response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->keep_alive);
    }
    const auto seen = web.seen();
    REQUIRE(seen.size() >= 2);
    CHECK(seen[seen.size() - 2].target == "/one");
    CHECK(seen.back().target == "/two");
  }
  {
    // A head that arrives in pieces, the first after the connection has waited.
    auto c = e.client();
    CHECK(backend_of(c->get("a.test", "/")) == "web");
    std::this_thread::sleep_for(100ms);
    REQUIRE(c->send("GET /pieces HTTP/1.1\r\n"));
    std::this_thread::sleep_for(100ms);
    REQUIRE(c->send(h + "\r\n"));
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(web.seen().back().target == "/pieces");
  }
  {
    // Many connections left waiting, then each asked again, in the reverse order.
    std::vector<decltype(e.client())> conns;
    for (int i = 0; i < 40; ++i) {
      conns.push_back(e.client());
      REQUIRE(backend_of(conns.back()->get("a.test", "/first")) == "web");
    }
    for (auto it = conns.rbegin(); it != conns.rend(); ++it) {
      CHECK(backend_of((*it)->get("a.test", "/again")) == "web");
    }
  }
}

TEST_CASE("edge: request smuggling shapes are refused before anything is forwarded", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web));
  const std::string h = "Host: a.test\r\n";
  const std::vector<std::pair<std::string, unsigned>> shapes = {
      {"POST / HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
      {"POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 6\r\n\r\nhello!", 400},
      {"POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n" + h + h + "\r\n", 400},
      {"GET http://evil.test/ HTTP/1.1\r\n" + h + "\r\n", 400},
      {"GET / HTTP/1.1\n" + std::string("Host: a.test\n\n"), 400},
      {"GET / HTTP/1.1\r\n" + h + "X-A: a" + std::string(1, '\0') + "b\r\n\r\n", 400},
  };
  for (const auto& [raw, status] : shapes) {
    INFO(raw);
    auto c = e.client();
    REQUIRE(c->ok());
    REQUIRE(c->send(raw));
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK_FALSE(r->keep_alive);
    CHECK(c->closed());
  }
  CHECK(web.requests() == 0);

  // Well-framed requests on one connection reach the member as sent, one at a time.
  auto c = e.client();
  REQUIRE(c->send("POST /first HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhelloGET /second HTTP/1.1\r\n" + h +
                  "\r\nPOST /third HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  for (int i = 0; i < 3; ++i) {
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  auto seen = web.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].target == "/first");
  CHECK(seen[0].body == "hello");
  CHECK(seen[1].target == "/second");
  CHECK(seen[1].body.empty());
  CHECK(seen[2].target == "/third");
  CHECK(seen[2].body == "hello world");
  CHECK(seen[2].headers.count("transfer-encoding") == 0);
  CHECK(seen[2].headers.at("content-length") == "11");
}

TEST_CASE("edge: limits: header and body sizes, slow and idle clients", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web) +
          "  limits: {header_bytes: 2k, body_bytes: 1k}\n  timeouts: {client_header: 1s, client_idle: 1s}\n");
  const std::string h = "Host: a.test\r\n";
  {
    auto c = e.client();
    REQUIRE(c->send("GET / HTTP/1.1\r\n" + h + "X-Big: " + std::string(3000, 'x') + "\r\n\r\n"));
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(c->closed());
  }
  {
    auto c = e.client();
    REQUIRE(c->send("POST / HTTP/1.1\r\n" + h + "Content-Length: 2000\r\n\r\n"));  // the body is not even sent
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(c->closed());
  }
  {
    auto c = e.client();
    std::string chunked = "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'x') + "\r\n";
    REQUIRE(c->send(chunked + "0\r\n\r\n"));
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  {
    // Expect: 100-continue: told to go on within the limit, refused at once above it.
    auto c = e.client();
    REQUIRE(c->send("POST /upload HTTP/1.1\r\n" + h + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    auto interim = c->response();
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(c->send("hello"));
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(web.seen().back().body == "hello");
    CHECK(web.seen().back().headers.count("expect") == 0);
    REQUIRE(c->send("POST /upload HTTP/1.1\r\n" + h + "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
    r = c->response();
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  {
    // Slowloris: a request head that never ends is cut off with 408.
    auto c = e.client();
    REQUIRE(c->send("GET / HTTP/1.1\r\n" + h + "X-Slow: "));
    auto r = c->response();
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(c->closed());
  }
  {
    // An idle keep-alive connection is closed, without a word.
    auto c = e.client();
    CHECK(backend_of(c->get("a.test", "/")) == "web");
    CHECK(c->closed());
  }
  {
    // A TLS handshake that never comes.
    int fd = pharos::test::tcp_connect(e.https_port());
    REQUIRE(fd >= 0);
    CHECK(pharos::test::wait_closed(fd, 20s));
    ::close(fd);
  }
}

TEST_CASE("edge: clients that reset the connection mid-response do not stop the process", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web));
  // Each client asks for 256 KiB, reads the first piece and closes with the rest unread: its
  // kernel answers the edge's further writes with a reset, and a write after that one raised
  // SIGPIPE, which ended the process before the edge ignored it.
  for (int i = 0; i < 5; ++i) {
    auto c = e.client();
    REQUIRE(c->ok());
    REQUIRE(c->send("GET /big HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    CHECK_FALSE(c->closed());  // the first bytes of the response arrived
  }
  auto after = e.client();
  REQUIRE(after->ok());
  CHECK(backend_of(after->get("a.test", "/")) == "web");
}

TEST_CASE("edge: port 80 serves ACME challenges from the webroot and redirects the rest", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.dir().write("webroot/.well-known/acme-challenge/Tok-en_123", "token-content.thumbprint");
  e.dir().write("webroot/secret.txt", "not for you");
  e.dir().write("secret.txt", "not for you either");
  e.start(head("      - live: live/a\n", true, "webroot") + one_pool(web), true, true);
  const std::string base = "http://127.0.0.1:" + std::to_string(e.http_port());

  auto r = curl({"-H", "Host: a.test", base + "/.well-known/acme-challenge/Tok-en_123"});
  INFO(r.raw);
  CHECK(r.status == 200);
  CHECK(r.body == "token-content.thumbprint");
  CHECK(curl({"-H", "Host: a.test", base + "/.well-known/acme-challenge/missing"}).status == 404);
  CHECK(curl({"--path-as-is", base + "/.well-known/acme-challenge/../secret.txt"}).status == 404);
  CHECK(curl({"--path-as-is", base + "/.well-known/acme-challenge/../../secret.txt"}).status == 404);
  CHECK(curl({base + "/.well-known/acme-challenge/..%2fsecret.txt"}).status == 404);
  CHECK(curl({base + "/.well-known/acme-challenge/"}).status == 404);
  CHECK(web.requests() == 0);

  r = curl({"-H", "Host: a.test", base + "/path/x?y=1"});
  INFO(r.raw);
  CHECK(r.status == 301);
  CHECK(r.header("Location") == "https://a.test:" + std::to_string(e.https_port()) + "/path/x?y=1");
  r = curl({"-X", "POST", "-d", "x=1", "-H", "Host: a.test", base + "/form"});
  CHECK(r.status == 308);
  // Following the redirect lands on the app over https.
  r = curl({"-L", "--cacert", e.ca_file(), "--resolve", "a.test:" + std::to_string(e.http_port()) + ":127.0.0.1",
            "--resolve", "a.test:" + std::to_string(e.https_port()) + ":127.0.0.1",
            "http://a.test:" + std::to_string(e.http_port()) + "/landed"});
  INFO(r.raw);
  CHECK(r.status == 301);  // the first response; curl went on to the second
  CHECK(contains(r.raw, "HTTP/1.1 200 OK\r\nX-Backend: web"));
  CHECK(contains(r.raw, "target=/landed"));
  // The health endpoint answers on port 80 too.
  CHECK(curl({"-H", "Host: a.test", base + "/_pharos/health"}).status == 200);
}

TEST_CASE("edge: the health endpoint follows the pool's checks, SIGTERM drains", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start("health_checks:\n  app: {type: http, target: \"" + web.address() +
          "\", path: /healthz, interval: 50ms, timeout: 1s, rise: 1, fall: 1}\n" + head() +
          "  routes:\n    - pool: web\n  pools:\n    web:\n      members:\n        - {address: \"" + web.address() +
          "\", check: app}\n  drain: {delay: 5s, timeout: 20s}\n");
  auto c = e.client();
  REQUIRE(c->ok());
  auto health = [&] {
    auto r = c->get("a.test", "/_pharos/health");
    return r ? r->status : 0u;
  };
  CHECK(health() == 200);
  web.health = 503;
  CHECK(wait_until([&] { return health() == 503; }));
  CHECK(backend_of(c->get("a.test", "/")) == "web");  // all down: requests still go (fail open)
  web.health = 200;
  CHECK(wait_until([&] { return health() == 200; }));

  // A slow request in flight, and an idle keep-alive connection.
  std::optional<Response> slow;
  std::thread slow_client([&] {
    auto s = e.client();
    slow = s->get("a.test", "/slow");
  });
  CHECK(wait_until([&] {
    for (const auto& s : web.seen()) {
      if (s.target == "/slow") return true;
    }
    return false;
  }));
  auto idle = e.client();
  CHECK(backend_of(idle->get("a.test", "/")) == "web");

  const size_t mark = e.process().log_size();
  e.process().signal(SIGTERM);
  REQUIRE(e.logged("edge: draining", mark));
  CHECK(health() == 503);  // the dns role sees the edge go before it stops accepting
  CHECK(backend_of(c->get("a.test", "/")) == "web");  // still serving meanwhile
  REQUIRE(e.logged("edge: stopped accepting; \\d+ connections? open", mark));
  CHECK(idle->closed());
  CHECK_FALSE(e.client()->ok());  // no new connections
  web.release();
  slow_client.join();
  REQUIRE(slow);
  CHECK(slow->status == 200);
  CHECK(slow->body == "slow done\n");
  CHECK_FALSE(slow->keep_alive);
  CHECK(wait_until([&] { return !e.process().running(); }));
  const int status = e.process().stop();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(contains(e.log(), "edge: drained"));
}

TEST_CASE("edge: a config with only an edge section runs no DNS, checkconf checks its certificates",
          "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web));
  CHECK(backend_of(e.client()->get("a.test", "/")) == "web");
  CHECK_FALSE(contains(e.log(), "listening address="));
  CHECK_FALSE(contains(e.log(), "no zones configured"));

  std::string out = pharos::test::run_capture(pharos::test::pharos_binary() + " checkconf " + e.config_path() + " 2>&1");
  CHECK(contains(out, "OK (0 zones, 0 health checks, 0 policy records, edge: 1 certificates, 1 routes, 1 pools)"));
  // A key that does not match fails checkconf and start-up, naming the files.
  Pki::write_file(e.path() + "/live/a/privkey.pem", e.pki().leaf("x.test", "DNS:x.test").key);
  out = pharos::test::run_capture(pharos::test::pharos_binary() + " checkconf " + e.config_path() + " 2>&1; echo exit=$?");
  CHECK(contains(out, e.config_path() + ":6: edge certificate " + e.path() + "/live/a/fullchain.pem: key " + e.path() +
                          "/live/a/privkey.pem does not match the certificate"));
  CHECK(contains(out, "exit=1"));
  out = pharos::test::run_capture("timeout 20 " + pharos::test::pharos_binary() + " --config " + e.config_path() +
                                  " 2>&1; echo exit=$?");
  CHECK(contains(out, "does not match the certificate"));
  CHECK(contains(out, "exit=1"));
}

TEST_CASE("edge: a config with both roles runs DNS and the edge side by side", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web) + "server:\n  listen: [\"127.0.0.1:0\"]\n  workers: 1\nzones:\n  - origin: example.com\n"
                                   "    file: " + pharos::test::source_dir() + "/zones/example.com.zone\n");
  auto port = e.process().wait_for_log(R"(listening address=127\.0\.0\.1:(\d+))");
  REQUIRE(port);
  pharos::test::DnsClient dns(static_cast<uint16_t>(std::stoi(*port)));
  auto reply = dns.query("example.com", LDNS_RR_TYPE_SOA);
  REQUIRE(reply);
  CHECK(pharos::test::rcode_name(reply.get()) == "NOERROR");
  CHECK(backend_of(e.client()->get("a.test", "/")) == "web");
}
