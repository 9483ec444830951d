// The edge towards its app servers, against the real binary: WebSocket upgrades passed through
// (Beast's WebSocket client over TLS at one end, Beast's WebSocket server at the other).
#include <catch2/catch.hpp>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "integration/edge_helpers.h"

using namespace pharos;
using namespace pharos::edge::itest;
namespace websocket = beast::websocket;

namespace {

std::string head() {
  return "edge:\n  workers: 1\n  https:\n    listen: [\"127.0.0.1:0\"]\n    certificates:\n      - live: live/a\n";
}

// Runs `op` on `io` for at most 20 s; false when it did not finish (the test fails rather than
// hangs).
template <class Op>
bool run_bounded(asio::io_context& io, Op op) {
  bool done = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await op();
    done = true;
  }, asio::detached);
  io.restart();
  io.run_for(20s);
  return done;
}

// A WebSocket app server: says "welcome" as soon as a client is in, answers each message with
// "echo: " and the message (binary ones as they came), and closes on "bye". A request that is
// not a WebSocket handshake gets 426. It keeps the handshakes' headers.
class WsBackend {
 public:
  WsBackend() : acceptor_(io_.io()) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_.io(), accept_loop(), asio::detached);
  }
  ~WsBackend() {
    asio::post(io_.io(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    io_.stop();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  size_t closed() const { return closed_; }  // tunnels that ended, as this side saw them

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUse);
      if (ec) break;
      asio::co_spawn(io_.io(), serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kUse);
    if (ec) co_return;
    Seen s;
    s.method = std::string(req.method_string());
    s.target = std::string(req.target());
    for (const auto& f : req) {
      auto& v = s.headers[lower(std::string(f.name_string()))];
      v += (v.empty() ? "" : ", ") + std::string(f.value());
    }
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(s);
    }
    if (!websocket::is_upgrade(req)) {
      http::response<http::string_body> res{http::status::upgrade_required, 11};
      res.body() = "a websocket handshake, please\n";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, kUse);
      co_return;
    }
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    auto [aec] = co_await ws.async_accept(req, kUse);
    if (aec) co_return;
    ws.text(true);
    co_await ws.async_write(asio::buffer(std::string("welcome")), kUse);
    for (;;) {
      beast::flat_buffer msg;
      auto [rec, got] = co_await ws.async_read(msg, kUse);
      if (rec) break;
      std::string text = beast::buffers_to_string(msg.data());
      if (text == "bye") {
        co_await ws.async_close(websocket::close_code::normal, kUse);
        break;
      }
      ws.text(ws.got_text());
      const std::string reply = ws.got_text() ? "echo: " + text : text;
      auto [wec, sent] = co_await ws.async_write(asio::buffer(reply), kUse);
      if (wec) break;
    }
    ++closed_;
  }

  IoThread io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<Seen> seen_;
  std::atomic<size_t> closed_{0};
};

// A WebSocket client over TLS to the edge, verifying its certificate; every step bounded.
class WsClient {
 public:
  WsClient(const Edge& e, const std::string& host) : ssl_(asio::ssl::context::tls_client), ws_(io_, ssl_) {
    ssl_.load_verify_file(e.ca_file());
    ssl_.set_verify_mode(asio::ssl::verify_peer);
    port_ = e.https_port();
    host_ = host;
  }

