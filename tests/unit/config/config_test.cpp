#include "config/config.h"
#include "unit/config/config_test_util.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace pharos;
using namespace pharos::config;
using namespace std::chrono_literals;

using namespace pharos::config::test;

namespace {

const std::string kServerKeys =
    "(known: listen, workers, udp_payload_max, tcp_idle_timeout, tcp_max_connections, any_full_over_tcp, "
    "identity, version)";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Whole files

TEST_CASE("config: a full config is loaded", "[config]") {
  TempDir t;
  auto r = t.load(R"(server:
  listen: ["127.0.0.1:5353", "[::1]:5353", "0.0.0.0"]
  workers: 4
  udp_payload_max: 4096
  tcp_idle_timeout: 2m
  tcp_max_connections: 50
  any_full_over_tcp: true
  identity: ns1.example.net
  version: "1.0"
zones:
  - origin: Example.COM
    file: zones/example.com.zone
  - origin: example.org.
    file: /srv/zones/example.org.zone
log:
  level: debug
)");
  REQUIRE(r.ok());
  const Config& c = *r;
  CHECK(c.path == t.config_path());
  REQUIRE(c.server.listen.size() == 3);
  CHECK(c.server.listen[0].to_string() == "127.0.0.1:5353");
  CHECK(c.server.listen[1].address == "::1");
  CHECK(c.server.listen[1].port == 5353);
  CHECK(c.server.listen[2].to_string() == "0.0.0.0:53");
  CHECK(c.server.workers == 4);
  CHECK(c.server.udp_payload_max == 4096);
  CHECK(c.server.tcp_idle_timeout == 120s);
  CHECK(c.server.tcp_max_connections == 50);
  CHECK(c.server.any_full_over_tcp);
  CHECK(c.server.identity == "ns1.example.net");
  CHECK(c.server.version == "1.0");
  REQUIRE(c.zones.size() == 2);
  CHECK(c.zones[0].origin == "example.com.");
  CHECK(c.zones[0].file == (t.path() / "zones/example.com.zone").string());
  CHECK(c.zones[0].line == 11);
  CHECK(c.zones[0].directory.empty());
  CHECK(c.zones[1].origin == "example.org.");
  CHECK(c.zones[1].file == "/srv/zones/example.org.zone");
  CHECK(c.zones[1].line == 13);
  CHECK(c.zone_directories.empty());
  CHECK(c.log.level == "debug");
  CHECK(c.warnings.empty());
}

TEST_CASE("config: an empty file gives the defaults and a warning", "[config]") {
  TempDir t;
  auto r = t.load("");
  REQUIRE(r.ok());
  const Config& c = *r;
  REQUIRE(c.server.listen.size() == 2);
  CHECK(c.server.listen[0].to_string() == "127.0.0.1:53");
  CHECK(c.server.listen[1].to_string() == "[::1]:53");
  CHECK(c.server.workers == 0);
  CHECK(c.server.udp_payload_max == 1232);
  CHECK(c.server.tcp_idle_timeout == 10s);
  CHECK(c.server.tcp_max_connections == 1000);
  CHECK_FALSE(c.server.any_full_over_tcp);
  CHECK(c.server.identity.empty());
  CHECK(c.server.version.empty());
  CHECK(c.zones.empty());
  CHECK(c.log.level == "info");
  CHECK(c.warnings == std::vector<std::string>{t.config_path() + ": no zones configured"});
}

TEST_CASE("config: empty sections give the defaults", "[config]") {
  TempDir t;
  auto r = t.load("server:\nzones:\nlog:\n");
  REQUIRE(r.ok());
  CHECK(r->server.listen.size() == 2);
  CHECK(r->log.level == "info");
  CHECK(r->zones.empty());
}

TEST_CASE("config: an empty zone list is allowed but warned about", "[config]") {
  TempDir t;
  auto r = t.load("server:\n  workers: 1\nzones: []\n");
  REQUIRE(r.ok());
  CHECK(r->zones.empty());
  CHECK(r->warnings == std::vector<std::string>{t.at(3, "no zones configured")});
}

TEST_CASE("config: a missing file cannot be opened", "[config]") {
  TempDir t;
  const std::string p = (t.path() / "nope.yaml").string();
  auto r = load_config(p);
  CHECK(error_of(r) == "cannot open config \"" + p + "\": No such file or directory");
}

TEST_CASE("config: a directory cannot be read as a config", "[config]") {
  TempDir t;
  auto r = load_config(t.path().string());
  CHECK(error_of(r) == "cannot read config \"" + t.path().string() + "\": Is a directory");
}

TEST_CASE("config: a YAML syntax error names the line", "[config]") {
  TempDir t;
  auto r = t.load("server:\n  workers: 1\n  listen: [\"127.0.0.1:53\"\nzones: []\n");
  const std::string e = error_of(r);
  INFO(e);
  CHECK(e.rfind(t.config_path() + ":4: invalid YAML: ", 0) == 0);
}

TEST_CASE("config: the top level must be a mapping", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("\n- a\n- b\n")) == t.at(2, "top level: expected a mapping, got a list"));
  CHECK(error_of(t.load("hello\n")) == t.at(1, "top level: expected a mapping, got \"hello\""));
}

