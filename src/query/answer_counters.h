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
  AnswerCounters(size_t members, size_t records, unsigned slots)
      : members_(members), stride_(members + records), slots_(slots ? slots : 1),
        counters_(std::make_unique<metrics::Counter[]>(stride_ * slots_)) {}

  // Worker `slot`'s block: [members][records' fallbacks]. A slot past the end shares the last.
  metrics::Counter* block(unsigned slot) { return counters_.get() + stride_ * (slot < slots_ ? slot : slots_ - 1); }
  size_t fallback_index(uint32_t record) const { return members_ + record; }

  // Summed over the workers.
  uint64_t member(uint32_t id) const { return sum(id); }
  uint64_t fallback(uint32_t record) const { return sum(members_ + record); }
  size_t members() const { return members_; }
  size_t records() const { return stride_ - members_; }

 private:
  uint64_t sum(size_t i) const {
    uint64_t n = 0;
    for (unsigned s = 0; s < slots_; ++s) n += counters_[stride_ * s + i].get();
    return n;
  }

  size_t members_;
  size_t stride_;
  unsigned slots_;
  std::unique_ptr<metrics::Counter[]> counters_;
};

}  // namespace pharos::query
