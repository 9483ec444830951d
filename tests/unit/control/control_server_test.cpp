// The control API over real sockets: a ControlServer on a temp Unix socket and 127.0.0.1:0 in
// front of a real HealthEngine, driven with raw HTTP.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "unit/control/control_test_util.h"

using namespace pharos;
using namespace pharos::control;
using namespace pharos::control::test;

TEST_CASE("control: GET /v1/status shows checks, overrides and records", "[control]") {
  Fixture f;
  f.wait_healthy();
  auto r = f.unix_request(request("GET", "/v1/status"));
  REQUIRE(r.status == 200);
  CHECK(r.headers[http::field::content_type] == "application/json");
  json::value v = r.json();
  CHECK(v.at("version") == "9.9.9-test");
  CHECK(v.at("view_version").to_number<uint64_t>() >= 1);

  const json::array& checks = v.at("checks").as_array();
  REQUIRE(checks.size() == 1);
  const json::object& c = checks[0].as_object();
  CHECK(c.at("name") == "web-a");
  CHECK(c.at("type") == "tcp");
  CHECK(c.at("target").as_string() == "127.0.0.1:" + std::to_string(f.backend_port()));
  CHECK(c.at("state") == "healthy");
  CHECK(c.at("raw") == "healthy");
  CHECK(c.at("effective") == "healthy");
  CHECK(c.at("consecutive_ok").to_number<unsigned>() >= 1);
  CHECK(c.at("consecutive_fail") == 0);
  CHECK(c.at("last_reason").is_string());
  CHECK(c.at("last_latency_us").is_number());
  CHECK(parse_time(c.at("last_probe").as_string()));
  CHECK(parse_time(c.at("since").as_string()));
  CHECK(c.at("probes").to_number<uint64_t>() >= 1);
  CHECK(c.at("failures").is_number());
  CHECK(c.at("transitions").to_number<uint64_t>() >= 1);
  const json::array& history = c.at("history").as_array();
  REQUIRE_FALSE(history.empty());
  CHECK(history.back().at("from") == "unknown");
  CHECK(history.back().at("to") == "healthy");
  CHECK(parse_time(history.back().at("at").as_string()));
  CHECK(history.back().at("reason").is_string());
  CHECK(c.at("override").is_null());

  CHECK(v.at("overrides").as_array().empty());

  const json::array& records = v.at("records").as_array();
  REQUIRE(records.size() == 1);
  CHECK(records[0].at("id") == "www-a");
  CHECK(records[0].at("name") == "www.example.com.");
  CHECK(records[0].at("type") == "A");
  CHECK(records[0].at("policy") == "failover");
  const json::object& m = records[0].at("members").as_array().at(0).as_object();
  CHECK(m.at("value") == "192.0.2.10");
  CHECK(m.at("check") == "web-a");
  CHECK(m.at("health") == "healthy");
  CHECK(m.at("override").is_null());
  CHECK(m.at("standing") == "up");
  CHECK(m.at("tier") == 0);
}

TEST_CASE("control: GET /v1/checks and /v1/overrides, over TCP too", "[control]") {
  Fixture f;
  auto checks = f.tcp_request(request("GET", "/v1/checks"));
  REQUIRE(checks.status == 200);
  CHECK(checks.json().at("checks").as_array().size() == 1);
  CHECK(checks.json().at("view_version").is_number());
  auto overrides = f.unix_request(request("GET", "/v1/overrides?verbose=1"));  // the query is ignored
  REQUIRE(overrides.status == 200);
  CHECK(overrides.json() == json::parse(R"({"overrides":[]})"));
}

