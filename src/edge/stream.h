// Byte streams for the proxy's connections, as coroutines: plain TCP, and TLS driven straight on
// the socket (OpenSSL reads and writes the non-blocking descriptor itself; we wait for
// readiness). No per-connection staging buffers: asio::ssl::stream keeps 34 KiB of them for
// every connection, idle or not, where OpenSSL with SSL_MODE_RELEASE_BUFFERS keeps none while
// idle.
//
// Timeouts: each stream has a Deadline, armed before an operation that may wait. A worker's
// ticker expires overdue deadlines by cancelling the socket's operations; the operation then
// fails with asio::error::timed_out.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <utility>

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

namespace pharos::edge {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

// An intrusive list node the worker's ticker walks.
struct Deadline {
  SteadyClock::time_point at = SteadyClock::time_point::max();
  tcp::socket* socket = nullptr;
  bool expired = false;
  Deadline* prev = nullptr;
  Deadline* next = nullptr;

  void arm(std::chrono::milliseconds d) {
    at = SteadyClock::now() + d;
    expired = false;
  }
  void disarm() { at = SteadyClock::time_point::max(); }
};

class DeadlineList {
 public:
  void add(Deadline& d);
  void remove(Deadline& d);
  // Expires every deadline at or before `now`: marks it and cancels its socket's operations.
  void expire(SteadyClock::time_point now);
  size_t size() const { return size_; }

 private:
  Deadline* head_ = nullptr;
  size_t size_ = 0;
};

// Registers a deadline for as long as it lives.
class DeadlineGuard {
 public:
  DeadlineGuard(DeadlineList& list, Deadline& d, tcp::socket& s) : list_(list), d_(d) {
    d_.socket = &s;
    list_.add(d_);
  }
  ~DeadlineGuard() { list_.remove(d_); }
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;

 private:
  DeadlineList& list_;
  Deadline& d_;
};

using IoResult = std::pair<error_code, size_t>;

// The error a wait or an I/O operation ended with, as its caller should see it: timed_out when
// the deadline expired (the ticker cancelled the operation), else as it is.
error_code settle(error_code ec, const Deadline& d);

// After an OpenSSL call on a non-blocking socket failed with `ssl_error`: waits until it can make
// progress (true), or sets `ec` (false): timed_out when `deadline` expired, eof for a clean or
// abrupt close, no_protocol_option for a TLS protocol error. Client and upstream TLS share it.
asio::awaitable<bool> ssl_wait(tcp::socket& socket, const Deadline& deadline, int ssl_error, error_code& ec);

// After a response that ends the connection while the client may still be sending (an error
// before its body was read): stop sending, then read and drop what arrives for up to `limit`,
// so that closing does not reset the connection before the client has read the response.
asio::awaitable<void> linger(tcp::socket& socket, Deadline& deadline, std::chrono::milliseconds limit);

// Allocates exactly what is asked, for an operation that may stay pending for as long as a
// connection idles: asio's recycling allocator would hand it whichever cached block is big
// enough (a 464-byte one where 150 would do, measured with massif), kept for all that time.
// Freed blocks are kept per thread, a few, and given again only for the same size.
struct ExactBlocks {
  static void* take(size_t size);
  static void give(void* p, size_t size);
  static void trim();  // frees the blocks this thread keeps
};

template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(ExactBlocks::take(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { ExactBlocks::give(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const ExactAllocator<U>&) const {
    return true;
  }
};

// Calls `h(ec)` from the socket's executor, not from here.
template <class Handler>
void post_result(tcp::socket& socket, Handler&& h, error_code ec) {
  asio::post(socket.get_executor(), [h = std::forward<Handler>(h), ec]() mutable { std::move(h)(ec); });
}

template <class Handler>
void wait_readable_on(tcp::socket& socket, const Deadline& deadline, Handler&& h) {
  if (deadline.expired) {
    post_result(socket, std::forward<Handler>(h), asio::error::timed_out);
    return;
  }
  socket.async_wait(tcp::socket::wait_read,
                    asio::bind_allocator(ExactAllocator<void>(), [&deadline, h = std::forward<Handler>(h)](error_code ec) mutable {
                      std::move(h)(settle(ec, deadline));
                    }));
}

class PlainStream {
 public:
  explicit PlainStream(tcp::socket socket) : socket_(std::move(socket)) {}
  asio::awaitable<IoResult> read_some(asio::mutable_buffer b);
  // Calls `h(ec)` when a read would find data (or end of file): a plain callback, not a
  // coroutine, so that a connection waiting for its next request holds no frame and no buffer,
  // only the reactor's operation and the handler (http1.cpp). `ec` is settled (timed_out when
  // the deadline expired).
  template <class Handler>
  void async_wait_readable(Handler&& h) {
    wait_readable_on(socket_, deadline_, std::forward<Handler>(h));
  }
  asio::awaitable<error_code> write(std::span<const asio::const_buffer> buffers);
  asio::awaitable<void> shutdown();  // FIN, then close
  void shutdown_send();
  tcp::socket& socket() { return socket_; }
  Deadline& deadline() { return deadline_; }
  static constexpr bool kTls = false;

 private:
  tcp::socket socket_;
  Deadline deadline_;
};

class TlsStream {
 public:
  // Takes ownership of `ssl`, which must be made from a server context; the socket is put in
  // non-blocking mode and given to OpenSSL.
  TlsStream(tcp::socket socket, SSL* ssl);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  asio::awaitable<error_code> handshake();
  asio::awaitable<IoResult> read_some(asio::mutable_buffer b);
  // As PlainStream's; at once (posted) when OpenSSL already holds decrypted bytes.
  template <class Handler>
  void async_wait_readable(Handler&& h) {
    if (SSL_has_pending(ssl_)) {
      post_result(socket_, std::forward<Handler>(h), error_code{});
      return;
    }
    wait_readable_on(socket_, deadline_, std::forward<Handler>(h));
  }
  asio::awaitable<error_code> write(std::span<const asio::const_buffer> buffers);
  asio::awaitable<void> shutdown();  // close_notify (not waiting for the peer's), then close
  void shutdown_send();              // close_notify and FIN; the socket stays open for linger()
  tcp::socket& socket() { return socket_; }
  Deadline& deadline() { return deadline_; }
  SSL* ssl() { return ssl_; }
  static constexpr bool kTls = true;

 private:
  // Waits until OpenSSL's last call can make progress; false with `ec` set on error/timeout.
  asio::awaitable<bool> wait_for(int ssl_error, error_code& ec);
  asio::awaitable<error_code> write_one(const char* data, size_t size);

  tcp::socket socket_;
  SSL* ssl_;
  Deadline deadline_;
  std::string pending_;  // the rest of a coalesced write that had to wait (rare)
};

}  // namespace pharos::edge
