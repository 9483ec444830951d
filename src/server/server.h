// The DNS listeners: for each worker, a UDP thread and a TCP thread, each with its own
// SO_REUSEPORT socket per listen address. Workers answer from the SnapshotStore; the server
// itself never touches zones.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "metrics/prometheus.h"
#include "server/snapshot_store.h"
#include "server/sockets.h"
#include "server/tcp_worker.h"
#include "server/udp_worker.h"

namespace pharos::server {

class Server {
 public:
  Server(const config::ServerConfig& cfg, const SnapshotStore& store);

  // How many query workers (UDP and TCP threads) `cfg` makes: the slots of AnswerCounters.
  static unsigned query_slots(const config::ServerConfig& cfg);
  // The DNS and worker metrics (pharos_dns_*, pharos_server_udp_*, pharos_server_tcp_*), summed
  // over the workers. Any thread.
  void write_metrics(metrics::TextWriter& w) const;
  ~Server();

  // Opens every socket, then starts the workers. Nothing is started if a socket cannot be opened.
  Result<void> start();
  void stop();

  // The addresses actually bound (port 0 resolved), e.g. "127.0.0.1:53".
  std::vector<std::string> addresses() const;
  unsigned workers() const { return workers_; }
  unsigned open_tcp_connections() const { return open_tcp_.load(std::memory_order_relaxed); }

  // Queries answered so far (every worker, both transports), for the status page's rate. Any
  // thread.
  uint64_t queries() const;

 private:
  config::ServerConfig cfg_;
  const SnapshotStore& store_;
  unsigned workers_;
  std::vector<ListenSockets> sockets_;
  // The control thread reads the workers' counters (queries(), write_metrics()) while start()
  // and stop() may be filling or emptying these lists on the main thread: this guards the lists
  // (never taken by the workers, so the query path does not lock).
  mutable std::mutex workers_mutex_;
  std::vector<std::unique_ptr<UdpWorker>> udp_;
  std::vector<std::unique_ptr<TcpWorker>> tcp_;
  std::atomic<unsigned> open_tcp_{0};
};

}  // namespace pharos::server
