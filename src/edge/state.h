// What the workers read: one immutable EdgeState per config generation (routes, pools, the
// certificate set, timeouts and limits), published together with the health engine's latest
// view. Members' live counters (requests in flight, passive-health failures) sit in
// MemberRuntime objects that outlive generations, keyed by address, and are shared by every
// worker through atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.h"
#include "edge/access_list.h"
#include "edge/cert_store.h"
#include "edge/router.h"
#include "health/health_view.h"
#include "metrics/counter.h"
#include "metrics/histogram.h"

namespace pharos::edge {

// The live state of one upstream address and way of reaching it (plain, TLS, PROXY protocol),
// shared by the pools that name it so and by every worker.
// What one worker counts of one member: its responses by status class, and the upstream latency
// (request written -> response head read). Written by that worker only.
struct MemberCounters {
  metrics::Counter status[5];  // 1xx .. 5xx
  metrics::Histogram latency;
};

struct MemberRuntime {
  std::string address;  // "127.0.0.1:8080"
  boost::asio::ip::tcp::endpoint endpoint;
  uint32_t upstream_id = 0;  // the index of its idle connections in every worker's pool
  uint64_t key = 0;          // ip_hash: a hash of the address

  std::atomic<int32_t> active{0};        // requests in flight to it (least_connections)
  std::atomic<uint32_t> fails{0};        // passive: failures in the current window
  std::atomic<int64_t> window_start{0};  // steady-clock ns when the window began
  std::atomic<int64_t> down_until{0};    // steady-clock ns; out until then (0: never was)
  // A block per edge worker (by Worker::id()), allocated with the runtime; summed on scrape.
  unsigned workers = 0;
  std::unique_ptr<MemberCounters[]> counters;

  bool passively_down(int64_t now_ns) const { return now_ns < down_until.load(std::memory_order_relaxed); }
};

struct PoolState {
  struct Member {
    std::shared_ptr<MemberRuntime> rt;
    unsigned weight = 1;
    int check = -1;  // check id in the health registry; -1: no active check
  };
  std::string name;
  config::Balance balance = config::Balance::RoundRobin;
  unsigned max_fails = 1;
  std::chrono::milliseconds fail_timeout{10000};
  std::vector<config::StatusRange> fail_status;
  bool websocket = true;
  config::EdgeUpstreamTls tls;   // tls.enabled: members are reached over TLS with tls_ctx
  SslCtxPtr tls_ctx;
  config::ProxyProtocol proxy_protocol = config::ProxyProtocol::Off;
  std::vector<Member> members;

  bool fails_on(unsigned status) const {
    for (const auto& r : fail_status) {
      if (status >= r.low && status <= r.high) return true;
    }
    return false;
  }
};

struct EdgeState {
  uint64_t registry = 0;  // the health registry the pools' check ids belong to
  config::EdgeConfig cfg;
  Router router;
  std::vector<PoolState> pools;
  std::shared_ptr<const CertSet> certs;
  AccessList access;      // edge.access, checked at accept
  uint32_t upstream_ids = 0;  // every MemberRuntime's upstream_id is below this
  uint16_t https_port = 0;    // where port 80 redirects to (0: no https listener; port 80 proxies)
};

// Whether a member passes its active check in `view` (no check: yes; a view of another
// registry, or a check still Unknown: no).
inline bool actively_up(const EdgeState& s, const PoolState::Member& m, const health::HealthView* view) {
  if (m.check < 0) return true;
  return view && view->registry == s.registry && view->check(static_cast<uint32_t>(m.check)) == health::Health::Healthy;
}

// The state and the health view, published to workers. Workers compare a generation (one
// atomic load per request) and take the pair under the mutex only when it moved.
class Publication {
 public:
  void publish_state(std::shared_ptr<const EdgeState> s);
  void publish_view(std::shared_ptr<const health::HealthView> v);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The current pair and its generation.
  uint64_t get(std::shared_ptr<const EdgeState>& s, std::shared_ptr<const health::HealthView>& v) const;
  std::shared_ptr<const EdgeState> state() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const EdgeState> state_;
  std::shared_ptr<const health::HealthView> view_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace pharos::edge
