// Connections to members: connecting, reading a response head and body with Beast's parser fed
// by hand, and each worker's pool of idle keep-alive connections (LIFO per member, closed after
// the idle timeout or when the member closed them meanwhile).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "edge/stream.h"

namespace pharos::edge {

namespace beast = boost::beast;
namespace http = beast::http;

struct UpstreamConn {
  explicit UpstreamConn(const asio::any_io_executor& ex) : socket(ex) {}
  tcp::socket socket;
  beast::flat_buffer in;  // bytes read and not yet parsed
  Deadline deadline;
  uint32_t upstream_id = 0;
  SteadyClock::time_point idle_since{};
  uint64_t requests = 0;  // served on this connection so far
};

using ResponseParser = http::response_parser<http::buffer_body>;

// Connects with the deadline armed by the caller; sets TCP_NODELAY.
asio::awaitable<error_code> connect(UpstreamConn& c, const tcp::endpoint& to);

// Reads until `p` has the response head. `got_bytes` tells whether the member sent anything.
asio::awaitable<error_code> read_head(UpstreamConn& c, ResponseParser& p, bool& got_bytes);

// Reads body bytes into [data, data + size) through `p`; returns how many arrived. Returns 0
// with no error only when the body is complete (p.is_done()).
asio::awaitable<IoResult> read_body(UpstreamConn& c, ResponseParser& p, char* data, size_t size);

class UpstreamPool {
 public:
  // An idle connection to `id`, or null. Drops those idle longer than `idle` and those the member
  // closed meanwhile (a peek sees end of file, or bytes nobody asked for).
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
