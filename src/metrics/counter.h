// Per-worker counters. Each is written by one thread only (its worker), so an increment is a
// relaxed load and store, not a locked read-modify-write; a scrape sums the workers' copies.
#pragma once

#include <atomic>
#include <cstdint>

namespace pharos::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace pharos::metrics
