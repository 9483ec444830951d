// A small fixed-bucket latency histogram. `Histogram` is written by one thread (its counters, like
// Counter, cost a relaxed load and store) and read by any; `HistogramValues` is a plain copy of
// one, which a scrape sums over workers and writes as a Prometheus histogram (in seconds).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/counter.h"

namespace pharos::metrics {

class TextWriter;

// Upper bounds of the buckets, in microseconds (0.5 ms .. 10 s); one more bucket holds the rest.
inline constexpr uint64_t kBucketBoundsUs[] = {500,    1000,   2500,    5000,    10000,   25000,   50000,
                                               100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr size_t kBuckets = std::size(kBucketBoundsUs) + 1;

// The bucket a duration falls in (the last one: above every bound).
size_t bucket_of(uint64_t us);

struct HistogramValues {
  std::array<uint64_t, kBuckets> buckets{};  // per bucket, not cumulative
  uint64_t sum_us = 0;

  void observe(uint64_t us) {
    ++buckets[bucket_of(us)];
    sum_us += us;
  }
  uint64_t count() const;
  void add(const HistogramValues& other);
};

class Histogram {
 public:
  void observe(uint64_t us) {
    buckets_[bucket_of(us)].inc();
    sum_us_.inc(us);
  }
  HistogramValues values() const;

 private:
  std::array<Counter, kBuckets> buckets_;
  Counter sum_us_;
};

// Writes `v` as the samples of histogram family `name` (the family line is the caller's):
// name_bucket{labels,le="..."} cumulative, name_sum in seconds, name_count.
void write_histogram(TextWriter& w, std::string_view name, std::string_view labels, const HistogramValues& v);

}  // namespace pharos::metrics
