// Connections to members: connecting, reading a response head and body with ResponseParser fed
// by hand, and each worker's pool of idle keep-alive connections (LIFO per member, closed after
// the idle timeout or when the member closed them meanwhile).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "edge/response_head.h"
#include "edge/stream.h"

namespace pharos::edge {

namespace beast = boost::beast;

struct UpstreamConn {
  explicit UpstreamConn(const asio::any_io_executor& ex) : socket(ex) {}
  ~UpstreamConn() {
    if (ssl) SSL_free(ssl);
  }
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;
  tcp::socket socket;
  SSL* ssl = nullptr;     // TLS to the member (a pool with tls), OpenSSL on the socket itself
  beast::flat_buffer in;  // bytes read and not yet parsed
  Deadline deadline;
  uint32_t upstream_id = 0;
  SteadyClock::time_point idle_since{};
  uint64_t requests = 0;  // served on this connection so far
};

// Connects with the deadline armed by the caller; sets TCP_NODELAY.
asio::awaitable<error_code> connect(UpstreamConn& c, const tcp::endpoint& to);

// The TLS handshake with the member over the connected socket, `c.ssl` set up by the caller
// (new_upstream_session); the deadline armed by the caller. On failure, `why` says why
// (certificate verification, protocol).
asio::awaitable<error_code> upstream_handshake(UpstreamConn& c, std::string& why);

// Bytes to and from the member, in the clear or through TLS. upstream_read returns eof when the
// member closed (a close_notify, or a TCP close without one).
asio::awaitable<IoResult> upstream_read(UpstreamConn& c, asio::mutable_buffer b);
asio::awaitable<error_code> upstream_write(UpstreamConn& c, std::span<const asio::const_buffer> buffers);
// No more bytes to the member (close_notify for TLS, then FIN); reading goes on.
void upstream_shutdown_send(UpstreamConn& c);

// Reads until `p` has the response head, whose text then lives in `store` (p.head()'s views
// point there). `got_bytes` tells whether the member sent anything.
asio::awaitable<error_code> read_head(UpstreamConn& c, ResponseParser& p, std::string& store, bool& got_bytes);

// Reads body bytes into [data, data + size) through `p`; returns how many arrived. Returns 0
// with no error only when the body is complete (p.is_done()).
asio::awaitable<IoResult> read_body(UpstreamConn& c, ResponseParser& p, char* data, size_t size);

// Connections idle for less than this are reused without checking whether the member closed them.
constexpr std::chrono::milliseconds kPeekAfter{10};

// Whether an idle connection may carry another request: idle for less than `idle`, and (when
// idle for kPeekAfter or more) the member has neither closed it nor sent anything meanwhile.
bool reusable(UpstreamConn& c, SteadyClock::time_point now, std::chrono::milliseconds idle);

class UpstreamPool {
 public:
  // An idle connection to `id`, or null. Drops those idle longer than `idle` and those the member
  // closed meanwhile (a peek sees end of file, or bytes nobody asked for; see reusable()).
  std::unique_ptr<UpstreamConn> take(uint32_t id, SteadyClock::time_point now, std::chrono::milliseconds idle);
  // Keeps a connection for reuse (closes it when `max_idle` are kept already).
  void put(std::unique_ptr<UpstreamConn> c, SteadyClock::time_point now, unsigned max_idle);
  // Closes connections idle longer than `idle`.
  void reap(SteadyClock::time_point now, std::chrono::milliseconds idle);
  void clear();
  size_t idle() const;

 private:
  std::vector<std::vector<std::unique_ptr<UpstreamConn>>> idle_;  // by upstream id, newest last
};

}  // namespace pharos::edge
