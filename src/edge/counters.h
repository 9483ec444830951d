// The edge's counters: one set per worker, written by that worker only (no locked instruction),
// summed on read. Names follow pharos_edge_<name> for the Prometheus endpoint to come.
#pragma once

#include <array>
#include <cstdint>

#include "metrics/counter.h"

namespace pharos::edge {

enum class Stat : uint8_t {
  Connections,            // client connections accepted
  ConnectionsRefused,     // over limits.max_connections
  TlsHandshakeFailed,
  Requests,               // requests read completely (forwarded or answered by us)
  Status1xx, Status2xx, Status3xx, Status4xx, Status5xx,  // responses sent to clients
  BadRequests,            // refused before forwarding: malformed or smuggling shapes (400, 501, 405)
  TooLarge,               // headers (431) or body (413) over the limits
  ClientTimeouts,         // closed for a client's slowness (header, body, idle, send)
  UpstreamRequests,       // attempts sent to members
  UpstreamReused,         // ... of them on a kept-alive connection
  UpstreamConnectErrors,
  UpstreamTimeouts,
  UpstreamErrors,         // reset, closed or malformed before a complete response
  Retries,
  NoMember,               // no usable member (502)
  PassiveEjections,       // members taken out by passive health
  Redirects,              // port 80 -> https
  AcmeServed,             // ACME challenge files served
  HealthRequests,
  BytesOut,               // response body bytes to clients
  UpstreamLatencyUs,      // sum: request sent -> response head, in microseconds
  UpstreamLatencyCount,
  WebSockets,             // WebSocket tunnels opened (member answered 101)
  WebSocketBytesIn,       // bytes from clients through tunnels (the other way counts in bytes_out)
  WebSocketTimeouts,      // tunnels closed after websocket_idle without a byte either way
  UpstreamTlsErrors,      // TLS handshakes with members that failed (verification included)
  AccessDenied,           // connections closed at accept: the address is not allowed (edge.access)
  ClientConnectionsRefused,  // connections closed at accept: the address holds limits.client_connections
  RateLimited,            // requests answered 429: the address is over limits.client_rate
  kCount
};

inline constexpr const char* kStatNames[] = {
    "connections",         "connections_refused", "tls_handshake_failed", "requests",
    "responses_1xx",       "responses_2xx",       "responses_3xx",        "responses_4xx",
    "responses_5xx",       "bad_requests",        "too_large",            "client_timeouts",
    "upstream_requests",   "upstream_reused",     "upstream_connect_errors", "upstream_timeouts",
    "upstream_errors",     "retries",             "no_member",            "passive_ejections",
    "redirects",           "acme_served",         "health_requests",      "bytes_out",
    "upstream_latency_us_sum", "upstream_latency_count", "websockets", "websocket_bytes_in",
    "websocket_timeouts", "upstream_tls_errors", "access_denied", "client_connections_refused", "rate_limited"};
static_assert(std::size(kStatNames) == static_cast<size_t>(Stat::kCount));

// The HELP text of each counter's metric, pharos_edge_<name>_total.
inline constexpr const char* kStatHelp[] = {
    "Client connections accepted.",
    "Client connections refused over limits.max_connections.",
    "TLS handshakes with clients that failed.",
    "Requests read completely (forwarded or answered by the edge).",
    "Responses 1xx.", "Responses 2xx.", "Responses 3xx.", "Responses 4xx.", "Responses 5xx.",
    "Requests refused before forwarding: malformed or smuggling shapes (400, 501, 405).",
    "Requests whose headers (431) or body (413) were over the limits.",
    "Connections closed for a client's slowness (header, body, idle, send).",
    "Attempts sent to members.",
    "Attempts sent on a kept-alive upstream connection.",
    "Connections to members that failed.",
    "Upstream attempts that timed out.",
    "Upstream attempts reset, closed or malformed before a complete response.",
    "Requests retried on another member.",
    "Requests with no usable member (502).",
    "Members taken out by passive health.",
    "Requests on port 80 redirected to https.",
    "ACME challenge files served.",
    "Requests to the health endpoint.",
    "Response body bytes sent to clients.",
    "Sum of upstream latencies in microseconds.",
    "Upstream latencies counted.",
    "WebSocket tunnels opened (the member answered 101).",
    "Bytes from clients through WebSocket tunnels.",
    "WebSocket tunnels closed after websocket_idle without a byte either way.",
    "TLS handshakes with members that failed (verification included).",
    "Connections closed at accept: the address is not allowed (edge.access).",
    "Connections closed at accept: the address holds limits.client_connections.",
    "Requests answered 429: the address is over limits.client_rate."};
static_assert(std::size(kStatHelp) == static_cast<size_t>(Stat::kCount));

struct EdgeCounters {
  std::array<metrics::Counter, static_cast<size_t>(Stat::kCount)> c;
  void inc(Stat s, uint64_t n = 1) { c[static_cast<size_t>(s)].inc(n); }
  void status(unsigned code) {
    if (code >= 100 && code < 600) inc(static_cast<Stat>(static_cast<unsigned>(Stat::Status1xx) + code / 100 - 1));
  }
};

struct EdgeStats {
  std::array<uint64_t, static_cast<size_t>(Stat::kCount)> v{};
  uint64_t operator[](Stat s) const { return v[static_cast<size_t>(s)]; }
  void add(const EdgeCounters& c) {
    for (size_t i = 0; i < v.size(); ++i) v[i] += c.c[i].get();
  }
};

}  // namespace pharos::edge
