// What the edge refuses before forwarding, and the heads it writes both ways.
#include <catch2/catch.hpp>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "edge/http_rules.h"

using namespace pharos::edge;
namespace http = boost::beast::http;

namespace {

http::request<http::empty_body> request(http::verb m, std::string_view target, unsigned version = 11) {
  http::request<http::empty_body> r;
  r.method(m);
  r.target(target);
  r.version(version);
  return r;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// A member's response head, read as the proxy reads it.
struct MemberHead {
  ResponseParser p;
  std::string store;
  explicit MemberHead(std::string_view text) {
    error_code ec;
    const size_t used = p.put(text, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(p.is_header_done());
    p.keep_head(text.data(), used, store);
  }
};

}  // namespace

TEST_CASE("edge rules: framing that could smuggle a request is refused", "[edge]") {
  auto r = request(http::verb::post, "/upload");
  r.insert(http::field::host, "example.com");
  CHECK(check_request(r).status == 0);

  SECTION("Content-Length and Transfer-Encoding together") {
    r.insert(http::field::content_length, "5");
    r.insert(http::field::transfer_encoding, "chunked");
    CHECK(check_request(r).status == 400);
  }
  SECTION("two Content-Lengths, even equal") {
    r.insert(http::field::content_length, "5");
    r.insert(http::field::content_length, "5");
    CHECK(check_request(r).status == 400);
  }
  SECTION("Transfer-Encoding that does not end with chunked") {
    r.insert(http::field::transfer_encoding, "chunked, identity");
    CHECK(check_request(r).status == 400);
  }
  SECTION("an unknown coding before chunked") {
    r.insert(http::field::transfer_encoding, "gzip, chunked");
    CHECK(check_request(r).status == 501);
  }
  SECTION("two Transfer-Encoding lines") {
    r.insert(http::field::transfer_encoding, "chunked");
    r.insert(http::field::transfer_encoding, "chunked");
    CHECK(check_request(r).status == 400);
  }
  SECTION("a look-alike coding") {
    r.insert(http::field::transfer_encoding, "xchunked");
    CHECK(check_request(r).status == 400);
  }
  SECTION("Transfer-Encoding in HTTP/1.0") {
    auto r10 = request(http::verb::post, "/", 10);
    r10.insert(http::field::transfer_encoding, "chunked");
    CHECK(check_request(r10).status == 400);
  }
  SECTION("chunked alone is fine") {
    r.insert(http::field::transfer_encoding, "Chunked");
    CHECK(check_request(r).status == 0);
  }
}

TEST_CASE("edge rules: Host and target", "[edge]") {
  auto r = request(http::verb::get, "/");
  CHECK(check_request(r).status == 400);  // HTTP/1.1 without Host
  r.insert(http::field::host, "example.com");
  r.insert(http::field::host, "example.org");
  CHECK(check_request(r).status == 400);  // two
  auto bad = request(http::verb::get, "/");
  bad.insert(http::field::host, "exa mple.com");
  CHECK(check_request(bad).status == 400);
  auto ok10 = request(http::verb::get, "/", 10);
  CHECK(check_request(ok10).status == 0);  // HTTP/1.0 may leave Host out
  auto absolute = request(http::verb::get, "http://evil.example/");
  absolute.insert(http::field::host, "example.com");
  CHECK(check_request(absolute).status == 400);
  auto connect = request(http::verb::connect, "example.com:443");
  connect.insert(http::field::host, "example.com");
  CHECK(check_request(connect).status == 405);
  auto star = request(http::verb::options, "*");
  star.insert(http::field::host, "example.com");
  CHECK(check_request(star).status == 0);
}

TEST_CASE("edge rules: hosts are normalised", "[edge]") {
  std::string h;
  CHECK(normalise_host("Example.COM", h));
  CHECK(h == "example.com");
  CHECK(normalise_host("example.com:8443", h));
  CHECK(h == "example.com");
  CHECK(normalise_host("example.com.", h));
  CHECK(h == "example.com");
  CHECK(normalise_host("192.0.2.1:80", h));
  CHECK(h == "192.0.2.1");
  CHECK(normalise_host("[2001:db8::1]:443", h));
  CHECK(h == "[2001:db8::1]");
  CHECK_FALSE(normalise_host("", h));
  CHECK_FALSE(normalise_host("a..b", h));
  CHECK_FALSE(normalise_host("a/b", h));
  CHECK_FALSE(normalise_host("example.com:", h));
  CHECK_FALSE(normalise_host("example.com:80x", h));
  CHECK_FALSE(normalise_host("[zz::1]", h));
  CHECK_FALSE(normalise_host("a\"b", h));
}

TEST_CASE("edge rules: the upstream head drops hop-by-hop headers and adds forwarding ones", "[edge]") {
  auto r = request(http::verb::post, "/api?q=1");
  r.insert(http::field::host, "example.com");
  r.insert(http::field::connection, "keep-alive, X-Secret");
  r.insert("X-Secret", "hop");
  r.insert(http::field::keep_alive, "timeout=5");
  r.insert(http::field::te, "trailers");
  r.insert(http::field::upgrade, "websocket");
  r.insert(http::field::proxy_authorization, "Basic x");
  r.insert(http::field::transfer_encoding, "chunked");
  r.insert(http::field::expect, "100-continue");
  r.insert("X-Forwarded-For", "10.6.6.6");
  r.insert("Forwarded", "for=10.6.6.6");
  r.insert("X-Real-IP", "10.6.6.6");
  r.insert(http::field::user_agent, "curl/7.88");
  ClientInfo c{"192.0.2.7", 51234, true};
  std::string out;
  write_upstream_head(r, c, 11, true, ForwardOptions{}, out);
  CHECK(out.starts_with("POST /api?q=1 HTTP/1.1\r\n"));
  CHECK(out.ends_with("\r\n\r\n"));
  CHECK(contains(out, "Host: example.com\r\n"));
  CHECK(contains(out, "User-Agent: curl/7.88\r\n"));
  for (const char* gone : {"Connection", "X-Secret", "Keep-Alive", "TE:", "Upgrade", "Proxy-Authorization",
                           "Transfer-Encoding", "Expect", "10.6.6.6"}) {
    INFO(gone);
    CHECK_FALSE(contains(out, gone));
  }
  CHECK(contains(out, "X-Forwarded-For: 192.0.2.7\r\n"));
  CHECK(contains(out, "X-Forwarded-Proto: https\r\n"));
  CHECK(contains(out, "X-Forwarded-Host: example.com\r\n"));
  CHECK(contains(out, "X-Real-IP: 192.0.2.7\r\n"));
  CHECK(contains(out, "Forwarded: for=192.0.2.7;proto=https;host=\"example.com\"\r\n"));
  CHECK(contains(out, "Content-Length: 11\r\n"));

  SECTION("trusted: the client's chain is extended") {
    write_upstream_head(r, c, 11, true, ForwardOptions{true}, out);
    CHECK(contains(out, "X-Forwarded-For: 10.6.6.6, 192.0.2.7\r\n"));
    CHECK(contains(out, "Forwarded: for=10.6.6.6, for=192.0.2.7;proto=https;host=\"example.com\"\r\n"));
    CHECK(contains(out, "X-Real-IP: 10.6.6.6\r\n"));
  }
  SECTION("IPv6 clients are quoted in Forwarded") {
    ClientInfo v6{"2001:db8::7", 1, false};
    write_upstream_head(r, v6, 0, false, ForwardOptions{}, out);
    CHECK(contains(out, "Forwarded: for=\"[2001:db8::7]\";proto=http;"));
    CHECK_FALSE(contains(out, "Content-Length"));  // no body, no framing
  }
}

TEST_CASE("edge rules: the response head is framed for the client", "[edge]") {
  MemberHead m("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n"
               "Keep-Alive: timeout=5\r\nContent-Length: 99\r\n\r\n");
  const ResponseHead& res = m.p.head();
  std::string out;
  write_response_head(11, res, Framing::Length, 42, true, out);
  CHECK(out.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(contains(out, "Content-Type: text/plain\r\n"));
  CHECK(contains(out, "Content-Length: 42\r\n"));
  CHECK_FALSE(contains(out, "99"));
  CHECK_FALSE(contains(out, "X-Hop"));
  CHECK_FALSE(contains(out, "Connection"));
  CHECK_FALSE(contains(out, "Transfer-Encoding"));
  CHECK_FALSE(contains(out, "Keep-Alive"));

  write_response_head(11, res, Framing::Chunked, 0, false, out);
  CHECK(contains(out, "Transfer-Encoding: chunked\r\n"));
  CHECK(contains(out, "Connection: close\r\n"));

  write_response_head(10, res, Framing::Length, 1, true, out);
  CHECK(out.starts_with("HTTP/1.0 200 OK\r\n"));
  CHECK(contains(out, "Connection: keep-alive\r\n"));

  // HEAD and 304: the member's Content-Length describes the body not sent, and goes as it was.
  write_response_head(11, res, Framing::None, 0, true, out);
  CHECK(contains(out, "Content-Length: 99\r\n"));
}

TEST_CASE("edge rules: idempotent methods", "[edge]") {
  CHECK(is_idempotent(http::verb::get));
  CHECK(is_idempotent(http::verb::head));
  CHECK(is_idempotent(http::verb::put));
  CHECK(is_idempotent(http::verb::delete_));
  CHECK_FALSE(is_idempotent(http::verb::post));
  CHECK_FALSE(is_idempotent(http::verb::patch));
}

TEST_CASE("edge rules: WebSocket handshakes are told from other upgrades", "[edge]") {
  auto ws = [](http::verb m, unsigned version, std::string_view connection, std::string_view upgrade) {
    auto r = request(m, "/chat", version);
    r.insert(http::field::host, "example.com");
    if (!connection.empty()) r.insert(http::field::connection, connection);
    if (!upgrade.empty()) r.insert(http::field::upgrade, upgrade);
    return is_websocket_upgrade(r);
  };
  CHECK(ws(http::verb::get, 11, "Upgrade", "websocket"));
  CHECK(ws(http::verb::get, 11, "keep-alive, upgrade", "WebSocket"));
  CHECK_FALSE(ws(http::verb::get, 11, "", "websocket"));            // Connection must name it
  CHECK_FALSE(ws(http::verb::get, 11, "upgrade", ""));
  CHECK_FALSE(ws(http::verb::get, 11, "upgrade", "h2c"));
  CHECK_FALSE(ws(http::verb::get, 11, "upgrade", "websocket, h2c"));
  CHECK_FALSE(ws(http::verb::post, 11, "upgrade", "websocket"));
  CHECK_FALSE(ws(http::verb::get, 10, "upgrade", "websocket"));      // HTTP/1.0 has no upgrade

  // The upstream head asks for the upgrade itself; the client's hop-by-hop headers still go.
  auto r = request(http::verb::get, "/chat");
  r.insert(http::field::host, "example.com");
  r.insert(http::field::connection, "Upgrade, X-Hop");
  r.insert("X-Hop", "1");
  r.insert(http::field::upgrade, "websocket");
  r.insert(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  r.insert(http::field::sec_websocket_version, "13");
  ClientInfo c{"192.0.2.7", 51234, true};
  std::string out;
  write_upstream_head(r, c, 0, false, ForwardOptions{false, true}, out);
  CHECK(contains(out, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
  CHECK(contains(out, "Sec-WebSocket-Version: 13\r\n"));
  CHECK(out.ends_with("Connection: upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK_FALSE(contains(out, "X-Hop"));
  CHECK_FALSE(contains(out, "Content-Length"));

  // The member's 101 goes to the client with the end-to-end headers and the upgrade's own.
  MemberHead m("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade, X-Hop\r\nX-Hop: 1\r\nUpgrade: websocket\r\n"
               "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
  const ResponseHead& res = m.p.head();
  write_upgrade_head(res, out);
  CHECK(out.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  CHECK(contains(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  CHECK(contains(out, "Sec-WebSocket-Protocol: chat\r\n"));
  CHECK(out.ends_with("Connection: upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK_FALSE(contains(out, "X-Hop"));
}

TEST_CASE("edge rules: the verdict says what it saw (framing, Connection) and gives the host", "[edge]") {
  auto r = request(http::verb::get, "/");
  r.insert(http::field::host, "Example.COM:8443");
  std::string host;
  Verdict v = check_request(r, host);
  CHECK(v.status == 0);
  CHECK_FALSE(v.framing);
  CHECK_FALSE(v.connection);
  CHECK(host == "example.com");

  r.insert(http::field::connection, "keep-alive");
  r.insert(http::field::content_length, "0");
  v = check_request(r, host);
  CHECK(v.status == 0);
  CHECK(v.framing);
  CHECK(v.connection);

  // Refused: still what it saw, and the host for the log.
  r.insert(http::field::transfer_encoding, "chunked");
  v = check_request(r, host);
  CHECK(v.status == 400);
  CHECK(v.framing);
  CHECK(host == "example.com");

  auto bad = request(http::verb::get, "/");
  bad.insert(http::field::host, "a/b");
  v = check_request(bad, host);
  CHECK(v.status == 400);
  CHECK(host.empty());
}
