// The edge section: every knob, the defaults, which roles a config runs, and every error with
// its line.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "unit/config/config_test_util.h"

using namespace pharos::config;
using namespace pharos::config::test;
using namespace std::chrono_literals;

namespace {

const std::string kMinimal = R"(edge:
  https:
    listen: ["127.0.0.1:8443"]
    certificates:
      - live: live/example.com
  routes:
    - pool: web
  pools:
    web:
      members: ["127.0.0.1:8080"]
)";

}  // namespace

TEST_CASE("edge config: every knob", "[config][edge]") {
  TempDir t;
  auto r = t.load(R"(health_checks:
  app1: {type: http, target: 127.0.0.1:8080, path: /healthz}
edge:
  workers: 2
  https:
    listen: ["0.0.0.0:443", "[::]:443"]
    certificates:
      - live: /etc/letsencrypt/live/example.com
      - cert: certs/api.pem
        key: certs/api.key
        hosts: [API.example.com, "*.example.net"]
  http:
    listen: "0.0.0.0"
    acme_webroot: /var/www/letsencrypt
  routes:
    - host: [example.com, www.example.com]
      path: /api/
      pool: api
    - host: "*"
      pool: web
  pools:
    web:
      members:
        - 127.0.0.1:8080
        - {address: 127.0.0.1:8081, weight: 3, check: app1}
      balance: weighted
      max_fails: 2
      fail_timeout: 5s
      fail_status: [502-504]
      websocket: false
      tls: true
      proxy_protocol: v1
    api:
      tls: {name: API.internal, ca_file: ca.pem, verify: true, cert: client.pem, key: client.key}
      proxy_protocol: v2
      balance: least_connections
      members: ["[::1]:9000"]
  timeouts:
    client_header: 5s
    client_body: 20s
    client_idle: 30s
    client_send: 40s
    upstream_connect: 1s
    upstream_response: 50s
    upstream_idle: 0
    websocket_idle: 10m
  limits:
    header_bytes: 8k
    body_bytes: 10m
    max_connections: 500
    upstream_idle_per_member: 4
    client_connections: 20
    client_rate: 50
    client_burst: 100
    client_ipv6_prefix: 56
  access:
    allow: [10.0.0.0/8, "2001:db8::/32", 192.0.2.7]
    deny: 10.66.0.0/16
  drain:
    delay: 2s
    timeout: 10s
  health_path: /healthz-edge
  trust_forwarded: yes
  access_log: off
)");
  REQUIRE(r.ok());
  const EdgeConfig& e = r->edge;
  CHECK(e.enabled);
  CHECK_FALSE(r->dns);
  CHECK(r->warnings.empty());
  CHECK(e.workers == 2);
  REQUIRE(e.https_listen.size() == 2);
  CHECK(e.https_listen[0].to_string() == "0.0.0.0:443");
  CHECK(e.https_listen[1].to_string() == "[::]:443");
  REQUIRE(e.certificates.size() == 2);
  CHECK(e.certificates[0].cert_file == "/etc/letsencrypt/live/example.com/fullchain.pem");
  CHECK(e.certificates[0].key_file == "/etc/letsencrypt/live/example.com/privkey.pem");
  CHECK(e.certificates[0].hosts.empty());
  CHECK(e.certificates[1].cert_file == (t.path() / "certs/api.pem").string());
  CHECK(e.certificates[1].key_file == (t.path() / "certs/api.key").string());
  CHECK(e.certificates[1].hosts == std::vector<std::string>{"api.example.com", "*.example.net"});
  REQUIRE(e.http_listen.size() == 1);
  CHECK(e.http_listen[0].to_string() == "0.0.0.0:80");
  CHECK(e.acme_webroot == "/var/www/letsencrypt");
  REQUIRE(e.routes.size() == 2);
  CHECK(e.routes[0].hosts == std::vector<std::string>{"example.com", "www.example.com"});
  CHECK(e.routes[0].path == "/api/");
  CHECK(e.routes[0].pool == "api");
  CHECK(e.routes[1].hosts.empty());
  CHECK(e.routes[1].path == "/");
  REQUIRE(e.pools.size() == 2);
  CHECK(e.pools[0].name == "api");  // sorted
  CHECK(e.pools[0].balance == Balance::LeastConnections);
  CHECK(e.pools[0].members[0].address.to_string() == "[::1]:9000");
  const EdgePool& web = e.pools[1];
  CHECK(web.balance == Balance::Weighted);
  REQUIRE(web.members.size() == 2);
  CHECK(web.members[0].weight == 1);
  CHECK(web.members[0].check.empty());
  CHECK(web.members[1].weight == 3);
  CHECK(web.members[1].check == "app1");
  CHECK(web.max_fails == 2);
  CHECK(web.fail_timeout == 5s);
  CHECK(web.fail_status == std::vector<StatusRange>{{502, 504}});
  CHECK_FALSE(web.websocket);
  CHECK(e.pools[0].websocket);
  CHECK(web.tls.enabled);
  CHECK(web.tls.verify);
  CHECK(web.tls.name.empty());
  CHECK(web.tls.ca_file.empty());
  CHECK(web.proxy_protocol == ProxyProtocol::V1);
  const EdgeUpstreamTls& api_tls = e.pools[0].tls;
  CHECK(api_tls.enabled);
  CHECK(api_tls.name == "api.internal");
  CHECK(api_tls.ca_file == (t.path() / "ca.pem").string());
  CHECK(api_tls.cert_file == (t.path() / "client.pem").string());
  CHECK(api_tls.key_file == (t.path() / "client.key").string());
  CHECK(e.pools[0].proxy_protocol == ProxyProtocol::V2);
  CHECK(e.timeouts.client_header == 5s);
  CHECK(e.timeouts.client_body == 20s);
  CHECK(e.timeouts.client_idle == 30s);
  CHECK(e.timeouts.client_send == 40s);
  CHECK(e.timeouts.upstream_connect == 1s);
  CHECK(e.timeouts.upstream_response == 50s);
  CHECK(e.timeouts.upstream_idle == 0s);
  CHECK(e.timeouts.websocket_idle == 10min);
  CHECK(e.limits.header_bytes == 8192);
  CHECK(e.limits.body_bytes == 10 * 1024 * 1024);
  CHECK(e.limits.max_connections == 500);
  CHECK(e.limits.upstream_idle_per_member == 4);
  CHECK(e.limits.client_connections == 20);
  CHECK(e.limits.client_rate == 50);
  CHECK(e.limits.client_burst == 100);
  CHECK(e.limits.client_ipv6_prefix == 56);
  REQUIRE(e.access.allow.size() == 3);
  CHECK(e.access.allow[0].text == "10.0.0.0/8");
  CHECK(e.access.allow[1].v6);
  CHECK(e.access.allow[1].len == 32);
  CHECK(e.access.allow[2].text == "192.0.2.7/32");  // an address is a network of one
  REQUIRE(e.access.deny.size() == 1);
  CHECK(e.access.deny[0].len == 16);
  CHECK(e.drain_delay == 2s);
  CHECK(e.drain_timeout == 10s);
  CHECK(e.health_path == "/healthz-edge");
  CHECK(e.trust_forwarded);
  CHECK(e.access_log == "off");
}

