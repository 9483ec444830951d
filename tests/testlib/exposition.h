// Reading Prometheus text exposition (version 0.0.4) and the metric lists of the folder
// READMEs, independently of src/metrics: what the metrics tests check pharos's output with.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pharos::test {

struct MetricSample {
  std::string name;  // as written: a histogram's samples end in _bucket, _sum, _count
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct MetricFamily {
  std::string name, help, type;
  std::vector<MetricSample> samples;
};

struct Exposition {
  std::map<std::string, MetricFamily> families;
  std::vector<std::string> errors;  // "line N: reason": malformed lines, samples outside their family, ...

  // The sum of the samples named `name` whose labels include `labels` (0 when none match).
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
  // Whether any sample named `name` has labels including `labels`.
  bool has(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

Exposition parse_exposition(const std::string& text);

// The metrics a README lists: in its "## Metrics" section, one bullet per metric, the name in
// backticks first, then its type in parentheses: "- `pharos_x_total` (counter; labels: a, b): ...".
// Returns name -> type; `errors` gets bullets that do not have that shape.
std::map<std::string, std::string> readme_metrics(const std::string& text, std::vector<std::string>& errors);

// GET `target` from 127.0.0.1:`port` over HTTP/1.0; the status and body, or nullopt on failure.
struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};
std::optional<HttpReply> http_get(uint16_t port, const std::string& target);

}  // namespace pharos::test
