// Prometheus text exposition format (version 0.0.4), written into a string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pharos::metrics {

class TextWriter {
 public:
  // Starts a metric family: "# HELP" and "# TYPE" lines, once per family.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample; `labels` is the inside of the braces, already formatted (k="v",k2="v2"), or empty.
  void sample(std::string_view name, std::string_view labels, uint64_t value);
  void sample(std::string_view name, std::string_view labels, double value);

  const std::string& text() const { return out_; }

  // Escapes a label value (backslash, quote, newline).
  static std::string escape(std::string_view value);

 private:
  void line(std::string_view name, std::string_view labels, std::string_view value);

  std::string out_;
};

}  // namespace pharos::metrics
