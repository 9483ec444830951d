// The YAML configuration as plain structs. Loading validates everything it can without touching
// the network or the zone files, and reports errors as `file:line: reason`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pharos::config {

// An IP address and port to listen on. `address` is numeric (IPv4 or IPv6, no brackets).
// Port 0 asks the kernel for a free port (tests use it; the log says which was chosen).
struct ListenAddress {
  std::string address;
  uint16_t port = 53;
  std::string to_string() const;  // "127.0.0.1:53", "[::1]:53"
};

struct ServerConfig {
  std::vector<ListenAddress> listen;                  // default: 127.0.0.1:53 and [::1]:53
  unsigned workers = 0;                               // 0: one per core
  uint16_t udp_payload_max = 1232;                    // EDNS payload we advertise and honour (512..65535)
  std::chrono::milliseconds tcp_idle_timeout{10000};  // wait for the next complete query
  unsigned tcp_max_connections = 1000;                // across all workers
  bool any_full_over_tcp = false;                     // ANY over TCP: every RRset (default: one, RFC 8482)
  std::string identity;                               // answered to CH TXT id.server/hostname.bind; empty: off
  std::string version;                                // answered to CH TXT version.server/version.bind; empty: off
};

// One zone: an origin and a master file. Paths in the config are relative to the config
// file's directory and are stored here resolved (absolute or relative to the cwd).
struct ZoneConfig {
  std::string origin;  // presentation form, always ending with '.'
  std::string file;
  unsigned line = 0;   // where the zone is declared in the config, for messages
  std::string directory;  // the zone_directories entry it was found in; empty for explicit entries
};

// ---- health_checks --------------------------------------------------------------------------

enum class CheckType : uint8_t { Tcp, Http, Https, Dns, Calculated };

struct StatusRange {
  uint16_t low = 200;
  uint16_t high = 399;
  bool operator==(const StatusRange&) const = default;
};

// One health check. A check is probed once however many records use it.
struct HealthCheck {
  std::string name;
  CheckType type = CheckType::Tcp;
  ListenAddress target;  // the address probed: tcp/http/https endpoint, or the dns server
  // http, https
  std::string host;  // Host header and TLS SNI; empty: the target address
  std::string path = "/";
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<StatusRange> expect_status{StatusRange{200, 399}};
  std::string expect_body;  // must appear in the first body_limit bytes; empty: any body
  size_t body_limit = 5120;  // as Route 53
  bool tls_verify = true;    // https: verify the chain and the host name
  std::string ca_file;       // https: trust these CAs (PEM) instead of the system store
  // dns
  std::string query_name;  // absolute, presentation form
  uint16_t query_type = 1;
  uint16_t expect_rcode = 0;
  std::string expect_answer;  // an answer's rdata in presentation form ("192.0.2.10"); empty: any
  // calculated
  std::vector<std::string> children;
  unsigned min_healthy = 1;  // healthy when at least this many children are: 1 is OR, all is AND
  // timing and thresholds
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds fast_interval{0};  // between probes while a transition is pending; 0: interval
  double jitter = 0.1;  // each wait is shortened by up to jitter x interval, never lengthened
  std::chrono::milliseconds timeout{500};
  unsigned rise = 2;  // consecutive successes to become healthy
  unsigned fall = 3;  // consecutive failures to become unhealthy
  bool inverted = false;
  bool disabled = false;  // counts as healthy and is not probed
  unsigned line = 0;

  // The same check as far as probing goes (everything but `line`): on reload it keeps its state.
  bool same_definition(const HealthCheck& o) const;
};

// ---- records --------------------------------------------------------------------------------

enum class Policy : uint8_t { Simple, Weighted, Failover, Multivalue, Cidr };
enum class AllDown : uint8_t { FailOpen, NoData, ServFail, Fallback };

// A network, e.g. 10.0.0.0/8 or 2001:db8::/32; host bits are zero.
struct Prefix {
  bool v6 = false;
  uint8_t len = 0;
  uint8_t addr[16] = {};
  std::string text;
};

struct PolicyMember {
  std::string value;   // rdata in presentation form, e.g. "192.0.2.10"; empty when `record` is set
  std::string record;  // nested: the id of another record whose answer this member stands for
  std::string check;   // health check name; empty: always healthy
  unsigned weight = 1; // weighted: 0..255
  unsigned tier = 0;   // failover: 0 primary, 1 secondary, ...
  unsigned line = 0;
};