// ---------------------------------------------------------------------------------------------
// Keys

TEST_CASE("config: unknown key names the line", "[config]") {
  TempDir t;
  auto r = t.load("server:\n  workers: 2\n  listn: [\"127.0.0.1:53\"]\n");
  CHECK(error_of(r) == t.at(3, "unknown key \"listn\" in server " + kServerKeys));
}

TEST_CASE("config: unknown top-level keys are errors", "[config]") {
  TempDir t;
  auto r = t.load("server: {}\nzone:\n  - origin: a\n");
  CHECK(error_of(r) == t.at(2, "unknown key \"zone\" at top level (known: server, zones, log, health_checks, records, "
                               "edge, control, metrics)"));
}

TEST_CASE("config: metrics.listen is an address and port", "[config]") {
  TempDir t;
  auto r = t.load(R"(metrics:
  listen: 127.0.0.1:9153
zones:
  - origin: example.com
    file: example.com.zone
)");
  REQUIRE(r.ok());
  CHECK(r->metrics.enabled);
  CHECK(r->metrics.listen.to_string() == "127.0.0.1:9153");
  CHECK(r->warnings.empty());
  auto v6 = t.load("metrics: {listen: \"[::1]:9153\"}\n");
  REQUIRE(v6.ok());
  CHECK(v6->metrics.listen.address == "::1");
  CHECK(v6->metrics.listen.port == 9153);
  auto none = t.load("zones: []\n");
  REQUIRE(none.ok());
  CHECK_FALSE(none->metrics.enabled);
}

TEST_CASE("config: a bad metrics section names its line", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("zones: []\nmetrics:\n  listen: 127.0.0.1\n")) ==
        t.at(3, "metrics.listen: invalid address \"127.0.0.1\" (expected \"address:port\", numeric, IPv6 in brackets)"));
  CHECK(error_of(t.load("metrics:\n  listen: localhost:9153\n")) ==
        t.at(2, "metrics.listen: invalid address \"localhost:9153\" (expected \"address:port\", numeric, IPv6 in brackets)"));
  CHECK(error_of(t.load("metrics:\n  port: 9153\n")) == t.at(2, "unknown key \"port\" in metrics (known: listen)"));
  CHECK(error_of(t.load("metrics: 9153\n")) == t.at(1, "metrics: expected a mapping, got \"9153\""));
  CHECK(error_of(t.load("metrics: {}\n")) == t.at(1, "metrics: listen is required"));
}

TEST_CASE("config: unknown keys in zones and log are errors", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("zones:\n  - origin: a.\n    file: a.zone\n  - origin: b.\n    fiel: b.zone\n")) ==
        t.at(5, "unknown key \"fiel\" in zones[1] (known: origin, file, directory)"));
  CHECK(error_of(t.load("log:\n  level: info\n  format: json\n")) ==
        t.at(3, "unknown key \"format\" in log (known: level)"));
}

TEST_CASE("config: duplicate keys are errors", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("server:\n  workers: 1\n  workers: 2\n")) ==
        t.at(3, "duplicate key \"workers\" in server (first at line 2)"));
  CHECK(error_of(t.load("log: {}\nserver: {}\nlog: {}\n")) ==
        t.at(3, "duplicate key \"log\" at top level (first at line 1)"));
}

