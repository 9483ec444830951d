// A UDP worker: one thread on one SO_REUSEPORT socket (a worker per core and listen address),
// batches of packets read with a blocking recvmmsg and answered with sendmmsg: two system calls
// per wake-up, none spent waiting in poll. Nothing on this path allocates or locks: buffers, the
// query engine and the snapshot reference all belong to the thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metrics/counter.h"
#include "query/processor.h"
#include "server/snapshot_store.h"

namespace pharos::server {

struct UdpSocket {
  int fd;
  bool ipv6;
  bool pktinfo;  // wildcard bind: reply from the address the query came to
};

struct UdpCounters {
  metrics::Counter batches;
  metrics::Counter oversized;    // a datagram larger than our receive buffer: dropped
  metrics::Counter send_errors;  // replies the kernel refused
};

class UdpWorker {
 public:
  static constexpr unsigned kBatch = 64;
  static constexpr size_t kRecvSize = 4096;  // DNS queries are small; larger ones are dropped

  // `slot`: the QueryProcessor's block in the snapshot's AnswerCounters (one per worker).
  UdpWorker(std::string name, UdpSocket socket, const SnapshotStore& store, unsigned slot = 0);
  ~UdpWorker();

  void start();
  void stop();  // returns once the thread has ended

  const query::QueryCounters& query_counters() const { return processor_->counters(); }
  const UdpCounters& counters() const { return counters_; }

 private:
  struct Batch;
  void run();
  void answer(unsigned received);
  void reset_headers(unsigned count);

  std::string name_;
  UdpSocket socket_;
  SnapshotReader snapshot_;
  std::unique_ptr<query::QueryProcessor> processor_;
  std::unique_ptr<Batch> batch_;
  UdpCounters counters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pharos::server