  // The handshake; its error (empty when the member took it), and the response's status.
  std::string handshake(const std::string& target, unsigned* status = nullptr) {
    std::string error = "did not finish";
    websocket::response_type res;
    run_bounded(io_, [&]() -> asio::awaitable<void> {
      auto& tcp_layer = beast::get_lowest_layer(ws_);
      auto [cec] = co_await tcp_layer.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), kUse);
      if (cec) {
        error = "connect: " + cec.message();
        co_return;
      }
      SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), host_.c_str());
      SSL_set1_host(ws_.next_layer().native_handle(), host_.c_str());
      auto [tec] = co_await ws_.next_layer().async_handshake(asio::ssl::stream_base::client, kUse);
      if (tec) {
        error = "tls: " + tec.message();
        co_return;
      }
      ws_.set_option(websocket::stream_base::decorator(
          [](websocket::request_type& req) { req.set(http::field::user_agent, "edge-test"); }));
      auto [hec] = co_await ws_.async_handshake(res, host_, target, kUse);
      error = hec ? "websocket: " + hec.message() : "";
    });
    if (status) *status = res.result_int();
    return error;
  }

  bool send(const std::string& text, bool binary = false) {
    bool ok = false;
    ws_.binary(binary);
    run_bounded(io_, [&]() -> asio::awaitable<void> {
      auto [ec, n] = co_await ws_.async_write(asio::buffer(text), kUse);
      ok = !ec;
    });
    return ok;
  }

  // The next message; nullopt when the connection ended (`why` says how) or nothing came.
  std::optional<std::string> receive(std::string* why = nullptr) {
    std::optional<std::string> out;
    std::string error = "nothing within the limit";
    run_bounded(io_, [&]() -> asio::awaitable<void> {
      beast::flat_buffer msg;
      auto [ec, n] = co_await ws_.async_read(msg, kUse);
      if (ec) {
        error = ec.message();
        co_return;
      }
      out = beast::buffers_to_string(msg.data());
    });
    if (why) *why = error;
    return out;
  }

  bool close() {
    bool ok = false;
    run_bounded(io_, [&]() -> asio::awaitable<void> {
      auto [ec] = co_await ws_.async_close(websocket::close_code::normal, kUse);
      ok = !ec;
    });
    return ok;
  }

 private:
  asio::io_context io_;
  asio::ssl::context ssl_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  uint16_t port_ = 0;
  std::string host_;
};

}  // namespace

TEST_CASE("edge: a WebSocket upgrade is passed through, messages both ways over TLS", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test,DNS:*.a.test");
  WsBackend ws;
  Backend web("web");
  e.start(head() + "  routes:\n    - {host: a.test, pool: ws}\n    - {host: off.a.test, pool: nows}\n"
                   "  pools:\n    ws: {members: [\"" + ws.address() + "\"]}\n"
                   "    nows: {websocket: false, members: [\"" + ws.address() + "\"]}\n");
  {
    WsClient c(e, "a.test");
    REQUIRE(c.handshake("/chat?room=1") == "");
    CHECK(c.receive() == "welcome");  // the member spoke first, right after its 101
    CHECK(c.send("hello"));
    CHECK(c.receive() == "echo: hello");
    const std::string big(200 * 1024, 'z');  // more than one relay buffer and TLS record
    CHECK(c.send(big, true));
    auto back = c.receive();
    REQUIRE(back);
    CHECK(back->size() == big.size());
    CHECK(*back == big);
    CHECK(c.send("second"));
    CHECK(c.receive() == "echo: second");
    // The member closes: the client sees the close handshake end the connection.
    CHECK(c.send("bye"));
    std::string why;
    CHECK_FALSE(c.receive(&why));
    CHECK(why == "The WebSocket stream was gracefully closed at both endpoints");
  }
  auto seen = ws.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/chat?room=1");
  CHECK(seen[0].headers["upgrade"] == "websocket");
  CHECK(lower(seen[0].headers["connection"]) == "upgrade");
  CHECK(seen[0].headers["x-forwarded-for"] == "127.0.0.1");
  CHECK(seen[0].headers["x-forwarded-proto"] == "https");
  CHECK(seen[0].headers["user-agent"] == "edge-test");
  CHECK(seen[0].headers.count("sec-websocket-key") == 1);
  CHECK(seen[0].headers["sec-websocket-version"] == "13");
  REQUIRE(e.logged(R"(access client=127\.0\.0\.1:\d+ host=a\.test method=GET path=/chat\?room=1 status=101 bytes=\d+ upstream=)" +
                   ws.address()));

  {
    // The client closes first.
    WsClient c(e, "a.test");
    REQUIRE(c.handshake("/") == "");
    CHECK(c.receive() == "welcome");
    CHECK(c.close());
    CHECK(wait_until([&] { return ws.closed() == 2; }));
  }
  {
    // A pool with websocket: false strips the Upgrade: the member answers plain HTTP.
    WsClient c(e, "off.a.test");
    unsigned status = 0;
    CHECK(c.handshake("/", &status) != "");
    CHECK(status == 426);
    seen = ws.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[2].headers.count("upgrade") == 0);
  }
  // Plain requests still go on as before, and an Upgrade that is not WebSocket is dropped.
  auto c = e.client();
  REQUIRE(c->ok());
  auto r = c->get("a.test", "/", "Connection: upgrade\r\nUpgrade: h2c\r\n");
  REQUIRE(r);
  CHECK(r->status == 426);
  seen = ws.seen();
  REQUIRE(seen.size() == 4);
  CHECK(seen[3].headers.count("upgrade") == 0);
}