TEST_CASE("config: keys must be strings", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("server:\n  ? [a, b]\n  : 1\n")) == t.at(2, "expected a string key in server, got a list"));
}

TEST_CASE("config: sections must be mappings or lists", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("server: [1]\n")) == t.at(1, "server: expected a mapping, got a list"));
  CHECK(error_of(t.load("log: debug\n")) == t.at(1, "log: expected a mapping, got \"debug\""));
  CHECK(error_of(t.load("zones:\n  origin: a\n")) == t.at(2, "zones: expected a list, got a mapping"));
}

// ---------------------------------------------------------------------------------------------
// Server scalars

TEST_CASE("config: integers of the wrong type are errors", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("server:\n  workers: two\n")) ==
        t.at(2, "server.workers: expected an unsigned integer, got \"two\""));
  CHECK(error_of(t.load("server:\n\n  workers: -1\n")) ==
        t.at(3, "server.workers: expected an unsigned integer, got \"-1\""));
  CHECK(error_of(t.load("server:\n  workers: 1.5\n")) ==
        t.at(2, "server.workers: expected an unsigned integer, got \"1.5\""));
  CHECK(error_of(t.load("server:\n  workers: [1]\n")) ==
        t.at(2, "server.workers: expected an unsigned integer, got a list"));
  // An empty value is reported on the key's line.
  CHECK(error_of(t.load("server:\n  workers:\n  version: x\n")) ==
        t.at(2, "server.workers: expected an unsigned integer, got nothing"));
}

TEST_CASE("config: integers out of range are errors", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("server:\n  udp_payload_max: 100\n")) ==
        t.at(2, "server.udp_payload_max: 100 is out of range 512..65535"));
  CHECK(error_of(t.load("server:\n  udp_payload_max: 65536\n")) ==
        t.at(2, "server.udp_payload_max: 65536 is out of range 512..65535"));
  CHECK(error_of(t.load("server:\n  udp_payload_max: 99999999999999999999999\n")) ==
        t.at(2, "server.udp_payload_max: 99999999999999999999999 is out of range 512..65535"));
  CHECK(error_of(t.load("server:\n  tcp_max_connections: 0\n")) ==
        t.at(2, "server.tcp_max_connections: 0 is out of range 1..4294967295"));
  CHECK(error_of(t.load("server:\n  workers: 100000\n")) ==
        t.at(2, "server.workers: 100000 is out of range 0..1024"));

  auto r = t.load("server:\n  udp_payload_max: 512\n  tcp_max_connections: 1\n  workers: 0\n");
  REQUIRE(r.ok());
  CHECK(r->server.udp_payload_max == 512);
  CHECK(r->server.tcp_max_connections == 1);
  r = t.load("server:\n  udp_payload_max: 65535\n  workers: 1024\n");
  REQUIRE(r.ok());
  CHECK(r->server.udp_payload_max == 65535);
  CHECK(r->server.workers == 1024);
}

TEST_CASE("config: booleans", "[config]") {
  TempDir t;
  for (const char* yes : {"true", "True", "yes", "on"}) {
    auto r = t.load(std::string("server:\n  any_full_over_tcp: ") + yes + "\n");
    REQUIRE(r.ok());
    CHECK(r->server.any_full_over_tcp);
  }
  for (const char* no : {"false", "FALSE", "no", "off"}) {
    auto r = t.load(std::string("server:\n  any_full_over_tcp: ") + no + "\n");
    REQUIRE(r.ok());
    CHECK_FALSE(r->server.any_full_over_tcp);
  }
  CHECK(error_of(t.load("server:\n  any_full_over_tcp: 1\n")) ==
        t.at(2, "server.any_full_over_tcp: expected true or false, got \"1\""));
  CHECK(error_of(t.load("server:\n  any_full_over_tcp: {}\n")) ==
        t.at(2, "server.any_full_over_tcp: expected true or false, got a mapping"));
}