TEST_CASE("control: overrides are set, shown, and cleared over HTTP", "[control]") {
  Fixture f;
  f.wait_healthy();
  auto set = f.unix_request(request("POST", "/v1/overrides", R"({"check":"web-a","action":"down","reason":"maintenance"})"));
  REQUIRE(set.status == 201);
  json::value e = set.json();
  const uint64_t id = e.at("id").to_number<uint64_t>();
  CHECK(set.headers[http::field::location] == "/v1/overrides/" + std::to_string(id));
  CHECK(e.at("check") == "web-a");
  CHECK(e.at("action") == "down");
  CHECK(e.at("until").is_null());
  CHECK(e.at("reason") == "maintenance");
  CHECK(parse_time(e.at("created").as_string()));
  CHECK(f.engine().status().checks[0].effective == health::Health::Unhealthy);

  auto status = f.unix_request(request("GET", "/v1/status")).json();
  const json::object& c = status.at("checks").at(0).as_object();
  CHECK(c.at("effective") == "unhealthy");
  CHECK(c.at("raw") == "healthy");
  CHECK(c.at("override").at("id") == id);
  CHECK(c.at("override").at("action") == "down");
  CHECK(status.at("overrides").at(0).at("id") == id);
  CHECK(status.at("records").at(0).at("members").at(0).at("standing") == "down");

  auto member = f.unix_request(
      request("POST", "/v1/overrides", R"({"record":"www-a","value":"192.0.2.10","action":"drain","for":"1h"})"));
  REQUIRE(member.status == 201);
  CHECK(member.json().at("record") == "www-a");
  CHECK(member.json().at("value") == "192.0.2.10");
  CHECK(parse_time(member.json().at("until").as_string()));
  auto list = f.unix_request(request("GET", "/v1/overrides")).json();
  CHECK(list.at("overrides").as_array().size() == 2);
  status = f.unix_request(request("GET", "/v1/status")).json();
  CHECK(status.at("records").at(0).at("members").at(0).at("override") == "drain");
  CHECK(status.at("records").at(0).at("members").at(0).at("standing") == "drain");

  auto cleared = f.unix_request(request("DELETE", "/v1/overrides/" + std::to_string(id)));
  CHECK(cleared.status == 204);
  CHECK(cleared.body.empty());
  CHECK(f.engine().status().checks[0].effective == health::Health::Healthy);
  auto again = f.unix_request(request("DELETE", "/v1/overrides/" + std::to_string(id)));
  CHECK(again.status == 404);
  CHECK(again.error() == "no override with id " + std::to_string(id));
  CHECK(f.engine().status().overrides.size() == 1);
}

TEST_CASE("control: an override given a duration expires", "[control]") {
  Fixture f;
  auto set = f.unix_request(request("POST", "/v1/overrides", R"({"check":"web-a","action":"up","for":"2s"})"));
  REQUIRE(set.status == 201);
  auto until = parse_time(set.json().at("until").as_string());
  REQUIRE(until);
  auto created = parse_time(set.json().at("created").as_string());
  REQUIRE(created);
  CHECK(*until > *created);
  CHECK(wait_until([&] { return f.unix_request(request("GET", "/v1/overrides")).json().at("overrides").as_array().empty(); }));
}

TEST_CASE("control: bad override requests get 400 with the reason", "[control]") {
  Fixture f;
  auto post = [&](const std::string& body) { return f.unix_request(request("POST", "/v1/overrides", body)); };
  auto error_of = [&](const std::string& body) {
    auto r = post(body);
    CHECK(r.status == 400);
    return r.error();
  };
  CHECK(error_of("{").find("request body is not valid JSON") == 0);
  CHECK(error_of("[1]") == "request body must be a JSON object, got an array");
  CHECK(error_of(R"({"check":"web-a","action":"down","untill":"x"})") ==
        "unknown field \"untill\" (known: check, record, value, action, for, until, reason)");
  CHECK(error_of(R"({"check":"web-a","action":5})") == "field action must be a string, got a number");
  CHECK(error_of(R"({"action":"down"})") == "say what to override: \"check\", or \"record\" and \"value\"");
  CHECK(error_of(R"({"check":"web-a","record":"www-a","value":"192.0.2.10","action":"down"})") ==
        "say what to override: \"check\", or \"record\" and \"value\"");
  CHECK(error_of(R"({"record":"www-a","action":"down"})") == "a member override needs both \"record\" and \"value\"");
  CHECK(error_of(R"({"check":"web-a"})") == "field action is required: up, down or drain");
  CHECK(error_of(R"({"check":"web-a","action":"off"})") == "unknown action \"off\" (known: up, down, drain)");
  CHECK(error_of(R"({"check":"web-a","action":"down","for":"10m","until":"2999-01-01T00:00:00Z"})") ==
        "give \"for\" or \"until\", not both");
  CHECK(error_of(R"({"check":"web-a","action":"down","for":"soon"})") ==
        "invalid duration \"soon\" in \"for\" (expected e.g. 30s, 10m, 2h)");
  CHECK(error_of(R"({"check":"web-a","action":"down","until":"tomorrow"})") ==
        "invalid time \"tomorrow\" in \"until\" (expected RFC 3339, e.g. 2024-05-01T10:00:00Z)");
  // The engine's own checks.
  CHECK(error_of(R"({"check":"web-z","action":"down"})") == "override: no check named \"web-z\"");
  CHECK(error_of(R"({"record":"www-a","value":"192.0.2.99","action":"down"})") ==
        "override: no member \"192.0.2.99\" in record \"www-a\"");
  CHECK(error_of(R"({"check":"web-a","action":"down","until":"2001-01-01T00:00:00Z"})") ==
        "override: expiry 2001-01-01T00:00:00Z is in the past");
  CHECK(f.engine().status().overrides.empty());
}

