#include "edge/stream.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace pharos::edge {

namespace {
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr size_t kCoalesce = 16 * 1024;  // one TLS record's worth
thread_local char t_stage[kCoalesce];

struct ExactCache {
  static constexpr size_t kSlots = 8;
  void* block[kSlots];
  size_t size[kSlots];
  size_t n = 0;
  void trim() {
    for (size_t i = 0; i < n; ++i) ::operator delete(block[i]);
    n = 0;
  }
  ~ExactCache() { trim(); }
};
thread_local ExactCache t_exact;
}  // namespace

void* ExactBlocks::take(size_t size) {
  ExactCache& c = t_exact;
  for (size_t i = c.n; i-- > 0;) {
    if (c.size[i] == size) {
      void* p = c.block[i];
      --c.n;
      c.block[i] = c.block[c.n];
      c.size[i] = c.size[c.n];
      return p;
    }
  }
  return ::operator new(size);
}

void ExactBlocks::trim() { t_exact.trim(); }

void ExactBlocks::give(void* p, size_t size) {
  ExactCache& c = t_exact;
  if (c.n == ExactCache::kSlots) {
    ::operator delete(p);
    return;
  }
  c.block[c.n] = p;
  c.size[c.n] = size;
  ++c.n;
}

// An aborted operation of an expired deadline is a timeout.
error_code settle(error_code ec, const Deadline& d) {
  if (d.expired && (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || !ec)) {
    return asio::error::timed_out;
  }
  return ec;
}

void DeadlineList::add(Deadline& d) {
  d.prev = nullptr;
  d.next = head_;
  if (head_) head_->prev = &d;
  head_ = &d;
  ++size_;
}

void DeadlineList::remove(Deadline& d) {
  if (d.prev) d.prev->next = d.next;
  else if (head_ == &d) head_ = d.next;
  if (d.next) d.next->prev = d.prev;
  d.prev = d.next = nullptr;
  --size_;
}

void DeadlineList::expire(SteadyClock::time_point now) {
  for (Deadline* d = head_; d; d = d->next) {
    if (d->at <= now && !d->expired) {
      d->expired = true;
      d->at = SteadyClock::time_point::max();
      error_code ignored;
      if (d->socket) d->socket->cancel(ignored);
    }
  }
}

asio::awaitable<void> linger(tcp::socket& socket, Deadline& deadline, std::chrono::milliseconds limit) {
  constexpr size_t kMaxDrop = 1 << 20;
  deadline.arm(limit);
  char buf[4096];
  size_t dropped = 0;
  while (dropped < kMaxDrop && !deadline.expired) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kUse);
    if (ec) break;
    dropped += n;
  }
}

// ---- plain ------------------------------------------------------------------------------------

void PlainStream::shutdown_send() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<IoResult> PlainStream::read_some(asio::mutable_buffer b) {
  if (deadline_.expired) co_return IoResult{asio::error::timed_out, 0};
  auto [ec, n] = co_await socket_.async_read_some(b, kUse);
  co_return IoResult{settle(ec, deadline_), n};
}

asio::awaitable<error_code> PlainStream::write(std::span<const asio::const_buffer> buffers) {
  if (deadline_.expired) co_return asio::error::timed_out;
  auto [ec, n] = co_await asio::async_write(socket_, buffers, kUse);
  co_return settle(ec, deadline_);
}

asio::awaitable<void> PlainStream::shutdown() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
  co_return;
}

// ---- TLS --------------------------------------------------------------------------------------