TEST_CASE("config: tcp_idle_timeout takes a duration", "[config]") {
  TempDir t;
  auto r = t.load("server:\n  tcp_idle_timeout: 500ms\n");
  REQUIRE(r.ok());
  CHECK(r->server.tcp_idle_timeout == 500ms);
  r = t.load("server:\n  tcp_idle_timeout: 30\n");
  REQUIRE(r.ok());
  CHECK(r->server.tcp_idle_timeout == 30s);
  CHECK(error_of(t.load("server:\n  tcp_idle_timeout: 10x\n")) ==
        t.at(2, "server.tcp_idle_timeout: invalid duration \"10x\" (expected e.g. 500ms, 10s, 2m, 1h, or a number "
                "of seconds)"));
  CHECK(error_of(t.load("server:\n  tcp_idle_timeout: 0s\n")) ==
        t.at(2, "server.tcp_idle_timeout: must be greater than 0"));
  CHECK(error_of(t.load("server:\n  tcp_idle_timeout: [1]\n")) ==
        t.at(2, "server.tcp_idle_timeout: expected a duration such as 500ms, 10s, 2m or 1h, got a list"));
}

TEST_CASE("config: identity and version are strings", "[config]") {
  TempDir t;
  auto r = t.load("server:\n  identity:\n  version: \"\"\n");
  REQUIRE(r.ok());
  CHECK(r->server.identity.empty());
  CHECK(r->server.version.empty());
  CHECK(error_of(t.load("server:\n  identity: [a]\n")) == t.at(2, "server.identity: expected a string, got a list"));
  CHECK(error_of(t.load("server:\n  version: " + std::string(256, 'v') + "\n")) ==
        t.at(2, "server.version: longer than 255 bytes"));
  r = t.load("server:\n  version: " + std::string(255, 'v') + "\n");
  REQUIRE(r.ok());
  CHECK(r->server.version.size() == 255);
}

TEST_CASE("config: log level", "[config]") {
  TempDir t;
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    auto r = t.load(std::string("log:\n  level: ") + level + "\n");
    REQUIRE(r.ok());
    CHECK(r->log.level == level);
  }
  auto r = t.load("log:\n  level: WARN\n");
  REQUIRE(r.ok());
  CHECK(r->log.level == "warn");
  CHECK(error_of(t.load("log:\n  level: verbose\n")) ==
        t.at(2, "log.level: unknown level \"verbose\" (known: trace, debug, info, warn, error, critical, off)"));
  CHECK(error_of(t.load("log:\n  level:\n")) == t.at(2, "log.level: expected a string, got nothing"));
}

// ---------------------------------------------------------------------------------------------
// Listen addresses

TEST_CASE("config: listen addresses", "[config]") {
  TempDir t;
  auto r = t.load(R"(server:
  listen:
    - 192.0.2.1
    - "[2001:db8::1]:8053"
    - "2001:db8::2"
    - "[::0:1]"
    - 127.0.0.1:0
)");
  REQUIRE(r.ok());
  const auto& l = r->server.listen;
  REQUIRE(l.size() == 5);
  CHECK(l[0].to_string() == "192.0.2.1:53");
  CHECK(l[1].to_string() == "[2001:db8::1]:8053");
  CHECK(l[2].to_string() == "[2001:db8::2]:53");
  CHECK(l[3].to_string() == "[::1]:53");
  CHECK(l[4].to_string() == "127.0.0.1:0");
}

TEST_CASE("config: invalid listen addresses name the line", "[config]") {
  TempDir t;
  const std::string hint =
      " (expected a numeric IPv4 \"a.b.c.d[:port]\" or IPv6 \"[addr]:port\" or \"addr\")";
  CHECK(error_of(t.load("server:\n  listen:\n    - 127.0.0.1:53\n    - localhost:53\n")) ==
        t.at(4, "server.listen[1]: invalid listen address \"localhost:53\"" + hint));
  CHECK(error_of(t.load("server:\n  listen: [\"127.0.0.1:53\",\n    \"127.0.0.1:65536\"]\n")) ==
        t.at(3, "server.listen[1]: invalid listen address \"127.0.0.1:65536\"" + hint));
  CHECK(error_of(t.load("server:\n  listen:\n    - [::1]\n")) ==
        t.at(3, "server.listen[0]: expected a string \"address:port\", got a list (quote IPv6 addresses: "
                "\"[::1]:53\")"));
  CHECK(error_of(t.load("server:\n  listen: 127.0.0.1:53\n")) ==
        t.at(2, "server.listen: expected a list of \"address:port\" strings, got \"127.0.0.1:53\""));
  CHECK(error_of(t.load("server:\n  listen: []\n")) == t.at(2, "server.listen: must list at least one address"));
}

