#include "metrics/prometheus.h"

#include <cstdio>

namespace pharos::metrics {

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void TextWriter::line(std::string_view name, std::string_view labels, std::string_view value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    out_ += labels;
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void TextWriter::sample(std::string_view name, std::string_view labels, uint64_t value) {
  line(name, labels, std::to_string(value));
}

void TextWriter::sample(std::string_view name, std::string_view labels, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  line(name, labels, buf);
}

std::string TextWriter::escape(std::string_view value) {
  std::string s;
  s.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      s += '\\';
      s += c;
    } else if (c == '\n') {
      s += "\\n";
    } else {
      s += c;
    }
  }
  return s;
}

std::string TextWriter::labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  std::string s;
  for (const auto& [k, v] : pairs) {
    if (!s.empty()) s += ',';
    s += k;
    s += "=\"";
    s += escape(v);
    s += '"';
  }
  return s;
}

}  // namespace pharos::metrics