TEST_CASE("control: unknown paths 404, wrong methods 405, malformed requests 400", "[control]") {
  Fixture f;
  auto r = f.unix_request(request("GET", "/v1/nope"));
  CHECK(r.status == 404);
  CHECK(r.error().find("no such endpoint: /v1/nope") == 0);
  CHECK(f.unix_request(request("GET", "/v1/status/")).status == 404);
  CHECK(f.unix_request(request("GET", "/nope")).status == 404);

  r = f.unix_request(request("POST", "/v1/status"));
  CHECK(r.status == 405);
  CHECK(r.headers[http::field::allow] == "GET");
  CHECK(r.error() == "method POST is not allowed on /v1/status (allowed: GET)");
  r = f.unix_request(request("PUT", "/v1/overrides", "{}"));
  CHECK(r.status == 405);
  CHECK(r.headers[http::field::allow] == "GET, POST");
  r = f.unix_request(request("GET", "/v1/reload"));
  CHECK(r.status == 405);
  CHECK(r.headers[http::field::allow] == "POST");
  r = f.unix_request(request("GET", "/v1/overrides/1"));
  CHECK(r.status == 405);
  CHECK(r.headers[http::field::allow] == "DELETE");

  r = f.unix_request(request("DELETE", "/v1/overrides/abc"));
  CHECK(r.status == 404);
  CHECK(r.error() == "no override with id \"abc\"");
  CHECK(f.unix_request(request("DELETE", "/v1/overrides/999")).status == 404);

  r = f.unix_request("NOT HTTP AT ALL\r\n\r\n");
  CHECK(r.status == 400);
  CHECK(r.error().find("malformed HTTP request") == 0);
}