TEST_CASE("config: duplicate listen addresses are errors", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("server:\n  listen:\n    - \"[::1]:53\"\n    - 127.0.0.1\n    - \"::0:1\"\n")) ==
        t.at(5, "server.listen[2]: duplicate listen address [::1]:53 (first at line 3)"));
  CHECK(error_of(t.load("server:\n  listen: [127.0.0.1:53, 127.0.0.1]\n")) ==
        t.at(2, "server.listen[1]: duplicate listen address 127.0.0.1:53 (first at line 2)"));
}

TEST_CASE("config: parse_listen_address", "[config]") {
  ListenAddress a;
  REQUIRE(parse_listen_address("127.0.0.1:5353", 53, a));
  CHECK(a.address == "127.0.0.1");
  CHECK(a.port == 5353);
  REQUIRE(parse_listen_address("0.0.0.0", 53, a));
  CHECK(a.to_string() == "0.0.0.0:53");
  REQUIRE(parse_listen_address("::1", 8053, a));
  CHECK(a.address == "::1");
  CHECK(a.port == 8053);
  REQUIRE(parse_listen_address("[::]:0", 53, a));
  CHECK(a.to_string() == "[::]:0");
  REQUIRE(parse_listen_address("[2001:DB8:0:0::1]", 53, a));
  CHECK(a.to_string() == "[2001:db8::1]:53");
  REQUIRE(parse_listen_address("10.0.0.1:65535", 53, a));
  CHECK(a.port == 65535);

  for (const char* bad : {"", "localhost", "localhost:53", "example.com:53", "127.0.0.1:", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1:5x", "127.0.0.1:99999999", "127.1", "256.0.0.1", "1.2.3.4:53:53",
                          "[::1", "[::1]53", "[::1]:", "[::1]:65536", "[127.0.0.1]:53", "::1:53x", "[]:53",
                          "fe80::1%eth0", " 127.0.0.1", "[::1]:53 "}) {
    INFO(bad);
    CHECK_FALSE(parse_listen_address(bad, 53, a));
  }
}

TEST_CASE("config: parse_duration", "[config]") {
  std::chrono::milliseconds d{};
  REQUIRE(parse_duration("500ms", d));
  CHECK(d == 500ms);
  REQUIRE(parse_duration("10s", d));
  CHECK(d == 10s);
  REQUIRE(parse_duration("2m", d));
  CHECK(d == 2min);
  REQUIRE(parse_duration("1h", d));
  CHECK(d == 1h);
  REQUIRE(parse_duration("7", d));
  CHECK(d == 7s);
  REQUIRE(parse_duration("0", d));
  CHECK(d == 0ms);
  REQUIRE(parse_duration("9223372036854775807ms", d));
  CHECK(d.count() == INT64_MAX);
  for (const char* bad : {"", "-1", "-1s", "+1s", "1.5s", "10x", "10 s", " 10s", "10s ", "s", "ms", "10S", "10sec",
                          "1d", "9223372036854775808ms", "9223372036854776s", "99999999999999999999999", "5h1m"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad, d));
  }
}

// ---------------------------------------------------------------------------------------------
// Zones

TEST_CASE("config: zone origins are validated and normalised", "[config]") {
  TempDir t;
  auto r = t.load("zones:\n  - origin: WWW.Example.com\n    file: a.zone\n  - origin: .\n    file: root.zone\n");
  REQUIRE(r.ok());
  REQUIRE(r->zones.size() == 2);
  CHECK(r->zones[0].origin == "www.example.com.");
  CHECK(r->zones[1].origin == ".");

  CHECK(error_of(t.load("zones:\n  - origin: a.\n    file: a.zone\n  - file: b.zone\n    origin: exa..mple\n")) ==
        t.at(5, "zones[1]: origin \"exa..mple\" is not a valid domain name"));
  CHECK(error_of(t.load("zones:\n  - origin: \"\"\n    file: a.zone\n")) ==
        t.at(2, "zones[0]: origin \"\" is not a valid domain name"));
  CHECK(error_of(t.load("zones:\n  - origin: " + std::string(64, 'a') + ".com\n    file: a.zone\n")) ==
        t.at(2, "zones[0]: origin \"" + std::string(64, 'a') + ".com\" is not a valid domain name"));
  CHECK(error_of(t.load("zones:\n  - origin: [a]\n    file: a.zone\n")) ==
        t.at(2, "zones[0].origin: expected a string, got a list"));
}

