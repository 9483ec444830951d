#include "server/tcp_worker.h"

#include <pthread.h>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstring>
#include <string>

#include "common/log.h"
#include "dns/types.h"

namespace pharos::server {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr size_t kFlushAt = 64 * 1024;  // write replies out once this many are pending
}  // namespace

struct TcpWorker::Impl {
  Impl(unsigned id, const SnapshotStore& store, TcpLimits limits, std::atomic<unsigned>& open, unsigned slot)
      : id(id), snapshot(store), processor(slot), limits(limits), open(open), scratch(2 + dns::kMaxMessage) {}

  unsigned id;
  SnapshotReader snapshot;
  query::QueryProcessor processor;
  TcpLimits limits;
  std::atomic<unsigned>& open;
  std::vector<uint8_t> scratch;
  TcpCounters counters;
  uint64_t reads_since_tick = 0;
  // Declared after what sessions use, so it is destroyed (with any pending sessions) first.
  asio::io_context io{1};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::thread thread;

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
  asio::awaitable<void> session(tcp::socket sock);
  asio::awaitable<void> serve(tcp::socket& sock, Clock::time_point& deadline);
  asio::awaitable<void> watchdog(Clock::time_point& deadline);
  asio::awaitable<void> idle_tick();
  bool answer_frames(const sockaddr* peer, std::vector<uint8_t>& in, size_t& have, std::vector<uint8_t>& out,
                     Clock::time_point& deadline, bool& bad);
};

asio::awaitable<void> TcpWorker::Impl::accept_loop(tcp::acceptor& acceptor) {
  asio::steady_timer backoff(io);
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kUse);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or similar: say so once in a while, wait, go on.
      log::get("server")->warn("tcp accept: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kUse);
      continue;
    }
    if (open.fetch_add(1, std::memory_order_relaxed) >= limits.max_connections) {
      open.fetch_sub(1, std::memory_order_relaxed);
      counters.refused.inc();
      boost::system::error_code ignored;
      sock.close(ignored);
      continue;
    }
    counters.accepted.inc();
    asio::co_spawn(io, session(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> TcpWorker::Impl::session(tcp::socket sock) {
  struct Slot {
    std::atomic<unsigned>& open;
    ~Slot() { open.fetch_sub(1, std::memory_order_relaxed); }
  } slot{open};
  Clock::time_point deadline = Clock::now() + limits.idle_timeout;
  co_await (serve(sock, deadline) || watchdog(deadline));
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
}

asio::awaitable<void> TcpWorker::Impl::watchdog(Clock::time_point& deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto now = Clock::now();
  while (deadline > now) {
    timer.expires_at(deadline);
    co_await timer.async_wait(kUse);
    now = Clock::now();
  }
  counters.timeouts.inc();
}

// Answers the complete frames at the front of `in` into `out`, until `out` holds kFlushAt bytes.
// Returns true if complete frames are left (so the caller should write, then call again).
bool TcpWorker::Impl::answer_frames(const sockaddr* peer, std::vector<uint8_t>& in, size_t& have,
                                    std::vector<uint8_t>& out,
                                    Clock::time_point& deadline, bool& bad) {
  const query::Snapshot& snap = snapshot.get();
  size_t pos = 0;
  bool more = false;
  while (have - pos >= 2) {
    size_t len = dns::read_u16(in.data() + pos);
    if (len == 0) {
      bad = true;
      break;
    }
    if (have - pos < 2 + len) break;
    if (out.size() >= kFlushAt) {
      more = true;
      break;
    }
    size_t r = processor.process(snap, in.data() + pos + 2, len, scratch.data() + 2, dns::kMaxMessage,
                                 query::Transport::Tcp, peer);
    if (r > 0) {
      dns::write_u16(scratch.data(), static_cast<uint16_t>(r));
      out.insert(out.end(), scratch.begin(), scratch.begin() + 2 + static_cast<long>(r));
    }
    pos += 2 + len;
    deadline = Clock::now() + limits.idle_timeout;
  }
  if (pos > 0) {
    std::memmove(in.data(), in.data() + pos, have - pos);
    have -= pos;
  }
  // Make room for a large frame whose length we already know.
  if (have >= 2) {
    size_t need = 2 + size_t{dns::read_u16(in.data())};
    if (need > in.size()) in.resize(need);
  }
  return more;
}

asio::awaitable<void> TcpWorker::Impl::serve(tcp::socket& sock, Clock::time_point& deadline) {
  std::vector<uint8_t> in(1024);
  std::vector<uint8_t> out;
  size_t have = 0;
  boost::system::error_code peer_ec;
  const tcp::endpoint peer = sock.remote_endpoint(peer_ec);  // for cidr policy records
  const sockaddr* peer_addr = peer_ec ? nullptr : peer.data();
  for (;;) {
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(in.data() + have, in.size() - have), kUse);
    if (ec) co_return;  // closed by the peer, reset, or cancelled by the watchdog
    have += n;
    ++reads_since_tick;
    bool bad = false;
    for (;;) {
      bool more = answer_frames(peer_addr, in, have, out, deadline, bad);
      if (!out.empty()) {
        auto [wec, written] = co_await asio::async_write(sock, asio::buffer(out), kUse);
        (void)written;
        if (wec) co_return;
        out.clear();
      }
      if (bad) {
        counters.malformed.inc();
        co_return;
      }
      if (!more) break;
    }
  }
}

// Once a second, an idle thread drops its snapshot reference so an old zone set can be freed.
asio::awaitable<void> TcpWorker::Impl::idle_tick() {
  asio::steady_timer timer(io);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(kUse);
    if (ec) co_return;
    if (reads_since_tick == 0) snapshot.release();
    reads_since_tick = 0;
  }
}

TcpWorker::TcpWorker(unsigned id, std::vector<TcpListener> listeners, const SnapshotStore& store, TcpLimits limits,
                     std::atomic<unsigned>& open_connections, unsigned slot)
    : impl_(std::make_unique<Impl>(id, store, limits, open_connections, slot)) {
  for (const TcpListener& l : listeners) {
    impl_->acceptors.push_back(std::make_unique<tcp::acceptor>(impl_->io, l.ipv6 ? tcp::v6() : tcp::v4(), l.fd));
  }
}

TcpWorker::~TcpWorker() { stop(); }

void TcpWorker::start() {
  Impl& m = *impl_;
  for (auto& a : m.acceptors) asio::co_spawn(m.io, m.accept_loop(*a), asio::detached);
  asio::co_spawn(m.io, m.idle_tick(), asio::detached);
  m.thread = std::thread([&m] { m.io.run(); });
  std::string name = "pharos-tcp" + std::to_string(m.id);
  pthread_setname_np(m.thread.native_handle(), name.c_str());
}

void TcpWorker::stop() {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  m.io.stop();
  m.thread.join();
}

const query::QueryCounters& TcpWorker::query_counters() const { return impl_->processor.counters(); }
const TcpCounters& TcpWorker::counters() const { return impl_->counters; }

}  // namespace pharos::server
