#include "metrics/histogram.h"

#include <catch2/catch.hpp>

#include "metrics/prometheus.h"

using namespace pharos::metrics;

TEST_CASE("histogram: a duration falls in the first bucket whose bound holds it", "[metrics]") {
  CHECK(bucket_of(0) == 0);
  CHECK(bucket_of(500) == 0);  // bounds are inclusive (le)
  CHECK(bucket_of(501) == 1);
  CHECK(bucket_of(10000000) == kBuckets - 2);
  CHECK(bucket_of(10000001) == kBuckets - 1);
}

TEST_CASE("histogram: values copy the counts and sum, and add over workers", "[metrics]") {
  Histogram a, b;
  a.observe(200);
  a.observe(3000);
  b.observe(20000000);
  HistogramValues v = a.values();
  CHECK(v.count() == 2);
  CHECK(v.sum_us == 3200);
  CHECK(v.buckets[0] == 1);
  CHECK(v.buckets[bucket_of(3000)] == 1);
  v.add(b.values());
  CHECK(v.count() == 3);
  CHECK(v.buckets[kBuckets - 1] == 1);
  CHECK(v.sum_us == 20003200);
}

TEST_CASE("histogram: written as cumulative buckets in seconds, with sum and count", "[metrics]") {
  HistogramValues v;
  v.observe(500000);
  v.observe(1500000);
  v.observe(60000000);
  TextWriter w;
  w.family("pharos_test_duration_seconds", "histogram", "A test.");
  write_histogram(w, "pharos_test_duration_seconds", R"(check="a")", v);
  const std::string& t = w.text();
  CHECK(t.find("pharos_test_duration_seconds_bucket{check=\"a\",le=\"0.25\"} 0\n") != std::string::npos);
  CHECK(t.find("pharos_test_duration_seconds_bucket{check=\"a\",le=\"0.5\"} 1\n") != std::string::npos);
  CHECK(t.find("pharos_test_duration_seconds_bucket{check=\"a\",le=\"2.5\"} 2\n") != std::string::npos);
  CHECK(t.find("pharos_test_duration_seconds_bucket{check=\"a\",le=\"10\"} 2\n") != std::string::npos);
  CHECK(t.find("pharos_test_duration_seconds_bucket{check=\"a\",le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(t.find("pharos_test_duration_seconds_sum{check=\"a\"} 62\n") != std::string::npos);
  CHECK(t.find("pharos_test_duration_seconds_count{check=\"a\"} 3\n") != std::string::npos);
}

TEST_CASE("text writer: families carry HELP and TYPE, label values are escaped", "[metrics]") {
  TextWriter w;
  w.family("pharos_x_total", "counter", "Things.");
  w.sample("pharos_x_total", TextWriter::labels({{"a", "q\"b\\c\nd"}, {"z", "1"}}), uint64_t{7});
  w.sample("pharos_x_total", "", 0.5);
  CHECK(w.text() ==
        "# HELP pharos_x_total Things.\n# TYPE pharos_x_total counter\n"
        "pharos_x_total{a=\"q\\\"b\\\\c\\nd\",z=\"1\"} 7\npharos_x_total 0.5\n");
}
