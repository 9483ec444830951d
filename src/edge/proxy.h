// The proxy core, protocol-neutral: a request that a front end (HTTP/1.1 today, HTTP/2 later)
// has read and checked goes to a pool chosen by route, to a member chosen by the pool's rule,
// over a kept-alive or new upstream connection, with one retry; the response streams back
// through the front end's ResponseSink, which owns the framing towards the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "edge/http_rules.h"
#include "edge/stream.h"

namespace pharos::edge {

class Worker;
struct WorkerView;
struct MemberRuntime;
struct UpstreamConn;

// A client connection handed over to a tunnel after a 101 (a WebSocket): bytes both ways,
// unframed. HTTP/1.1 gives its connection (and any bytes the client sent after its request);
// an HTTP/2 stream would carry them in DATA frames (RFC 8441).
class ClientTunnel {
 public:
  virtual ~ClientTunnel() = default;
  virtual asio::awaitable<IoResult> read_some(asio::mutable_buffer b) = 0;
  virtual asio::awaitable<error_code> write(asio::const_buffer b) = 0;
  virtual void shutdown_send() = 0;  // no more bytes to the client (its reads see the end)
  virtual void cancel() = 0;         // ends the tunnel's pending reads and writes
  virtual void arm(std::chrono::milliseconds d) = 0;  // the client side's deadline
};

// Where a response goes. An HTTP/1.1 connection frames the body with Content-Length or chunked
// encoding; an HTTP/2 stream would send HEADERS and DATA frames.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // The response head from a member. `has_body`: a body follows (not for HEAD, 1xx, 204, 304);
  // `length`: its Content-Length, if the member gave one. May be held back and sent with the
  // first piece of body.
  virtual asio::awaitable<error_code> send_head(const ResponseHead& res, bool has_body,
                                                std::optional<uint64_t> length) = 0;
  virtual asio::awaitable<error_code> send_body(asio::const_buffer data) = 0;
  // The end of the response (sends a held-back head, the last chunk).
  virtual asio::awaitable<error_code> finish() = 0;
  // A response of our own (error pages): whole, with Content-Length.
  virtual asio::awaitable<error_code> send_local(unsigned status, std::string_view body,
                                                 std::string_view extra_headers = {}) = 0;
  // The response was cut short (the member failed mid-body): the client must not take what it
  // got for a whole response, and the connection is not reused.
  virtual void abort() = 0;
  virtual bool head_started() const = 0;  // an error page can no longer replace the response
  // A member's 101 to a WebSocket handshake: sends the head and hands over the connection for
  // the tunnel; null when the head could not be sent.
  virtual asio::awaitable<ClientTunnel*> upgrade(const ResponseHead& res) = 0;
};

// A request as the front end read it: head, the whole body (buffered up to the body limit, so
// that a retry can send it again), and who sent it.
struct ProxyRequest {
  const http::request_header<>& head;
  std::string_view body;
  bool had_framing = false;   // Content-Length or Transfer-Encoding was present
  const ClientInfo& client;
  std::string_view host;      // normalised (lowercase, no port)
  std::string_view path;      // without the query
  uint64_t client_key = 0;    // ip_hash
  bool websocket = false;     // a WebSocket handshake (is_websocket_upgrade)
  bool connection = true;     // a Connection header (false: none, one lookup less)
  // Where the front end keeps an upstream connection that belongs to its client connection
  // (pools with the PROXY protocol, whose header names one client); null: none is kept.
  std::unique_ptr<UpstreamConn>* own_upstream = nullptr;
};

struct ProxyOutcome {
  unsigned status = 0;
  uint64_t bytes = 0;                      // body bytes sent to the client
  const MemberRuntime* member = nullptr;   // the member that answered (for the access log)
  int64_t upstream_us = -1;                // request written -> response head read
  bool complete = true;                    // false: the client's response was cut short
  bool tunnel = false;                     // a WebSocket tunnel ran (and ended): the connection is done
};

// The client's request as the HTTP/1.1 front end reads it.
using RequestParser = http::request_parser<http::string_body>;

// Per-request buffers a worker lends out (kept between requests, so steady traffic does not
// allocate for them), and the parsers: out of the coroutine frames, which asio recycles only up
// to 1,020 bytes.
struct Scratch {
  std::optional<RequestParser> request;  // the client's request (the HTTP/1.1 front end)
  std::string host;           // the request's host, normalised
  std::string head;           // the client's response head
  std::string upstream_head;  // the upstream request head
  std::string response_head;  // the member's response head, as read (ResponseHead's views point here)
  std::optional<ResponseParser> parser;  // the member's response (about 4 KiB: not in a coroutine frame)
  std::string proxy_header;   // the PROXY protocol header
  static constexpr size_t kRelaySize = 16 * 1024;
  std::unique_ptr<char[]> relay{new char[kRelaySize]};
};

asio::awaitable<ProxyOutcome> forward(Worker& w, const WorkerView& view, const ProxyRequest& req, ResponseSink& sink,
                                      Scratch& scratch);

}  // namespace pharos::edge