TEST_CASE("config: duplicate explicit origins are errors", "[config]") {
  TempDir t;
  auto r = t.load(R"(zones:
  - origin: example.org
    file: org.zone
  - origin: example.net
    file: net1.zone
  - origin: EXAMPLE.net.
    file: net2.zone
)");
  CHECK(error_of(r) == t.at(6, "zones[2]: duplicate origin example.net. (first at line 4)"));
}

TEST_CASE("config: zone entries need origin and file, or directory", "[config]") {
  TempDir t;
  CHECK(error_of(t.load("zones:\n  - origin: a.\n")) == t.at(2, "zones[0]: needs \"file\" with \"origin\""));
  CHECK(error_of(t.load("zones:\n  - origin: a.\n    file: a.zone\n  - file: b.zone\n")) ==
        t.at(4, "zones[1]: needs \"origin\" with \"file\""));
  CHECK(error_of(t.load("zones:\n  - {}\n")) == t.at(2, "zones[0]: needs \"origin\" and \"file\", or \"directory\""));
  CHECK(error_of(t.load("zones:\n  - directory: d\n    origin: a.\n")) ==
        t.at(3, "zones[0]: \"directory\" cannot be combined with \"origin\" or \"file\""));
  CHECK(error_of(t.load("zones:\n  - example.com\n")) ==
        t.at(2, "zones[0]: expected a mapping with \"origin\" and \"file\", or \"directory\", got \"example.com\""));
  CHECK(error_of(t.load("zones:\n  - origin: a.\n    file: \"\"\n")) == t.at(3, "zones[0].file: must not be empty"));
  CHECK(error_of(t.load("zones:\n  - origin: a.\n    file:\n")) ==
        t.at(3, "zones[0].file: expected a string, got nothing"));
  CHECK(error_of(t.load("zones:\n  - directory: \"\"\n")) == t.at(2, "zones[0].directory: must not be empty"));
}

TEST_CASE("config: zone paths are resolved against the config directory", "[config]") {
  TempDir t;
  t.write("etc/pharos.yaml", "zones:\n  - origin: a.\n    file: ../zones/./a.zone\n  - origin: b.\n    file: /abs/b.zone\n");
  auto r = load_config((t.path() / "etc/pharos.yaml").string());
  REQUIRE(r.ok());
  REQUIRE(r->zones.size() == 2);
  CHECK(r->zones[0].file == (t.path() / "zones/a.zone").string());
  CHECK(r->zones[1].file == "/abs/b.zone");

  // A relative config path gives paths relative to the cwd.
  const fs::path rel = fs::relative(t.path() / "etc/pharos.yaml", fs::current_path());
  REQUIRE(rel.is_relative());
  r = load_config(rel.string());
  REQUIRE(r.ok());
  const fs::path got = r->zones[0].file;
  CHECK(got.is_relative());
  CHECK(got == (rel.parent_path() / "../zones/a.zone").lexically_normal());
  CHECK(fs::weakly_canonical(got) == fs::weakly_canonical(t.path() / "zones/a.zone"));
}