TEST_CASE("edge config: defaults", "[config][edge]") {
  TempDir t;
  auto r = t.load(kMinimal);
  REQUIRE(r.ok());
  const EdgeConfig& e = r->edge;
  CHECK(e.workers == 0);
  CHECK(e.http_listen.empty());
  CHECK(e.acme_webroot.empty());
  CHECK(e.pools[0].balance == Balance::RoundRobin);
  CHECK(e.pools[0].max_fails == 1);
  CHECK(e.pools[0].fail_timeout == 10s);
  CHECK(e.pools[0].fail_status == std::vector<StatusRange>{{500, 599}});
  CHECK(e.timeouts.client_header == 10s);
  CHECK(e.timeouts.client_idle == 60s);
  CHECK(e.timeouts.upstream_connect == 5s);
  CHECK(e.timeouts.upstream_idle == 1s);
  CHECK(e.timeouts.websocket_idle == 1h);
  CHECK(e.pools[0].websocket);
  CHECK_FALSE(e.pools[0].tls.enabled);
  CHECK(e.pools[0].proxy_protocol == ProxyProtocol::Off);
  CHECK(e.limits.header_bytes == 16384);
  CHECK(e.limits.body_bytes == 1048576);
  CHECK(e.limits.max_connections == 10000);
  CHECK(e.limits.client_connections == 0);
  CHECK(e.limits.client_rate == 0);
  CHECK(e.limits.client_burst == 0);
  CHECK(e.limits.client_ipv6_prefix == 64);
  CHECK(e.access.allow.empty());
  CHECK(e.access.deny.empty());
  CHECK(e.drain_delay == 5s);
  CHECK(e.drain_timeout == 30s);
  CHECK(e.health_path == "/_pharos/health");
  CHECK_FALSE(e.trust_forwarded);
  CHECK(e.access_log == "stderr");
  // Relative paths are relative to the config file.
  CHECK(e.certificates[0].cert_file == (t.path() / "live/example.com/fullchain.pem").string());
}

