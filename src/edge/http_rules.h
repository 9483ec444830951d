// HTTP rules the proxy applies, without I/O: which requests are refused before anything is
// forwarded (framing that could smuggle a second request past us, a missing or bad Host), which
// headers are hop-by-hop, and the upstream request and client response heads as written. Every
// function here is pure and protocol-neutral enough for an HTTP/2 front end to reuse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>

#include "edge/response_head.h"

namespace pharos::edge {

namespace http = boost::beast::http;

// Who sent a request, as the forwarded headers tell the app.
struct ClientInfo {
  std::string address;  // numeric, without brackets: "192.0.2.7", "2001:db8::7"
  uint16_t port = 0;
  bool tls = true;
  std::string local_address;  // where it connected to (the PROXY protocol's destination)
  uint16_t local_port = 0;
};

// The verdict on a request head. `status` 0: forward it.
struct Verdict {
  unsigned status = 0;
  std::string_view reason;  // for the log and the error page
  // What the check saw on the way, so that the fields are not looked up again.
  bool framing = false;     // a Content-Length or Transfer-Encoding
  bool connection = false;  // a Connection header
};

// RFC 9112 §6: a request with both Content-Length and Transfer-Encoding, more than one
// Content-Length, a Transfer-Encoding other than one "chunked", Transfer-Encoding in HTTP/1.0,
// no Host (or more than one) in HTTP/1.1, a Host that is not a host name or address, a target
// that is not origin-form, or CONNECT/an upgrade: refused (400, or 501 for an unknown coding).
// `host`: the first Host header's host as normalise_host() gives it (empty when it is not
// valid), whatever the verdict (for the log), so that a request normalises its host once.
Verdict check_request(const http::request_header<>& req, std::string& host);
inline Verdict check_request(const http::request_header<>& req) {
  std::string host;
  return check_request(req, host);
}

// The Host header's host, lowercased, without port and trailing dot; empty if it is not a
// valid host ("example.com", "192.0.2.1", "[2001:db8::1]").
bool normalise_host(std::string_view host_header, std::string& out);

// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded either way: Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate,
// Proxy-Authorization, and every header the Connection header names.
bool is_hop_by_hop(http::field f);  // Beast knows all nine: an unknown name is never one
bool named_by_connection(const http::fields& fields, std::string_view name);

bool is_idempotent(http::verb method);

// A WebSocket handshake (RFC 6455 §4.1): an HTTP/1.1 GET whose Connection names "upgrade" and
// whose Upgrade is "websocket". Other upgrades (h2c, TLS) are not passed on: their Upgrade
// header is dropped with the other hop-by-hop headers.
bool is_websocket_upgrade(const http::request_header<>& req);

// The path of a request target, without the query.
inline std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

struct ForwardOptions {
  bool trust_forwarded = false;  // keep and append to the client's X-Forwarded-* and Forwarded
  bool websocket = false;        // ask the member to upgrade: Connection: upgrade, Upgrade: websocket
  bool connection = true;        // false: the request has no Connection header (one lookup less)
};

// Writes the request head sent to an upstream into `out` (cleared first): the client's
// method, target and headers (HTTP/1.1, hop-by-hop and Expect removed), X-Forwarded-For,
// X-Forwarded-Proto, X-Forwarded-Host, X-Real-IP and Forwarded, and a Content-Length for the
// buffered body when the request had a body (or a framing header).
void write_upstream_head(const http::request_header<>& req, const ClientInfo& client, uint64_t body_size,
                         bool had_framing, const ForwardOptions& opt, std::string& out);

// How a response body is framed towards the client.
enum class Framing : uint8_t { None, Length, Chunked, Close };

// Writes the response head sent to the client into `out` (cleared first): status line, the
// upstream's headers without hop-by-hop ones and its framing, then our framing and
// Connection: close when `keep_alive` is false. `content_length` is used for Framing::Length;
// for Framing::None (HEAD, 204, 304) the upstream's Content-Length is passed on as it was.
void write_response_head(unsigned version, const ResponseHead& res, Framing framing, uint64_t content_length,
                         bool keep_alive, std::string& out);

// Writes the head of a member's 101 (Switching Protocols) for the client into `out`: its
// end-to-end headers (Sec-WebSocket-Accept, -Protocol, -Extensions ...), then Connection: upgrade
// and Upgrade: websocket.
void write_upgrade_head(const ResponseHead& res, std::string& out);

// A small response of our own (error pages, redirects, health), head and body, into `out`.
void write_simple_response(unsigned version, unsigned status, std::string_view body, bool keep_alive, bool head_only,
                           std::string_view extra_headers, std::string& out);

std::string_view status_reason(unsigned status);

}  // namespace pharos::edge