struct CidrGroup {
  std::vector<Prefix> prefixes;  // empty for the default group
  bool is_default = false;
  std::vector<PolicyMember> members;
  unsigned line = 0;
};

// A record whose answer is chosen per query. With a `name` it answers for that name and type
// (the zone must contain the name); without one it is a pool, used only as a nested member.
struct PolicyRecord {
  std::string id;    // unique; defaults to "<name> <TYPE>"
  std::string name;  // absolute, lowercase, presentation form; empty for a pool
  uint16_t type = 1;
  uint32_t ttl = 60;
  Policy policy = Policy::Simple;
  unsigned count = 1;        // weighted: members per answer
  unsigned max_answers = 8;  // multivalue (and cidr groups): members per answer
  AllDown all_down = AllDown::FailOpen;
  std::vector<std::string> fallback;  // values answered when all_down is Fallback
  std::vector<PolicyMember> members;  // simple, weighted, failover, multivalue
  std::vector<CidrGroup> groups;      // cidr
  unsigned line = 0;
};

// ---- control --------------------------------------------------------------------------------

// The control API (status, overrides, reload). Off unless `listen` or `socket` is set.
struct ControlConfig {
  std::string socket;           // a Unix socket path
  bool has_listen = false;
  ListenAddress listen;         // or a TCP address; anything but loopback needs a token
  std::string token;            // bearer token; required when `listen` is not loopback
};

// The Prometheus endpoint (GET /metrics over HTTP, no token). Read at start only.
struct MetricsConfig {
  bool enabled = false;
  ListenAddress listen;  // e.g. 127.0.0.1:9153
  unsigned line = 0;
};

// ---- edge ------------------------------------------------------------------------------------

// How a pool picks a member for a request, among its members that are up.
enum class Balance : uint8_t { RoundRobin, LeastConnections, IpHash, Weighted };

// One certificate and its key, PEM files read again on every reload (certbot's live/<name>/
// fullchain.pem and privkey.pem work as they are).
struct EdgeCertificate {
  std::string cert_file;           // the certificate, then its chain
  std::string key_file;            // its private key (ECDSA or RSA)
  std::vector<std::string> hosts;  // SNI names it answers for; empty: the names in the certificate
  unsigned line = 0;
};

struct EdgeMember {
  ListenAddress address;  // numeric address and port of an app server
  unsigned weight = 1;    // weighted and least_connections: 1..1000
  std::string check;      // a health check (health_checks) that must pass; empty: none
  unsigned line = 0;
};

// TLS from the edge to a pool's members (re-encryption). The member's certificate is verified
// against `ca_file` (default: the system's trust store) for `name` (default: the member's IP
// address, which the certificate must then list), unless `verify` is false.
struct EdgeUpstreamTls {
  bool enabled = false;
  std::string name;       // SNI and the name verified; empty: no SNI, the member's address is verified
  std::string ca_file;    // PEM CA certificates; empty: the system's default paths
  bool verify = true;
  std::string cert_file;  // a client certificate (chain) for mutual TLS; empty: none
  std::string key_file;
  unsigned line = 0;
};

// The PROXY protocol header sent at the start of each connection to a member (HAProxy's
// proxy-protocol.txt): the client's address and port, and the address it connected to.
enum class ProxyProtocol : uint8_t { Off, V1, V2 };

struct EdgePool {
  std::string name;
  Balance balance = Balance::RoundRobin;
  std::vector<EdgeMember> members;
  // Passive health: `max_fails` failures (connect errors, timeouts, fail_status answers) within
  // `fail_timeout` take a member out for `fail_timeout`. 0 turns passive checks off.
  unsigned max_fails = 1;
  std::chrono::milliseconds fail_timeout{10000};
  std::vector<StatusRange> fail_status{StatusRange{500, 599}};
  bool websocket = true;  // pass WebSocket upgrades through (false: Upgrade is stripped, as any hop-by-hop header)
  EdgeUpstreamTls tls;
  ProxyProtocol proxy_protocol = ProxyProtocol::Off;
  unsigned line = 0;
};

// Requests whose Host matches one of `hosts` (exact, or "*.example.com" for one more label; empty:
// any host) and whose path starts with `path` go to `pool`. The longest matching path wins; an
// exact host beats a wildcard, which beats a route for any host.
struct EdgeRoute {
  std::vector<std::string> hosts;  // lowercase
  std::string path = "/";
  std::string pool;
  unsigned line = 0;
};

