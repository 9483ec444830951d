#include "testlib/exposition.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace pharos::test {

namespace {

bool includes(const std::map<std::string, std::string>& have, const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

// The family a sample belongs to: its own name, or a histogram's base name.
const MetricFamily* family_of(const std::map<std::string, MetricFamily>& families, const std::string& name) {
  if (auto it = families.find(name); it != families.end()) return &it->second;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto it = families.find(name.substr(0, name.size() - s.size()));
      if (it != families.end() && it->second.type == "histogram") return &it->second;
    }
  }
  return nullptr;
}

bool valid_name(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
                    (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

// Parses `{a="x",b="y"}` at text[pos]; advances pos past the brace. False when malformed.
bool parse_labels(const std::string& t, size_t& pos, std::map<std::string, std::string>& out) {
  ++pos;  // '{'
  while (pos < t.size() && t[pos] != '}') {
    size_t eq = t.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= t.size() || t[eq + 1] != '"') return false;
    std::string key = t.substr(pos, eq - pos);
    if (!valid_name(key)) return false;
    std::string value;
    size_t i = eq + 2;
    for (; i < t.size() && t[i] != '"'; ++i) {
      if (t[i] == '\\' && i + 1 < t.size()) {
        ++i;
        value += t[i] == 'n' ? '\n' : t[i];
      } else {
        value += t[i];
      }
    }
    if (i >= t.size()) return false;
    if (!out.emplace(key, value).second) return false;  // a label twice
    pos = i + 1;
    if (pos < t.size() && t[pos] == ',') ++pos;
  }
  if (pos >= t.size()) return false;
  ++pos;  // '}'
  return true;
}

}  // namespace

double Exposition::value(const std::string& name, const std::map<std::string, std::string>& labels) const {
  double sum = 0;
  if (const MetricFamily* f = family_of(families, name)) {
    for (const auto& s : f->samples)
      if (s.name == name && includes(s.labels, labels)) sum += s.value;
  }
  return sum;
}

bool Exposition::has(const std::string& name, const std::map<std::string, std::string>& labels) const {
  if (const MetricFamily* f = family_of(families, name)) {
    for (const auto& s : f->samples)
      if (s.name == name && includes(s.labels, labels)) return true;
  }
  return false;
}

Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  unsigned n = 0;
  auto error = [&](const std::string& why) { e.errors.push_back("line " + std::to_string(n) + ": " + why + ": " + line); };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool help = line[2] == 'H';
      const size_t sp = line.find(' ', 7);
      const std::string name = line.substr(7, sp == std::string::npos ? std::string::npos : sp - 7);
      const std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
      if (!valid_name(name)) {
        error("bad metric name");
        continue;
      }
      MetricFamily& f = e.families[name];
      f.name = name;
      if (help) {
        if (!f.help.empty()) error("HELP given twice");
        f.help = rest;
      } else {
        if (!f.type.empty()) error("TYPE given twice");
        if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" && rest != "untyped")
          error("unknown type");
        if (!f.samples.empty()) error("TYPE after samples");
        f.type = rest;
      }
      continue;
    }
    if (line[0] == '#') continue;
    MetricSample s;
    size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    s.name = line.substr(0, pos);
    if (!valid_name(s.name)) {
      error("bad metric name");
      continue;
    }
    if (pos < line.size() && line[pos] == '{' && !parse_labels(line, pos, s.labels)) {
      error("malformed labels");
      continue;
    }
    if (pos >= line.size() || line[pos] != ' ') {
      error("no value");
      continue;
    }
    const std::string value = line.substr(pos + 1);
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') {
      if (value == "+Inf") s.value = 1e308 * 10;
      else if (value == "-Inf") s.value = -1e308 * 10;
      else {
        error("bad value");
        continue;
      }
    }
    auto* f = const_cast<MetricFamily*>(family_of(e.families, s.name));
    if (!f) {
      error("sample before its HELP/TYPE");
      continue;
    }
    f->samples.push_back(std::move(s));
  }
  return e;
}

std::map<std::string, std::string> readme_metrics(const std::string& text, std::vector<std::string>& errors) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      in_section = line == "## Metrics";
      continue;
    }
    if (!in_section || line.rfind("- ", 0) != 0) continue;
    // "- `name` (type...".
    const size_t open = line.find('`');
    const size_t close = open == std::string::npos ? open : line.find('`', open + 1);
    const size_t paren = close == std::string::npos ? close : line.find(" (", close);
    if (open != 2 || close == std::string::npos || paren != close + 1) {
      errors.push_back("not a metric bullet: " + line);
      continue;
    }
    const size_t end = line.find_first_of(";)", paren + 2);
    if (end == std::string::npos) {
      errors.push_back("no type: " + line);
      continue;
    }
    const std::string name = line.substr(open + 1, close - open - 1);
    if (!out.emplace(name, line.substr(paren + 2, end - paren - 2)).second) errors.push_back("listed twice: " + name);
  }
  return out;
}

std::optional<HttpReply> http_get(uint16_t port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[16384];
      for (ssize_t got; (got = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(got));
    }
  }
  ::close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) return std::nullopt;
  HttpReply r;
  r.status = static_cast<unsigned>(std::atoi(raw.c_str() + 9));
  std::istringstream head(raw.substr(0, head_end));
  for (std::string h; std::getline(head, h);) {
    if (!h.empty() && h.back() == '\r') h.pop_back();
    const size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = h.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "content-type") r.content_type = h.substr(h.find_first_not_of(' ', colon + 1));
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

}  // namespace pharos::test