TEST_CASE("control: the status page is served with its content type and a strict Content-Security-Policy",
          "[control]") {
  Fixture f(kToken);
  auto r = f.tcp_request(request("GET", "/"));  // no token: the page holds no data
  REQUIRE(r.status == 200);
  CHECK(r.headers[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(r.headers["Content-Security-Policy"] == kStatusPagePolicy);
  CHECK(r.headers["X-Content-Type-Options"] == "nosniff");
  CHECK(r.headers["Referrer-Policy"] == "no-referrer");
  CHECK(r.body.find("<title>pharos status</title>") != std::string::npos);
  r = f.tcp_request(request("GET", "/status.js"));
  CHECK(r.headers[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(r.headers["Content-Security-Policy"] == kStatusPagePolicy);
  // The API's JSON has no page headers, and still needs the token.
  r = f.tcp_request(request("GET", "/v1/status"));
  CHECK(r.status == 401);
  CHECK(r.headers["Content-Security-Policy"] == "");
}

TEST_CASE("control: POST /v1/reload asks for a reload", "[control]") {
  Fixture f;
  auto r = f.unix_request(request("POST", "/v1/reload"));
  CHECK(r.status == 202);
  CHECK(r.json().at("status") == "reload requested");
  CHECK(f.reloads == 1);
}

TEST_CASE("control: oversized requests are refused", "[control]") {
  Limits limits;
  limits.body_limit = 1024;
  limits.header_limit = 1024;
  Fixture f("", limits);
  // The length alone is enough to refuse; the body is never sent.
  auto r = f.unix_request("POST /v1/overrides HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  CHECK(r.status == 413);
  CHECK(r.error() == "request body too large (limit 1024 bytes)");
  r = f.tcp_request(request("POST", "/v1/overrides", std::string(2000, ' ')));
  CHECK(r.status == 413);
  r = f.unix_request(request("GET", "/v1/status", "", "X-Filler: " + std::string(2000, 'x') + "\r\n"));
  CHECK(r.status == 431);
  // Under the limits all is well.
  CHECK(f.unix_request(request("POST", "/v1/overrides", R"({"check":"web-a","action":"down"})")).status == 201);
}

TEST_CASE("control: a token is required, accepted, and rejected", "[control]") {
  Fixture f(kToken);
  for (auto* send : {+[](Fixture& f, const std::string& raw) { return f.tcp_request(raw); },
                     +[](Fixture& f, const std::string& raw) { return f.unix_request(raw); }}) {
    auto r = send(f, request("GET", "/v1/status"));
    CHECK(r.status == 401);
    CHECK(r.headers[http::field::www_authenticate] == "Bearer");
    CHECK(r.error() == "this control API needs a bearer token (Authorization: Bearer TOKEN)");
    r = send(f, request("GET", "/v1/status", "", "Authorization: Bearer wrong-token-wrong-token\r\n"));
    CHECK(r.status == 401);
    CHECK(r.error() == "invalid token");
    r = send(f, request("GET", "/v1/status", "", "Authorization: Bearer " + std::string(kToken) + "x\r\n"));
    CHECK(r.status == 401);
    r = send(f, request("GET", "/v1/status", "", "Authorization: Basic dXNlcjpwYXNz\r\n"));
    CHECK(r.status == 401);
    CHECK(r.error() == "unsupported authorization scheme; use Authorization: Bearer TOKEN");
    // Unknown paths are not told apart from known ones without the token.
    CHECK(send(f, request("GET", "/v1/nope")).status == 401);
    r = send(f, request("GET", "/v1/status", "", "Authorization: Bearer " + std::string(kToken) + "\r\n"));
    CHECK(r.status == 200);
    r = send(f, request("GET", "/v1/status", "", "authorization: bearer " + std::string(kToken) + "\r\n"));
    CHECK(r.status == 200);
  }
  CHECK(token_equal(kToken, kToken));
  CHECK_FALSE(token_equal("", kToken));
  CHECK_FALSE(token_equal(std::string(kToken) + "0", kToken));
  CHECK_FALSE(token_equal(std::string(kToken).substr(1), kToken));
}

TEST_CASE("control: keep-alive and the connection cap", "[control]") {
  Limits limits;
  limits.max_connections = 1;
  Fixture f("", limits);
  asio::io_context io;
  auto first = std::make_unique<tcp::socket>(io);
  first->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port()));
  // Two requests on one connection.
  CHECK(http_exchange(*first, request("GET", "/v1/checks", "", "", false)).status == 200);
  CHECK(http_exchange(*first, request("GET", "/v1/overrides", "", "", false)).status == 200);
  // The one connection allowed is taken: the next is told so.
  auto r = f.unix_request(request("GET", "/v1/status"));
  CHECK(r.status == 503);
  CHECK(r.error() == "too many control connections (limit 1)");
  // Once the first is closed, its slot comes free.
  first.reset();
  CHECK(wait_until([&] { return f.unix_request(request("GET", "/v1/status")).status == 200; }));
}

TEST_CASE("control: idle connections are closed", "[control]") {
  Limits limits;
  limits.idle_timeout = 50ms;
  Fixture f("", limits);
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port()));
  char byte;
  boost::system::error_code ec;
  s.read_some(asio::buffer(&byte, 1), ec);
  CHECK(ec == asio::error::eof);
}

TEST_CASE("control: the socket is 0600, replaces a stale file, and is removed on stop", "[control]") {
  Fixture f("", {}, false);
  make_stale_socket(f.socket_path());
  Fixture::REQUIRE_OK(f.start());
  struct stat st {};
  REQUIRE(lstat(f.socket_path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(f.server().socket_path() == f.socket_path());
  CHECK(f.unix_request(request("GET", "/v1/status")).status == 200);

  // A second server on the same socket: refused while the first accepts on it.
  config::ControlConfig same;
  same.socket = f.socket_path();
  ControlServer second(f.io(), same, f.hooks());
  auto r = on_io(f.io(), [&] { return second.start(); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "control socket " + f.socket_path() + ": another process is accepting on it (is pharos already running?)");
  CHECK(f.unix_request(request("GET", "/v1/status")).status == 200);

  on_io(f.io(), [&] { f.server().stop(); });
  CHECK_FALSE(std::filesystem::exists(f.socket_path()));
}

TEST_CASE("control: start fails with the address or path it could not use", "[control]") {
  SECTION("not a socket") {
    Fixture f("", {}, false);
    std::ofstream(f.socket_path()) << "precious\n";
    auto r = f.start();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "control socket " + f.socket_path() + ": exists and is not a socket; not replacing it");
    CHECK(std::filesystem::file_size(f.socket_path()) == 9);
  }
  SECTION("no such directory") {
    Fixture f("", {}, false);
    f.config().socket = (f.dir() / "missing" / "ctl.sock").string();
    auto r = f.start();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "control socket " + f.config().socket + ": cannot bind: No such file or directory");
  }
  SECTION("address in use") {
    Fixture f;
    Fixture g("", {}, false);
    g.config().listen.port = f.port();
    auto r = g.start();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "control listen " + f.address() + ": Address already in use");
    // The Unix socket it had opened is closed and gone again.
    CHECK_FALSE(std::filesystem::exists(g.socket_path()));
  }
}

TEST_CASE("control: GET /metrics answers the metrics text, behind the token", "[control]") {
  Hooks h;
  h.metrics = [] { return std::string("# HELP pharos_x_total X.\n# TYPE pharos_x_total counter\npharos_x_total 3\n"); };
  Api api(h, kToken);
  const std::string auth = "Bearer " + std::string(kToken);
  Reply r = api.handle(Request{"GET", "/metrics", auth, ""});
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "# HELP pharos_x_total X.\n# TYPE pharos_x_total counter\npharos_x_total 3\n");
  CHECK(api.handle(Request{"GET", "/metrics", "", ""}).status == 401);
  CHECK(api.handle(Request{"POST", "/metrics", auth, ""}).status == 405);
  // Without the hook: nothing to serve.
  CHECK(Api(Hooks{}, "").handle(Request{"GET", "/metrics", "", ""}).status == 404);
}