struct EdgeTimeouts {
  std::chrono::milliseconds client_header{10000};     // TLS handshake, and a request's line and headers
  std::chrono::milliseconds client_body{60000};       // a request's body
  std::chrono::milliseconds client_idle{60000};       // keep-alive: waiting for the next request
  std::chrono::milliseconds client_send{60000};       // each write to the client
  std::chrono::milliseconds upstream_connect{5000};   // connecting to a member
  std::chrono::milliseconds upstream_response{60000}; // the response's headers, and each read of its body
  std::chrono::milliseconds upstream_idle{1000};      // keep an idle upstream connection this long
  std::chrono::milliseconds websocket_idle{3600000};  // a WebSocket tunnel with no byte either way closes
};

struct EdgeLimits {
  size_t header_bytes = 16 * 1024;           // request line and headers (431 above)
  size_t body_bytes = 1024 * 1024;           // request body (413 above)
  unsigned max_connections = 10000;          // client connections, across workers
  unsigned upstream_idle_per_member = 32;    // idle keep-alive connections kept per member and worker
  // Per client address (IPv6: per client_ipv6_prefix), all workers together. 0: no limit.
  unsigned client_connections = 0;          // open connections; more are closed at accept
  unsigned client_rate = 0;                 // proxied requests per second (a token bucket); 429 above
  unsigned client_burst = 0;                // the bucket's size; 0: client_rate
  unsigned client_ipv6_prefix = 64;
};

// Who may connect at all: the most specific network listed decides; an address in none is
// allowed when `allow` is empty. Refused connections are closed at accept, before TLS.
struct EdgeAccess {
  std::vector<Prefix> allow;
  std::vector<Prefix> deny;
};

// The TLS-terminating reverse proxy. Off unless the config has an `edge` section.
struct EdgeConfig {
  bool enabled = false;
  unsigned workers = 0;  // 0: one per core
  std::vector<ListenAddress> https_listen;
  std::vector<EdgeCertificate> certificates;  // the first is the default (no or unknown SNI)
  std::vector<ListenAddress> http_listen;     // redirects to https, ACME challenges, health
  std::string acme_webroot;                   // serves /.well-known/acme-challenge/ from here; empty: off
  std::vector<EdgeRoute> routes;              // in file order
  std::vector<EdgePool> pools;                // sorted by name
  EdgeTimeouts timeouts;
  EdgeLimits limits;
  EdgeAccess access;
  std::chrono::milliseconds drain_delay{5000};     // SIGTERM: health fails this long before we stop accepting
  std::chrono::milliseconds drain_timeout{30000};  // then requests in flight get this long to finish
  std::string health_path = "/_pharos/health";
  bool trust_forwarded = false;       // keep (append to) X-Forwarded-* / Forwarded from clients
  std::string access_log = "stderr";  // "stderr", "off" or a file path
  unsigned line = 0;
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
};

struct Config {
  std::string path;                 // the config file itself
  ServerConfig server;
  std::vector<ZoneConfig> zones;    // explicit entries first, then directory entries, sorted by origin
  std::vector<std::string> zone_directories;  // watched for added/removed zone files
  std::vector<HealthCheck> health_checks;  // sorted by name
  std::vector<PolicyRecord> records;       // in file order
  ControlConfig control;
  MetricsConfig metrics;
  EdgeConfig edge;
  // Whether the dns role runs: the config has a server, zones or records section, or no edge
  // section (a config with only an edge section runs the edge alone).
  bool dns = true;
  LogConfig log;
  std::vector<std::string> warnings;  // non-fatal findings as "file:line: reason", for the caller to log
};

// Reads and validates a config file.
Result<Config> load_config(const std::string& path);

// Parses a duration such as "500ms", "10s", "2m", "1h" or a bare number of seconds.
bool parse_duration(const std::string& text, std::chrono::milliseconds& out);

// Parses a size such as "16384", "16k", "1m" (k, m, g: powers of 1024).
bool parse_size(const std::string& text, uint64_t& out);

// Parses "127.0.0.1:53", "[::1]:5353", "::1" (port defaults to `default_port`), "0.0.0.0".
bool parse_listen_address(const std::string& text, uint16_t default_port, ListenAddress& out);

}  // namespace pharos::config
