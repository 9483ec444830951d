#include "edge/upstream.h"

#include "edge/upstream_tls.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

namespace pharos::edge {

namespace {
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadSize = 16 * 1024;

// Reads more bytes into c.in; eof and errors as error codes.
asio::awaitable<error_code> fill(UpstreamConn& c) {
  auto [ec, n] = co_await upstream_read(c, c.in.prepare(kReadSize));
  c.in.commit(n);
  co_return ec;
}

// Whether an idle connection is no use any more: the member closed it, or sent bytes nobody
// asked for. Over TLS, records that carry no data (a TLS 1.3 session ticket) are read and the
// connection stays; a close_notify or data ends it.
bool dead(UpstreamConn& c) {
  char b;
  ssize_t r = ::recv(c.socket.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  if (r == 0 || !c.ssl) return true;  // 0: closed by the member; > 0: bytes nobody asked for
  size_t n = 0;
  const int ok = SSL_read_ex(c.ssl, &b, 1, &n);
  const int err = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(c.ssl, ok);
  if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) ERR_clear_error();
  return err != SSL_ERROR_WANT_READ;
}
}  // namespace

asio::awaitable<error_code> upstream_handshake(UpstreamConn& c, std::string& why) {
  error_code ignored;
  c.socket.native_non_blocking(true, ignored);  // OpenSSL reads and writes it; we wait for readiness
  SSL_set_fd(c.ssl, c.socket.native_handle());
  for (;;) {
    errno = 0;
    const int r = SSL_connect(c.ssl);
    if (r == 1) co_return error_code{};
    const int err = SSL_get_error(c.ssl, r);
    const unsigned long openssl_error = ERR_peek_last_error();
    error_code ec;
    if (co_await ssl_wait(c.socket, c.deadline, err, ec)) continue;
    if (ec == asio::error::timed_out) {
      why = "timeout";
    } else if (err == SSL_ERROR_SSL) {
      why = tls_failure(c.ssl, openssl_error);
    } else {
      why = ec.message();
    }
    co_return ec;
  }
}

asio::awaitable<IoResult> upstream_read(UpstreamConn& c, asio::mutable_buffer b) {
  if (c.deadline.expired) co_return IoResult{asio::error::timed_out, 0};
  if (!c.ssl) {
    auto [ec, n] = co_await c.socket.async_read_some(b, kUse);
    co_return IoResult{settle(ec, c.deadline), n};
  }
  for (;;) {
    errno = 0;
    size_t n = 0;
    if (SSL_read_ex(c.ssl, b.data(), b.size(), &n) == 1) co_return IoResult{error_code{}, n};
    error_code ec;
    if (!co_await ssl_wait(c.socket, c.deadline, SSL_get_error(c.ssl, 0), ec)) co_return IoResult{ec, 0};
  }
}

asio::awaitable<error_code> upstream_write(UpstreamConn& c, std::span<const asio::const_buffer> buffers) {
  if (c.deadline.expired) co_return asio::error::timed_out;
  if (!c.ssl) {
    auto [ec, n] = co_await asio::async_write(c.socket, buffers, kUse);
    co_return settle(ec, c.deadline);
  }
  for (const auto& b : buffers) {
    const char* data = static_cast<const char*>(b.data());
    size_t size = b.size();
    while (size > 0) {
      errno = 0;
      size_t n = 0;
      if (SSL_write_ex(c.ssl, data, size, &n) == 1) {
        data += n;
        size -= n;
        continue;
      }
      error_code ec;
      if (!co_await ssl_wait(c.socket, c.deadline, SSL_get_error(c.ssl, 0), ec)) co_return ec;
    }
  }
  co_return error_code{};
}

void upstream_shutdown_send(UpstreamConn& c) {
  if (c.ssl) {
    SSL_shutdown(c.ssl);
    ERR_clear_error();
  }
  error_code ignored;
  c.socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<error_code> connect(UpstreamConn& c, const tcp::endpoint& to) {
  auto [ec] = co_await c.socket.async_connect(to, kUse);
  ec = settle(ec, c.deadline);
  if (!ec) {
    error_code ignored;
    c.socket.set_option(tcp::no_delay(true), ignored);
  }
  co_return ec;
}

std::string_view readable(const beast::flat_buffer& in) {
  return {static_cast<const char*>(in.data().data()), in.size()};
}

asio::awaitable<error_code> read_head(UpstreamConn& c, ResponseParser& p, std::string& store, bool& got_bytes) {
  for (;;) {
    if (c.in.size() > 0) {
      got_bytes = true;
      error_code ec;
      const std::string_view in = readable(c.in);
      const size_t used = p.put(in, ec);
      if (!ec && p.is_header_done()) {
        p.keep_head(in.data(), used, store);
        c.in.consume(used);
        co_return error_code{};
      }
      c.in.consume(used);
      if (ec && ec != http::error::need_more) co_return ec;
      if (!ec) continue;
    }
    error_code ec = co_await fill(c);
    if (ec == asio::error::eof) {
      if (!p.got_some()) co_return ec;
      error_code eof_ec;
      p.put_eof(eof_ec);
      co_return eof_ec ? eof_ec : error_code(http::error::partial_message);
    }
    if (ec) co_return ec;
  }
}

asio::awaitable<IoResult> read_body(UpstreamConn& c, ResponseParser& p, char* data, size_t size) {
  p.body_buffer(data, size);
  for (;;) {
    if (p.is_done()) co_return IoResult{error_code{}, size - p.body_room()};
    if (c.in.size() > 0) {
      error_code ec;
      const size_t used = p.put(readable(c.in), ec);
      c.in.consume(used);
      const size_t produced = size - p.body_room();
      if (ec == http::error::need_buffer) co_return IoResult{error_code{}, produced};
      if (ec && ec != http::error::need_more) co_return IoResult{ec, produced};
      if (produced > 0 || p.is_done()) co_return IoResult{error_code{}, produced};
      if (!ec && used > 0) continue;  // a chunk header or the like: parse on
    }
    error_code ec = co_await fill(c);
    if (ec == asio::error::eof) {
      error_code eof_ec;
      p.put_eof(eof_ec);  // completes a body that runs to the end of the connection
      co_return IoResult{eof_ec, size - p.body_room()};
    }
    if (ec) co_return IoResult{ec, size - p.body_room()};
  }
}

bool reusable(UpstreamConn& c, SteadyClock::time_point now, std::chrono::milliseconds idle) {
  const auto idle_for = now - c.idle_since;
  if (idle_for >= idle) return false;
  // Under load a connection comes back within microseconds: no peek (a recv per request). A
  // close the member sent in that time fails the request before any response byte, and the
  // request goes again as one on a stale connection.
  return idle_for < kPeekAfter || !dead(c);
}

std::unique_ptr<UpstreamConn> UpstreamPool::take(uint32_t id, SteadyClock::time_point now,
                                                 std::chrono::milliseconds idle) {
  if (id >= idle_.size()) return nullptr;
  auto& list = idle_[id];
  while (!list.empty()) {
    std::unique_ptr<UpstreamConn> c = std::move(list.back());
    list.pop_back();
    if (reusable(*c, now, idle)) return c;
    error_code ignored;
    c->socket.close(ignored);
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> c, SteadyClock::time_point now, unsigned max_idle) {
  if (c->upstream_id >= idle_.size()) idle_.resize(c->upstream_id + 1);
  auto& list = idle_[c->upstream_id];
  if (list.size() >= max_idle) {
    // Keep the newest: close the oldest.
    if (list.empty()) return;
    error_code ignored;
    list.front()->socket.close(ignored);
    list.erase(list.begin());
  }
  c->idle_since = now;
  list.push_back(std::move(c));
}

void UpstreamPool::reap(SteadyClock::time_point now, std::chrono::milliseconds idle) {
  for (auto& list : idle_) {
    size_t keep = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      if (now - list[i]->idle_since < idle) {
        list[keep++] = std::move(list[i]);
      } else {
        error_code ignored;
        list[i]->socket.close(ignored);
      }
    }
    list.resize(keep);
  }
}

void UpstreamPool::clear() {
  for (auto& list : idle_) {
    for (auto& c : list) {
      error_code ignored;
      c->socket.close(ignored);
    }
    list.clear();
  }
}

size_t UpstreamPool::idle() const {
  size_t n = 0;
  for (const auto& list : idle_) n += list.size();
  return n;
}

}  // namespace pharos::edge
