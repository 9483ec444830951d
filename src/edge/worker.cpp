#include "edge/worker.h"

#include <pthread.h>

#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pharos::edge {

namespace {
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kMaxTick{100};
constexpr std::chrono::milliseconds kMinTick{10};

// The tick: often enough for the shortest timeout to be kept within a quarter of itself.
std::chrono::milliseconds tick_of(const config::EdgeConfig& c) {
  auto t = kMaxTick;
  for (auto d : {c.timeouts.client_header, c.timeouts.client_body, c.timeouts.client_idle, c.timeouts.client_send,
                 c.timeouts.upstream_connect, c.timeouts.upstream_response}) {
    t = std::min(t, std::max(kMinTick, d / 4));
  }
  return t;
}
}  // namespace

Worker::Worker(unsigned id, Shared& shared, std::vector<int> https_fds, std::vector<int> http_fds)
    : id_(id), shared_(shared), access_(shared.access_fd) {
  for (int fd : https_fds) {
    const bool v6 = [&] {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      return ss.ss_family == AF_INET6;
    }();
    https_.push_back(std::make_unique<tcp::acceptor>(*io_, v6 ? tcp::v6() : tcp::v4(), fd));
  }
  for (int fd : http_fds) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    http_.push_back(std::make_unique<tcp::acceptor>(*io_, ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd));
  }
  slots_.reserve(256);
}

Worker::~Worker() {
  stop();
  // Close what the coroutines do not own, then destroy the loop with them while everything
  // their destructors touch still exists.
  upstreams_.clear();
  https_.clear();
  http_.clear();
  ticker_.reset();
  io_.reset();
}

void Worker::start() {
  refresh();
  for (auto& a : https_) asio::co_spawn(*io_, accept_loop(*a, true), asio::detached);
  for (auto& a : http_) asio::co_spawn(*io_, accept_loop(*a, false), asio::detached);
  tick();
  thread_ = std::thread([this] {
    const std::string name = "pharos-edge-" + std::to_string(id_);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    io_->run();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  io_->stop();
  thread_.join();
  access_.flush();
}

void Worker::begin_close() {
  asio::post(*io_, [this] {
    closing_ = true;
    error_code ignored;
    for (auto& a : https_) a->close(ignored);
    for (auto& a : http_) a->close(ignored);
    for (ConnTrack* t = conns_; t; t = t->next) {
      if (t->idle && t->socket) t->socket->cancel(ignored);
    }
  });
}

const std::shared_ptr<const WorkerView>& Worker::view() {
  if (shared_.publication.generation() != generation_) refresh();
  return view_;
}

void Worker::refresh() {
  auto v = std::make_shared<WorkerView>();
  generation_ = shared_.publication.get(v->state, v->view);
  if (!v->state) {
    view_ = std::move(v);
    return;
  }
  const EdgeState& s = *v->state;
  v->active_up.resize(s.pools.size());
  for (size_t p = 0; p < s.pools.size(); ++p) {
    const auto& members = s.pools[p].members;
    v->active_up[p].resize(members.size());
    for (size_t m = 0; m < members.size(); ++m) v->active_up[p][m] = actively_up(s, members[m], v->view.get()) ? 1 : 0;
  }
  // Cursors belong to a pool layout; a new state starts them again.
  if (!view_ || view_->state != v->state) cursors_.assign(s.pools.size(), PoolCursor{});
  view_ = std::move(v);
}

std::unique_ptr<Scratch> Worker::lease() {
  if (scratch_.empty()) return std::make_unique<Scratch>();
  auto s = std::move(scratch_.back());
  scratch_.pop_back();
  return s;
}

void Worker::give_back(std::unique_ptr<Scratch> s) {
  if (scratch_.size() < 64) scratch_.push_back(std::move(s));
}

void Worker::track(ConnTrack& t) {
  t.prev = nullptr;
  t.next = conns_;
  if (conns_) conns_->prev = &t;
  conns_ = &t;
  open_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::untrack(ConnTrack& t) {
  if (t.prev) t.prev->next = t.next;
  else if (conns_ == &t) conns_ = t.next;
  if (t.next) t.next->prev = t.prev;
  t.prev = t.next = nullptr;
  open_.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::tick() {
  const auto now = SteadyClock::now();
  deadlines_.expire(now);
  const auto& v = view();
  auto period = kMaxTick;
  if (v && v->state) {
    upstreams_.reap(now, v->state->cfg.timeouts.upstream_idle);
    period = tick_of(v->state->cfg);
  }
  access_.flush();
  ticker_->expires_after(period);
  ticker_->async_wait([this](error_code ec) {
    if (!ec) tick();
  });
}

asio::awaitable<void> Worker::accept_loop(tcp::acceptor& acceptor, bool https) {
  asio::steady_timer backoff(*io_);
  // The local end of every connection is the listener's, unless it listens on a wildcard address:
  // then it is asked for per connection (the PROXY protocol's destination needs it).
  Ends ends;
  error_code ignored;
  ends.local = acceptor.local_endpoint(ignored);
  const bool wildcard = ignored || ends.local.address().is_unspecified();
  for (;;) {
    // accept() gives the peer's address: no getpeername().
    auto [ec, socket] = co_await acceptor.async_accept(ends.peer, kUse);
    if (closing_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
    if (ec) {
      log()->warn("edge: accept: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kUse);
      continue;
    }
    const auto& v = view();
    if (!v || !v->state) continue;
    const config::EdgeLimits& limits = v->state->cfg.limits;
    // Who may connect, then the caps: everyone's, then this address's. Refused connections are
    // closed before TLS.
    const auto remote = ends.peer.address();
    if (!v->state->access.empty() && !v->state->access.allowed(remote)) {
      counters_.inc(Stat::AccessDenied);
      socket.close(ignored);
      continue;
    }
    if (shared_.open_connections.fetch_add(1, std::memory_order_relaxed) >= limits.max_connections) {
      shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
      counters_.inc(Stat::ConnectionsRefused);
      socket.close(ignored);
      continue;
    }
    ClientSlot slot;  // its key always: a reload may turn the rate limit on for open connections
    slot.key = shared_.limiter.key_of(remote, limits.client_ipv6_prefix);
    if (limits.client_connections) {
      if (!shared_.limiter.open(slot.key, limits.client_connections)) {
        shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
        counters_.inc(Stat::ClientConnectionsRefused);
        socket.close(ignored);
        continue;
      }
      slot.counted = true;
    }
    counters_.inc(Stat::Connections);
    socket.set_option(tcp::no_delay(true), ignored);
    Ends these = ends;
    if (wildcard) these.local = socket.local_endpoint(ignored);
    if (https) {
      asio::co_spawn(*io_, serve_https(*this, std::move(socket), these, slot), asio::detached);
    } else {
      asio::co_spawn(*io_, serve_http(*this, std::move(socket), these, slot), asio::detached);
    }
  }
}

}  // namespace pharos::edge