TlsStream::TlsStream(tcp::socket socket, SSL* ssl) : socket_(std::move(socket)), ssl_(ssl) {
  // OpenSSL reads and writes the descriptor itself: non-blocking, with one ioctl (asio's own
  // operations see the flag and set nothing more).
  error_code ignored;
  socket_.non_blocking(true, ignored);
  SSL_set_fd(ssl_, socket_.native_handle());
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

// OpenSSL's error queue (one per thread) is empty between calls: every failure clears it once
// handled (here, for reads, writes and handshakes; where contexts and sessions are made, for
// theirs). So there is no ERR_clear_error() before each SSL_read/SSL_write (about 200
// instructions each, several per request), and SSL_get_error() never sees a stale error.
asio::awaitable<bool> ssl_wait(tcp::socket& socket, const Deadline& deadline, int ssl_error, error_code& ec) {
  if (deadline.expired) {
    ec = asio::error::timed_out;
    co_return false;
  }
  if (ssl_error == SSL_ERROR_WANT_READ) {
    auto [wec] = co_await socket.async_wait(tcp::socket::wait_read, kUse);
    ec = settle(wec, deadline);
    co_return !ec;
  }
  if (ssl_error == SSL_ERROR_WANT_WRITE) {
    auto [wec] = co_await socket.async_wait(tcp::socket::wait_write, kUse);
    ec = settle(wec, deadline);
    co_return !ec;
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;
  } else if (ssl_error == SSL_ERROR_SYSCALL) {
    ec = errno ? error_code(errno, boost::system::system_category()) : error_code(asio::error::eof);
  } else {
    ec = asio::error::no_protocol_option;  // a TLS protocol error (the log has no use for more)
  }
  ERR_clear_error();
  co_return false;
}

asio::awaitable<bool> TlsStream::wait_for(int ssl_error, error_code& ec) {
  co_return co_await ssl_wait(socket_, deadline_, ssl_error, ec);
}

asio::awaitable<error_code> TlsStream::handshake() {
  for (;;) {
    errno = 0;
    int r = SSL_accept(ssl_);
    if (r == 1) co_return error_code{};
    error_code ec;
    if (!co_await wait_for(SSL_get_error(ssl_, r), ec)) co_return ec;
  }
}

asio::awaitable<IoResult> TlsStream::read_some(asio::mutable_buffer b) {
  for (;;) {
    errno = 0;
    size_t n = 0;
    if (SSL_read_ex(ssl_, b.data(), b.size(), &n) == 1) co_return IoResult{error_code{}, n};
    error_code ec;
    if (!co_await wait_for(SSL_get_error(ssl_, 0), ec)) co_return IoResult{ec, 0};
  }
}

asio::awaitable<error_code> TlsStream::write_one(const char* data, size_t size) {
  while (size > 0) {
    errno = 0;
    size_t n = 0;
    if (SSL_write_ex(ssl_, data, size, &n) == 1) {
      data += n;
      size -= n;
      continue;
    }
    error_code ec;
    const int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_WRITE && data >= t_stage && data < t_stage + kCoalesce) {
      // The staging buffer belongs to the thread: keep what must be offered again.
      pending_.assign(data, size);
      data = pending_.data();
    }
    if (!co_await wait_for(err, ec)) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> TlsStream::write(std::span<const asio::const_buffer> buffers) {
  size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  if (buffers.size() > 1 && total <= kCoalesce) {
    // One record instead of several.
    size_t off = 0;
    for (const auto& b : buffers) {
      std::memcpy(t_stage + off, b.data(), b.size());
      off += b.size();
    }
    error_code ec = co_await write_one(t_stage, total);
    pending_.clear();
    pending_.shrink_to_fit();
    co_return ec;
  }
  for (const auto& b : buffers) {
    if (auto ec = co_await write_one(static_cast<const char*>(b.data()), b.size())) co_return ec;
  }
  co_return error_code{};
}

void TlsStream::shutdown_send() {
  SSL_shutdown(ssl_);
  ERR_clear_error();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> TlsStream::shutdown() {
  SSL_shutdown(ssl_);  // queues close_notify and sends it if the socket takes it; no waiting
  ERR_clear_error();
  // close() alone sends the FIN (shutdown(SHUT_WR) first was one more syscall for the same).
  error_code ignored;
  socket_.close(ignored);
  co_return;
}

}  // namespace pharos::edge