TEST_CASE("edge config: which roles a config runs", "[config][edge]") {
  TempDir t;
  auto edge_only = t.load(kMinimal);
  REQUIRE(edge_only.ok());
  CHECK_FALSE(edge_only->dns);
  CHECK(edge_only->warnings.empty());  // no "no zones configured"

  auto both = t.load(kMinimal + "zones:\n  - origin: example.com\n    file: example.com.zone\n");
  REQUIRE(both.ok());
  CHECK(both->dns);
  CHECK(both->edge.enabled);

  auto server_too = t.load(kMinimal + "server:\n  listen: [\"127.0.0.1:5353\"]\n");
  REQUIRE(server_too.ok());
  CHECK(server_too->dns);

  auto dns_only = t.load("zones:\n  - origin: example.com\n    file: example.com.zone\n");
  REQUIRE(dns_only.ok());
  CHECK(dns_only->dns);
  CHECK_FALSE(dns_only->edge.enabled);

  auto empty = t.load("log: {level: info}\n");
  REQUIRE(empty.ok());
  CHECK(empty->dns);  // as before: the dns role with its defaults
}

TEST_CASE("edge config: errors name the line", "[config][edge]") {
  TempDir t;
  auto err = [&](const std::string& yaml) { return error_of(t.load(yaml)); };

  CHECK(err("edge:\n  routes: [{pool: a}]\n  pools: {a: {members: [\"127.0.0.1:1\"]}}\n") ==
        t.at(1, "edge: needs https (listen and certificates) or http (listen)"));
  CHECK(err("edge:\n  https:\n    listen: [\"127.0.0.1:443\"]\n  routes: [{pool: a}]\n  pools: {a: {members: [\"127.0.0.1:1\"]}}\n") ==
        t.at(2, "edge.https: needs certificates"));
  CHECK(err("edge:\n  http: {listen: \"127.0.0.1:x\"}\n") ==
        t.at(2, "edge.http.listen: invalid listen address \"127.0.0.1:x\" (expected a numeric IPv4 \"a.b.c.d[:port]\" or "
                "IPv6 \"[addr]:port\")"));
  CHECK(err("edge:\n  http: {listen: [\"127.0.0.1:80\", \"127.0.0.1:80\"]}\n") ==
        t.at(2, "edge.http.listen[1]: duplicate listen address 127.0.0.1:80 (first at line 2)"));
  CHECK(err("edge:\n  htps: {}\n") ==
        t.at(2, "unknown key \"htps\" in edge (known: workers, https, http, routes, pools, timeouts, limits, access, drain, "
                "health_path, trust_forwarded, access_log)"));
  CHECK(err("edge:\n  https:\n    listen: [\"127.0.0.1:443\"]\n    certificates:\n      - cert: a.pem\n") ==
        t.at(5, "edge.https.certificates[0]: needs live: DIR, or both cert and key"));
  CHECK(err("edge:\n  https:\n    listen: [\"127.0.0.1:443\"]\n    certificates:\n      - live: a\n        cert: a.pem\n") ==
        t.at(6, "edge.https.certificates[0]: give either live or cert and key, not both"));
  CHECK(err("edge:\n  https:\n    listen: [\"127.0.0.1:443\"]\n    certificates:\n      - live: a\n      - live: a\n") ==
        t.at(6, "edge.https.certificates[1]: certificate \"" + (t.path() / "a/fullchain.pem").string() +
                    "\" is listed twice (first at line 5)"));
  CHECK(err("edge:\n  https:\n    listen: [\"127.0.0.1:443\"]\n    certificates:\n      - {live: a, hosts: [\"exa mple.com\"]}\n") ==
        t.at(5, "edge.https.certificates[0].hosts: \"exa mple.com\": invalid character \" \" (only \"*.\" at the start, "
                "letters, digits, '-', '_' and '.')"));

  const std::string head = "edge:\n  http: {listen: \"127.0.0.1:80\"}\n";
  CHECK(err(head + "  routes:\n    - pool: nope\n  pools:\n    web: {members: [\"127.0.0.1:8080\"]}\n") ==
        t.at(4, "edge.routes: unknown pool \"nope\""));
  CHECK(err(head + "  routes:\n    - {path: api, pool: web}\n  pools:\n    web: {members: [\"127.0.0.1:8080\"]}\n") ==
        t.at(4, "edge.routes[0].path: must start with '/'"));
  CHECK(err(head + "  routes:\n    - {host: a.com, pool: web}\n    - {host: [b.com, A.com], pool: web}\n  pools:\n"
                   "    web: {members: [\"127.0.0.1:8080\"]}\n") ==
        t.at(5, "edge.routes[1]: host a.com with path / is routed twice (first at line 4)"));
  CHECK(err(head + "  routes:\n    - {host: a.com}\n  pools:\n    web: {members: [\"127.0.0.1:8080\"]}\n") ==
        t.at(4, "edge.routes[0]: needs a pool"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web:\n      members: [\"127.0.0.1\"]\n") ==
        t.at(6, "edge.pools.web.members[0]: invalid member address \"127.0.0.1\" (expected a numeric \"address:port\")"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web:\n      members:\n        - {address: \"127.0.0.1:1\", weight: 0}\n") ==
        t.at(7, "edge.pools.web.members[0].weight: 0 is out of range 1..1000"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web:\n      members: [\"127.0.0.1:1\", \"127.0.0.1:1\"]\n") ==
        t.at(6, "edge.pools.web.members[1]: member 127.0.0.1:1 is listed twice (first at line 6)"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web:\n      balance: random\n      members: [\"127.0.0.1:1\"]\n") ==
        t.at(6, "edge.pools.web.balance: unknown rule \"random\" (known: round_robin, least_connections, ip_hash, weighted)"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web:\n      members:\n        - {address: \"127.0.0.1:1\", check: app}\n") ==
        t.at(7, "edge.pools.web: unknown check \"app\""));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web: {}\n") == t.at(5, "edge.pools.web: needs members"));
  const std::string pool = head + "  routes: [{pool: web}]\n  pools:\n    web:\n      members: [\"127.0.0.1:1\"]\n";
  CHECK(err(pool + "      tls: maybe\n") == t.at(7, "edge.pools.web.tls: expected true or false, got \"maybe\""));
  CHECK(err(pool + "      tls: [a]\n") ==
        t.at(7, "edge.pools.web.tls: expected true, false or a mapping with name, ca_file, verify, cert and key, got a list"));
  CHECK(err(pool + "      tls:\n        name: \"*.internal\"\n") ==
        t.at(8, "edge.pools.web.tls.name: \"*.internal\": a wildcard is not a name to verify"));
  CHECK(err(pool + "      tls:\n        cert: c.pem\n") == t.at(8, "edge.pools.web.tls: a client certificate needs both cert and key"));
  CHECK(err(pool + "      tls: {ca: x}\n") ==
        t.at(7, "unknown key \"ca\" in edge.pools.web.tls (known: name, ca_file, verify, cert, key)"));
  const std::string ok = head + "  routes: [{pool: web}]\n  pools:\n    web: {members: [\"127.0.0.1:1\"]}\n";
  CHECK(err(ok + "  limits: {client_burst: 5}\n") == t.at(6, "edge.limits.client_burst: needs client_rate"));
  CHECK(err(ok + "  limits: {client_ipv6_prefix: 0}\n") == t.at(6, "edge.limits.client_ipv6_prefix: 0 is out of range 1..128"));
  CHECK(err(ok + "  access:\n    allow: [10.0.0.1/8]\n") ==
        t.at(7, "edge.access.allow[0]: \"10.0.0.1/8\": host bits are set (did you mean 10.0.0.1/8 with the host part zero?)"));
  CHECK(err(ok + "  access:\n    deny: [nowhere]\n") ==
        t.at(7, "edge.access.deny[0]: \"nowhere\": not a numeric IPv4 or IPv6 address"));
  CHECK(err(ok + "  access:\n    allow: [10.0.0.0/8]\n    deny: [10.0.0.0/8]\n") ==
        t.at(8, "edge.access.deny[0]: \"10.0.0.0/8\" is listed in both allow and deny (first at line 7)"));
  CHECK(err(ok + "  access:\n    deny: [192.0.2.1, 192.0.2.1/32]\n") ==
        t.at(7, "edge.access.deny[1]: \"192.0.2.1/32\" is listed twice (first at line 7)"));
  CHECK(err(ok + "  access:\n    allow: []\n") == t.at(7, "edge.access.allow: expected a list of networks"));
  CHECK(err(pool + "      proxy_protocol: v3\n") == t.at(7, "edge.pools.web.proxy_protocol: expected v1, v2 or off, got \"v3\""));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web: {members: [\"127.0.0.1:1\"]}\n  limits: {body_bytes: 1x}\n") ==
        t.at(6, "edge.limits.body_bytes: invalid size \"1x\" (expected e.g. 16384, 16k, 1m)"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web: {members: [\"127.0.0.1:1\"]}\n  limits: {header_bytes: 10}\n") ==
        t.at(6, "edge.limits.header_bytes: 10 is out of range 1024..1048576 bytes"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web: {members: [\"127.0.0.1:1\"]}\n  timeouts: {client_idle: 0}\n") ==
        t.at(6, "edge.timeouts.client_idle: must be greater than 0"));
  CHECK(err(head + "  routes: [{pool: web}]\n  pools:\n    web: {members: [\"127.0.0.1:1\"]}\n  health_path: health\n") ==
        t.at(6, "edge.health_path: expected a path such as /_pharos/health"));
}

TEST_CASE("edge config: an unused pool is a warning", "[config][edge]") {
  TempDir t;
  auto r = t.load(kMinimal + "    spare:\n      members: [\"127.0.0.1:9\"]\n");
  REQUIRE(r.ok());
  CHECK(r->warnings == std::vector<std::string>{t.at(11, "edge pool \"spare\" is not used by any route")});
}

TEST_CASE("edge config: sizes", "[config][edge]") {
  uint64_t v = 0;
  CHECK(parse_size("16384", v));
  CHECK(v == 16384);
  CHECK(parse_size("16k", v));
  CHECK(v == 16384);
  CHECK(parse_size("1M", v));
  CHECK(v == 1048576);
  CHECK(parse_size("2g", v));
  CHECK(v == 2147483648u);
  CHECK_FALSE(parse_size("", v));
  CHECK_FALSE(parse_size("k", v));
  CHECK_FALSE(parse_size("1kb", v));
  CHECK_FALSE(parse_size("-1", v));
}
