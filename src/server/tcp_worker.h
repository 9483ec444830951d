// A TCP worker: one thread running an Asio io_context with its own SO_REUSEPORT listeners and a
// coroutine per connection. Queries are length-prefixed (RFC 1035 §4.2.2, RFC 7766); a client
// may pipeline several, all read in one go are answered in one write. A connection closes after
// `idle_timeout` without a complete query (which also ends half-open and slow connections).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "metrics/counter.h"
#include "query/processor.h"
#include "server/snapshot_store.h"

namespace pharos::server {

struct TcpLimits {
  std::chrono::milliseconds idle_timeout{10000};
  unsigned max_connections = 1000;  // across all TCP workers
};

struct TcpListener {
  int fd;
  bool ipv6;
};

struct TcpCounters {
  metrics::Counter accepted;
  metrics::Counter refused;    // over the connection cap
  metrics::Counter timeouts;   // closed for idleness
  metrics::Counter malformed;  // closed for a zero-length frame
};

class TcpWorker {
 public:
  TcpWorker(unsigned id, std::vector<TcpListener> listeners, const SnapshotStore& store, TcpLimits limits,
            std::atomic<unsigned>& open_connections, unsigned slot = 0);  // slot: QueryProcessor's
  ~TcpWorker();

  void start();
  void stop();

  const query::QueryCounters& query_counters() const;
  const TcpCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pharos::server