TEST_CASE("control: the metrics-only API serves GET /metrics without a token and 404 elsewhere", "[control]") {
  Hooks h;
  h.metrics = [] { return std::string("pharos_x 1\n"); };
  h.metrics_only = true;
  Api api(h, "");
  CHECK(api.handle(Request{"GET", "/metrics?x=1", "", ""}).body == "pharos_x 1\n");
  Reply r = api.handle(Request{"GET", "/v1/status", "", ""});
  CHECK(r.status == 404);
  CHECK(r.error == "no such endpoint: /v1/status (known: /metrics)");
  CHECK(api.handle(Request{"POST", "/v1/reload", "", ""}).status == 404);
  CHECK(api.handle(Request{"PUT", "/metrics", "", ""}).status == 405);
}

TEST_CASE("control: a metrics reply carries its content type over HTTP", "[control]") {
  Fixture f("", {}, false);
  f.config().socket.clear();
  Hooks h = f.hooks();
  h.metrics = [] { return std::string("pharos_x 1\n"); };
  h.metrics_only = true;
  ControlServer server(f.io(), f.config(), std::move(h));
  Fixture::REQUIRE_OK(on_io(f.io(), [&] { return server.start(); }));
  auto r = over_tcp(server.tcp_address()->port, request("GET", "/metrics"));
  CHECK(r.status == 200);
  CHECK(r.headers[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "pharos_x 1\n");
  on_io(f.io(), [&] { server.stop(); });
}