TEST_CASE("edge: an idle WebSocket tunnel is closed after websocket_idle", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  WsBackend ws;
  e.start(head() + "  routes:\n    - pool: ws\n  pools:\n    ws: {members: [\"" + ws.address() +
          "\"]}\n  timeouts: {websocket_idle: 300ms}\n");
  WsClient c(e, "a.test");
  REQUIRE(c.handshake("/") == "");
  CHECK(c.receive() == "welcome");
  CHECK(c.send("still here"));
  CHECK(c.receive() == "echo: still here");
  // Then nothing either way: the edge ends the tunnel, on both sides.
  std::string why;
  CHECK_FALSE(c.receive(&why));
  CHECK(why != "nothing within the limit");
  CHECK(wait_until([&] { return ws.closed() == 1; }));
}

TEST_CASE("edge: TLS to members, verified against a CA, by name or by address", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:*.a.test");
  // Members with certificates from the edge's test CA, and one from a CA nobody trusts (of the
  // same name as the trusted one: its signature gives it away).
  const Pem good = e.pki().leaf("app.internal", "DNS:app.internal,IP:127.0.0.1");
  Pki stranger;
  const Pem rogue_pem = stranger.leaf("app.internal", "DNS:app.internal,IP:127.0.0.1");
  Backend secure("secure", {&good});
  Backend rogue("rogue", {&rogue_pem});
  Backend plain("plain");
  const std::string pool_tls = "      tls: {name: app.internal, ca_file: ca.pem}\n";
  e.start(head() + "  routes:\n"
                   "    - {host: name.a.test, pool: byname}\n"
                   "    - {host: ip.a.test, pool: byip}\n"
                   "    - {host: rogue.a.test, pool: rogue}\n"
                   "    - {host: wrongname.a.test, pool: wrongname}\n"
                   "    - {host: system.a.test, pool: system}\n"
                   "    - {host: noverify.a.test, pool: noverify}\n"
                   "    - {host: plain.a.test, pool: plain}\n"
                   "  pools:\n"
                   "    byname:\n      members: [\"" + secure.address() + "\"]\n" + pool_tls +
          "    byip:\n      members: [\"" + secure.address() + "\"]\n      tls: {ca_file: ca.pem}\n"
          "    rogue:\n      members: [\"" + rogue.address() + "\"]\n      fail_timeout: 60s\n" + pool_tls +
          "    wrongname:\n      members: [\"" + secure.address() + "\"]\n      fail_timeout: 60s\n"
          "      tls: {name: other.internal, ca_file: ca.pem}\n"
          "    system:\n      members: [\"" + rogue.address() + "\"]\n      tls: true\n"
          "    noverify:\n      members: [\"" + rogue.address() + "\"]\n      tls: {verify: false}\n"
          "    plain:\n      members: [\"" + plain.address() + "\"]\n");
  auto c = e.client("name.a.test");
  REQUIRE(c->ok());
  for (int i = 0; i < 3; ++i) {
    INFO(i);
    auto r = c->get("name.a.test", "/by-name");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("X-Backend") == "secure");
  }
  auto seen = secure.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].sni == "app.internal");
  CHECK(seen[0].headers["x-forwarded-proto"] == "https");
  CHECK(secure.connections() == 1);  // kept alive over TLS
  CHECK(backend_of(c->get("ip.a.test", "/by-ip")) == "secure");  // IP:127.0.0.1 in the certificate
  CHECK(secure.seen().back().sni == "");                      // no name: no SNI
  CHECK(backend_of(c->get("noverify.a.test", "/")) == "rogue");
  CHECK(backend_of(c->get("plain.a.test", "/")) == "plain");

  // A certificate from another CA, a name the certificate does not have, a CA the system does
  // not know: 502, and the member is out.
  const size_t rogue_before = rogue.requests();
  auto r = c->get("rogue.a.test", "/");
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(e.logged("edge pool rogue member " + rogue.address() +
                 ": out for 60000ms after 1 failure: tls: certificate verify failed: certificate signature failure"));
  r = c->get("wrongname.a.test", "/");
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(e.logged("edge pool wrongname member " + secure.address() +
                 ": out for 60000ms after 1 failure: tls: certificate verify failed: hostname mismatch"));
  r = c->get("system.a.test", "/");
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(rogue.requests() == rogue_before);  // not one request went to a member that was not verified
  CHECK(rogue.tls_failures() >= 1);
  auto health = c->get("rogue.a.test", "/_pharos/health");
  REQUIRE(health);
  CHECK(health->status == 503);

  // checkconf reads the CA file, and says where it is named.
  e.dir().write("bad-ca.pem", "not a certificate\n");
  const std::string bad = e.dir().write("bad.yaml", head() + "  routes:\n    - pool: p\n  pools:\n    p:\n"
                                                              "      members: [\"127.0.0.1:9\"]\n      tls: {ca_file: bad-ca.pem}\n");
  const std::string out = pharos::test::run_capture(pharos::test::pharos_binary() + " checkconf " + bad + " 2>&1; echo exit=$?");
  INFO(out);
  CHECK(contains(out, bad + ":12: edge pool p: upstream tls ca_file " + e.path() + "/bad-ca.pem: "));
  CHECK(contains(out, "exit=1"));
}

