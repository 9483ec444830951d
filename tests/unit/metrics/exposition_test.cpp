// The test library's exposition reader (tests/testlib/exposition.h), which the metrics
// integration test relies on: it reads what TextWriter writes, and refuses what is malformed.
#include "testlib/exposition.h"

#include <catch2/catch.hpp>

#include "metrics/histogram.h"
#include "metrics/prometheus.h"

using namespace pharos;

TEST_CASE("exposition: what TextWriter writes reads back, histograms by their base name", "[metrics]") {
  metrics::TextWriter w;
  w.family("pharos_a_total", "counter", "A.");
  w.sample("pharos_a_total", metrics::TextWriter::labels({{"k", "x\"y"}, {"z", "1"}}), uint64_t{3});
  w.sample("pharos_a_total", metrics::TextWriter::labels({{"k", "b"}}), uint64_t{4});
  metrics::HistogramValues v;
  v.observe(700);
  w.family("pharos_b_seconds", "histogram", "B.");
  metrics::write_histogram(w, "pharos_b_seconds", "", v);
  auto x = test::parse_exposition(w.text());
  CHECK(x.errors.empty());
  REQUIRE(x.families.size() == 2);
  CHECK(x.families.at("pharos_a_total").help == "A.");
  CHECK(x.families.at("pharos_a_total").type == "counter");
  CHECK(x.value("pharos_a_total") == 7);
  CHECK(x.value("pharos_a_total", {{"k", "x\"y"}}) == 3);
  CHECK_FALSE(x.has("pharos_a_total", {{"k", "c"}}));
  CHECK(x.value("pharos_b_seconds_count") == 1);
  CHECK(x.value("pharos_b_seconds_bucket", {{"le", "0.001"}}) == 1);
  CHECK(x.value("pharos_b_seconds_bucket", {{"le", "0.0005"}}) == 0);
}

TEST_CASE("exposition: malformed lines and samples outside a family are errors", "[metrics]") {
  CHECK(test::parse_exposition("pharos_x 1\n").errors.size() == 1);  // no HELP/TYPE
  CHECK(test::parse_exposition("# TYPE pharos_x gauge\npharos_x{a=1} 1\n").errors.size() == 1);
  CHECK(test::parse_exposition("# TYPE pharos_x gauge\npharos_x one\n").errors.size() == 1);
  CHECK(test::parse_exposition("# TYPE pharos_x gauge\n# TYPE pharos_x counter\n").errors.size() == 1);
  CHECK(test::parse_exposition("# TYPE pharos_x meter\n").errors.size() == 1);
  CHECK(test::parse_exposition("# TYPE pharos_x gauge\npharos_x_sum 1\n").errors.size() == 1);  // not a histogram
}

TEST_CASE("exposition: a README's metric bullets give names and types", "[metrics]") {
  std::vector<std::string> errors;
  auto m = test::readme_metrics("# x\n\n- `pharos_no` (gauge): not in the section\n\n## Metrics\n\n"
                                "- `pharos_a_total` (counter; labels: k): a.\n- `pharos_b` (gauge): b.\n"
                                "- pharos_c without backticks\n\n## Other\n\n- `pharos_d` (gauge): d.\n",
                                errors);
  CHECK(m == std::map<std::string, std::string>{{"pharos_a_total", "counter"}, {"pharos_b", "gauge"}});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "not a metric bullet: - pharos_c without backticks");
}
