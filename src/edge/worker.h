// An edge worker: one thread running one io_context with its own SO_REUSEPORT listeners (the
// kernel spreads connections over workers), a coroutine per client connection, and everything a
// request touches on its way: the state view, balancing cursors, the idle upstream connections,
// deadlines, counters, the access-log buffer and scratch buffers. Nothing here is shared with
// another worker except through Shared (atomics, and the publication's generation).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "edge/access_log.h"
#include "edge/balancer.h"
#include "edge/client_limits.h"
#include "edge/counters.h"
#include "edge/proxy.h"
#include "edge/state.h"
#include "edge/stream.h"
#include "edge/upstream.h"

namespace pharos::edge {

// What every worker shares with the server and the others.
struct Shared {
  Publication publication;
  std::atomic<bool> draining{false};  // the health endpoint fails
  std::atomic<bool> closing{false};   // no new connections; connections close after their request
  std::atomic<unsigned> open_connections{0};
  ClientLimiter limiter{std::random_device{}()};  // per-client connection counts and request buckets
  int access_fd = -1;
  std::shared_ptr<spdlog::logger> log;
};

// A worker's reading of the publication: the state, the view, and each member's active health.
struct WorkerView {
  std::shared_ptr<const EdgeState> state;
  std::shared_ptr<const health::HealthView> view;
  std::vector<std::vector<uint8_t>> active_up;  // [pool][member]
};

// A client connection, for drain: idle ones are closed at once, busy ones after their response.
struct ConnTrack {
  tcp::socket* socket = nullptr;
  bool idle = true;
  ConnTrack* prev = nullptr;
  ConnTrack* next = nullptr;
};

class Worker {
 public:
  Worker(unsigned id, Shared& shared, std::vector<int> https_fds, std::vector<int> http_fds);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Stops the loop and joins the thread; connections still open are dropped.
  void stop();
  // Drain, second step (posted to the worker): close the listeners and idle connections; busy
  // connections close after their response.
  void begin_close();
  unsigned open() const { return open_.load(std::memory_order_relaxed); }
  const EdgeCounters& counters() const { return counters_; }

  // ---- for the connection and proxy code, on the worker's thread ----
  asio::io_context& io() { return *io_; }
  Shared& shared() { return shared_; }
  // The current view, refreshed when the publication moved. Hold the pointer across awaits.
  const std::shared_ptr<const WorkerView>& view();
  PoolCursor& cursor(size_t pool) { return cursors_[pool]; }
  std::vector<MemberSlot>& slots() { return slots_; }
  UpstreamPool& upstreams() { return upstreams_; }
  DeadlineList& deadlines() { return deadlines_; }
  EdgeCounters& counters() { return counters_; }
  AccessLog& access() { return access_; }
  std::unique_ptr<Scratch> lease();
  void give_back(std::unique_ptr<Scratch> s);
  void track(ConnTrack& t);
  void untrack(ConnTrack& t);
  const std::shared_ptr<spdlog::logger>& log() const { return shared_.log; }
  unsigned id() const { return id_; }

 private:
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool https);
  void tick();
  void refresh();

  unsigned id_;
  Shared& shared_;
  // Destroyed by hand in ~Worker, before the members the connection coroutines use.
  std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>(1);
  std::vector<std::unique_ptr<tcp::acceptor>> https_;
  std::vector<std::unique_ptr<tcp::acceptor>> http_;
  std::unique_ptr<asio::steady_timer> ticker_ = std::make_unique<asio::steady_timer>(*io_);
  std::thread thread_;

  uint64_t generation_ = ~uint64_t{0};
  std::shared_ptr<const WorkerView> view_;
  std::vector<PoolCursor> cursors_;
  std::vector<MemberSlot> slots_;
  UpstreamPool upstreams_;
  DeadlineList deadlines_;
  EdgeCounters counters_;
  AccessLog access_;
  std::vector<std::unique_ptr<Scratch>> scratch_;
  ConnTrack* conns_ = nullptr;
  std::atomic<unsigned> open_{0};
  bool closing_ = false;
};

// A client connection's place in the per-client limits.
struct ClientSlot {
  ClientKey key;
  bool counted = false;  // counted against limits.client_connections: uncount when it closes
};

// Where an accepted connection comes from and where it connected to, as accept() and the
// listener know them (no getpeername or getsockname per connection).
struct Ends {
  tcp::endpoint peer;
  tcp::endpoint local;
};

// The connection coroutines (http1.cpp).
asio::awaitable<void> serve_https(Worker& w, tcp::socket socket, Ends ends, ClientSlot slot);
asio::awaitable<void> serve_http(Worker& w, tcp::socket socket, Ends ends, ClientSlot slot);

}  // namespace pharos::edge
