#include "metrics/histogram.h"

#include <cstdio>
#include <string>

#include "metrics/prometheus.h"

namespace pharos::metrics {

size_t bucket_of(uint64_t us) {
  size_t i = 0;
  while (i < std::size(kBucketBoundsUs) && us > kBucketBoundsUs[i]) ++i;
  return i;
}

uint64_t HistogramValues::count() const {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

void HistogramValues::add(const HistogramValues& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets[i] += other.buckets[i];
  sum_us += other.sum_us;
}

HistogramValues Histogram::values() const {
  HistogramValues v;
  for (size_t i = 0; i < kBuckets; ++i) v.buckets[i] = buckets_[i].get();
  v.sum_us = sum_us_.get();
  return v;
}

void write_histogram(TextWriter& w, std::string_view name, std::string_view labels, const HistogramValues& v) {
  const std::string bucket = std::string(name) + "_bucket";
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    cumulative += v.buckets[i];
    std::string le;
    if (i < std::size(kBucketBoundsUs)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(kBucketBoundsUs[i]) / 1e6);
      le = buf;
    } else {
      le = "+Inf";
    }
    w.sample(bucket, prefix + "le=\"" + le + "\"", cumulative);
  }
  w.sample(std::string(name) + "_sum", labels, static_cast<double>(v.sum_us) / 1e6);
  w.sample(std::string(name) + "_count", labels, cumulative);
}

}  // namespace pharos::metrics
