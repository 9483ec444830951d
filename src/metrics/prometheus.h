// Prometheus text exposition format (version 0.0.4), written into a string.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace pharos::metrics {

class TextWriter {
 public:
  // Starts a metric family: "# HELP" and "# TYPE" lines, once per family.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample; `labels` is the inside of the braces, already formatted (k="v",k2="v2"), or empty.
  void sample(std::string_view name, std::string_view labels, uint64_t value);
  void sample(std::string_view name, std::string_view labels, double value);

  // A family with one unlabelled counter sample.
  void counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", help);
    sample(name, "", value);
  }

  const std::string& text() const { return out_; }

  // Escapes a label value (backslash, quote, newline).
  static std::string escape(std::string_view value);
  // The inside of a label set: k="v" pairs joined by commas, values escaped.
  static std::string labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);

 private:
  void line(std::string_view name, std::string_view labels, std::string_view value);

  std::string out_;
};

}  // namespace pharos::metrics
