// Publishing immutable snapshots to worker threads. A publish takes a mutex; a worker only reads
// an atomic generation per batch and takes the mutex when it changed, i.e. once per publish, so
// the query path is lock-free in the steady state. Old snapshots are retired here and freed on
// the control thread once no worker holds them, so a worker never pays for freeing a big zone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "query/snapshot.h"

namespace pharos::server {

class SnapshotStore {
 public:
  void publish(std::shared_ptr<query::Snapshot> s);
  std::shared_ptr<const query::Snapshot> current() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Frees retired snapshots that no reader holds any more; returns how many are still held.
  size_t collect();

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const query::Snapshot> current_;
  std::vector<std::shared_ptr<const query::Snapshot>> retired_;
  std::atomic<uint64_t> generation_{0};
};

// A worker's view: the snapshot it answers from, refreshed when the store's generation moves.
class SnapshotReader {
 public:
  explicit SnapshotReader(const SnapshotStore& store) : store_(store) {}
  const query::Snapshot& get() {
    uint64_t g = store_.generation();
    if (g != generation_) {
      current_ = store_.current();
      generation_ = g;
    }
    return *current_;
  }
  // Drops the reference, so an idle worker does not keep an old snapshot alive.
  void release() {
    current_.reset();
    generation_ = ~uint64_t{0};
  }

 private:
  const SnapshotStore& store_;
  uint64_t generation_ = ~uint64_t{0};
  std::shared_ptr<const query::Snapshot> current_;
};

}  // namespace pharos::server
