// Policy answers counted by member: for one PolicySet, a block of counters per query worker
// (slot), each with a counter per member and one per record for its fallback values. Allocated
// when the set is published (off the query path); a worker only writes its own block, so an
// answer costs a relaxed load and store per value, no lock. A scrape sums the blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "metrics/counter.h"

namespace pharos::query {

class AnswerCounters {
 public:
  // Each block starts on a cache line of its own, so that two workers never write the same line.
  AnswerCounters(size_t members, size_t records, unsigned slots)
      : members_(members), records_(records), stride_((members + records + kPerLine - 1) / kPerLine * kPerLine),
        slots_(slots ? slots : 1), storage_(std::make_unique<metrics::Counter[]>(stride_ * slots_ + kPerLine - 1)) {
    const auto at = reinterpret_cast<uintptr_t>(storage_.get());
    counters_ = storage_.get() + (kLine - at % kLine) % kLine / sizeof(metrics::Counter);
  }

  // Worker `slot`'s block: [members][records' fallbacks]. A slot past the end shares the last.
  metrics::Counter* block(unsigned slot) { return counters_ + stride_ * (slot < slots_ ? slot : slots_ - 1); }
  size_t fallback_index(uint32_t record) const { return members_ + record; }

  // Summed over the workers.
  uint64_t member(uint32_t id) const { return sum(id); }
  uint64_t fallback(uint32_t record) const { return sum(members_ + record); }
  size_t members() const { return members_; }
  size_t records() const { return records_; }

 private:
  uint64_t sum(size_t i) const {
    uint64_t n = 0;
    for (unsigned s = 0; s < slots_; ++s) n += counters_[stride_ * s + i].get();
    return n;
  }

  static constexpr size_t kLine = 64;
  static constexpr size_t kPerLine = kLine / sizeof(metrics::Counter);

  size_t members_;
  size_t records_;
  size_t stride_;  // counters per block, a whole number of cache lines
  unsigned slots_;
  std::unique_ptr<metrics::Counter[]> storage_;
  metrics::Counter* counters_;  // storage_ moved up to a cache line

};

}  // namespace pharos::query