TEST_CASE("config: zone directories", "[config]") {
  TempDir t;
  t.write("zones/b.example.zone", "");
  t.write("zones/A.Example.zone", "");
  t.write("zones/explicit.example.zone", "");
  t.write("zones/root.zone", "");
  t.write("zones/README.md", "");                // not .zone
  t.write("zones/.hidden.example.zone", "");     // hidden
  t.write("zones/..zone", "");                   // hidden too
  t.write("zones/c.example.zone~", "");          // editor backup
  t.write("zones/.c.example.zone.swp", "");      // editor temp
  t.write("zones/d.example.zone.bak", "");       // not .zone
  t.write("zones/sub.zone/x.zone", "");          // a directory, not a file
  auto r = t.load(R"(zones:
  - directory: zones/
  - origin: explicit.example
    file: elsewhere/explicit.zone
  - origin: other.example
    file: other.zone
)");
  REQUIRE(r.ok());
  const auto& z = r->zones;
  REQUIRE(z.size() == 5);
  // Explicit entries first, in file order; the explicit entry wins over the directory's file.
  CHECK(z[0].origin == "explicit.example.");
  CHECK(z[0].file == (t.path() / "elsewhere/explicit.zone").string());
  CHECK(z[0].line == 3);
  CHECK(z[0].directory.empty());
  CHECK(z[1].origin == "other.example.");
  // Then the directory's zones, sorted by origin.
  const std::string dir = (t.path() / "zones").string();
  CHECK(z[2].origin == "a.example.");
  CHECK(z[2].file == (t.path() / "zones/A.Example.zone").string());
  CHECK(z[2].line == 2);
  CHECK(z[2].directory == dir);
  CHECK(z[3].origin == "b.example.");
  CHECK(z[3].file == (t.path() / "zones/b.example.zone").string());
  CHECK(z[4].origin == "root.");
  CHECK(r->zone_directories == std::vector<std::string>{dir});
  CHECK(r->warnings.empty());
}

TEST_CASE("config: an empty zone directory is recorded and warned about", "[config]") {
  TempDir t;
  fs::create_directories(t.path() / "zones");
  auto r = t.load("zones:\n  - directory: zones\n");
  REQUIRE(r.ok());
  CHECK(r->zones.empty());
  CHECK(r->zone_directories == std::vector<std::string>{(t.path() / "zones").string()});
  CHECK(r->warnings == std::vector<std::string>{t.at(1, "no zones configured")});
}

TEST_CASE("config: an unreadable zone directory names the line", "[config]") {
  TempDir t;
  t.write("file", "");
  const std::string missing = (t.path() / "x").string();
  auto r = t.load("zones:\n  - origin: a.\n    file: a.zone\n  - origin: b.\n    file: b.zone\n  - {origin: c., file: "
                  "c.zone}\n  - directory: x\n");
  CHECK(error_of(r) == t.at(7, "zones[3]: cannot read directory \"" + missing + "\": No such file or directory"));
  r = t.load("zones:\n  - directory: file\n");
  CHECK(error_of(r) == t.at(2, "zones[0]: cannot read directory \"" + (t.path() / "file").string() +
                                   "\": Not a directory"));
}

TEST_CASE("config: invalid origins from zone file names are errors", "[config]") {
  TempDir t;
  t.write("zones/exa..mple.zone", "");
  auto r = t.load("zones:\n\n  - directory: zones\n");
  CHECK(error_of(r) == t.at(3, "zones[0]: file \"" + (t.path() / "zones/exa..mple.zone").string() +
                                   "\": origin \"exa..mple\" is not a valid domain name"));
}

TEST_CASE("config: the same origin from two directory files is an error", "[config]") {
  TempDir t;
  t.write("one/example.com.zone", "");
  t.write("two/Example.COM.zone", "");
  auto r = t.load("zones:\n  - directory: one\n  - directory: two\n");
  CHECK(error_of(r) == t.at(3, "zones[1]: origin example.com. of \"" + (t.path() / "two/Example.COM.zone").string() +
                                   "\" is also in \"" + (t.path() / "one/example.com.zone").string() +
                                   "\" (line 2)"));
  // Two files of one directory can give the same origin too.
  t.write("dup/a.zone", "");
  t.write("dup/a..zone", "");  // origin "a." as well
  r = t.load("zones:\n  - directory: dup\n");
  CHECK(error_of(r) == t.at(2, "zones[0]: origin a. of \"" + (t.path() / "dup/a.zone").string() + "\" is also in \"" +
                                   (t.path() / "dup/a..zone").string() + "\" (line 2)"));
}

TEST_CASE("config: a directory listed twice is an error", "[config]") {
  TempDir t;
  fs::create_directories(t.path() / "zones");
  auto r = t.load("zones:\n  - directory: zones\n  - directory: ./zones/\n");
  CHECK(error_of(r) == t.at(3, "zones[1]: duplicate directory \"" + (t.path() / "zones").string() +
                                   "\" (first at line 2)"));
}