TEST_CASE("edge: PROXY protocol v1 and v2 to members, one upstream connection per client", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:*.a.test");
  const Pem cert = e.pki().leaf("app.internal", "DNS:app.internal");
  Backend v1("v1", {nullptr, true});
  Backend v2("v2", {&cert, true});  // the header first, then TLS
  e.start(head() + "  routes:\n    - {host: v1.a.test, pool: v1}\n    - {host: v2.a.test, pool: v2}\n"
                   "  pools:\n"
                   "    v1:\n      members: [\"" + v1.address() + "\"]\n      proxy_protocol: v1\n"
                   "    v2:\n      members: [\"" + v2.address() + "\"]\n      proxy_protocol: v2\n"
                   "      tls: {name: app.internal, ca_file: ca.pem}\n");
  const std::string edge_port = std::to_string(e.https_port());
  auto a = e.client("v1.a.test");
  auto b = e.client("v1.a.test");
  REQUIRE(a->ok());
  REQUIRE(b->ok());
  for (int i = 0; i < 2; ++i) {
    for (auto* c : {a.get(), b.get()}) {
      auto r = c->get("v1.a.test", "/who");
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(contains(r->body, "proxy=TCP4 127.0.0.1 127.0.0.1 " + std::to_string(c->local_port()) + " " + edge_port + "\n"));
    }
  }
  // Each client connection has its own connection to the member, reused for its next request:
  // a header names one client, so a connection never carries another's requests.
  CHECK(v1.connections() == 2);
  std::map<uint64_t, std::set<std::string>> clients_by_connection;
  for (const auto& s : v1.seen()) clients_by_connection[s.connection].insert(s.proxy);
  REQUIRE(clients_by_connection.size() == 2);
  for (const auto& [conn, clients] : clients_by_connection) CHECK(clients.size() == 1);

  auto c = e.client("v2.a.test");
  REQUIRE(c->ok());
  auto r = c->get("v2.a.test", "/who");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(contains(r->body, "proxy=TCP4 127.0.0.1 127.0.0.1 " + std::to_string(c->local_port()) + " " + edge_port + "\n"));
  CHECK(v2.seen().at(0).sni == "app.internal");

  // curl, on connections of its own.
  auto curled = curl_https(e, "v1.a.test", "/curl");
  INFO(curled.raw);
  CHECK(curled.status == 200);
  CHECK(contains(curled.body, "proxy=TCP4 127.0.0.1 127.0.0.1 "));
}

TEST_CASE("edge: PROXY protocol names the address the client connected to, on a wildcard listener too",
          "[integration][edge]") {
  // The peer comes from accept(), the local end from the listener's address, or, on a wildcard
  // listener, from the connection itself.
  Edge e;
  e.certificate("a", "a.test", "DNS:*.a.test");
  Backend v1("v1", {nullptr, true});
  e.start("edge:\n  workers: 1\n  https:\n    listen: [\"0.0.0.0:0\"]\n    certificates:\n      - live: live/a\n"
          "  routes:\n    - pool: v1\n  pools:\n    v1:\n      members: [\"" + v1.address() + "\"]\n"
          "      proxy_protocol: v1\n");
  auto c = e.client("v1.a.test");
  REQUIRE(c->ok());
  auto r = c->get("v1.a.test", "/who");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(contains(r->body, "proxy=TCP4 127.0.0.1 127.0.0.1 " + std::to_string(c->local_port()) + " " +
                              std::to_string(e.https_port()) + "\n"));
  CHECK(v1.seen().at(0).headers.at("x-forwarded-for") == "127.0.0.1");
}
