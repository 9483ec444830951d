// The config loader's internals, shared by config.cpp (server, zones, log) and
// health_config.cpp (health_checks, records, control). Not for use outside src/config.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace pharos::config::detail {


namespace fs = std::filesystem;

// Thrown inside the loader and turned into a Result at the top; the parsing code stays linear.
struct LoadError {
  Error error;
};

inline constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

inline constexpr unsigned kMaxWorkers = 1024;
inline constexpr size_t kMaxTxtString = 255;  // identity and version are answered as one TXT string

// yaml-cpp marks are 0-based; a node without a position (empty document) has line -1.
inline unsigned line_of(const YAML::Node& node) {
  int line = node.Mark().line;
  return line < 0 ? 0u : static_cast<unsigned>(line) + 1u;
}

inline std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// How a node looks, for "expected X, got Y".
inline std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

inline std::string join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// One key of a mapping. An empty value ("key:") is a null node whose mark points past the key,
// so messages about the value use the key's line in that case.
struct Entry {
  std::string name;
  YAML::Node key;
  YAML::Node value;
  unsigned key_line = 0;
  unsigned value_line = 0;
};

// "10.0.0.0/8", "2001:db8::/32" (host bits zero); `why` says what is wrong.
bool parse_prefix(const std::string& s, Prefix& out, std::string& why);

// "200", "200-399" (100..599).
bool parse_status_range(const std::string& s, StatusRange& out);

class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)), base_(fs::path(path_).parent_path()) {}

  Config load(const YAML::Node& root);

 private:
  [[noreturn]] void fail(unsigned line, const std::string& reason) const {
    throw LoadError{error_at(path_, line, reason)};
  }

  // The keys of a mapping, checked against `known`; `where` is "in server", "at top level", ...
  std::vector<Entry> entries(const YAML::Node& map, const std::string& where,
                             std::initializer_list<std::string_view> known) const;
  // The items of a mapping of user-chosen names (checks, pools): each name a string, none twice.
  // `field` is the section ("health_checks", "edge.pools"), `noun` what an item is ("check").
  std::vector<Entry> named_entries(const YAML::Node& map, const std::string& field, const std::string& noun) const;

  uint64_t get_unsigned(const Entry& e, const std::string& field, uint64_t min, uint64_t max) const;
  bool get_bool(const Entry& e, const std::string& field) const;
  std::string get_string(const Entry& e, const std::string& field, bool allow_null) const;

  fs::path resolve(const std::string& text) const;

  void load_server(const Entry& section, ServerConfig& out) const;
  void load_listen(const Entry& e, std::vector<ListenAddress>& out) const;
  void load_zones(const Entry& section, Config& out) const;
  void load_log(const Entry& section, LogConfig& out) const;

  // health_checks, records, control (health_config.cpp).
  std::chrono::milliseconds get_duration(const Entry& e, const std::string& field, bool allow_zero) const;
  void load_health_checks(const Entry& section, std::vector<HealthCheck>& out) const;
  HealthCheck load_health_check(const Entry& e) const;
  void load_records(const Entry& section, std::vector<PolicyRecord>& out) const;
  PolicyRecord load_record(const YAML::Node& item, const std::string& where) const;
  std::vector<PolicyMember> load_members(const Entry& e, const std::string& field, const PolicyRecord& r) const;
  std::vector<CidrGroup> load_groups(const Entry& e, const std::string& field, const PolicyRecord& r) const;
  void check_value(const PolicyRecord& r, const std::string& value, unsigned line, const std::string& field) const;
  void load_control(const Entry& section, ControlConfig& out) const;
  void load_metrics(const Entry& section, MetricsConfig& out) const;
  void cross_check(Config& c) const;

  // edge (edge_config.cpp).
  void load_edge(const Entry& section, EdgeConfig& out) const;
  void load_addresses(const Entry& e, const std::string& field, uint16_t default_port,
                      std::vector<ListenAddress>& out) const;
  void load_certificates(const Entry& e, std::vector<EdgeCertificate>& out) const;
  void load_routes(const Entry& e, std::vector<EdgeRoute>& out) const;
  void load_pools(const Entry& e, std::vector<EdgePool>& out) const;
  EdgePool load_pool(const Entry& e) const;
  EdgeUpstreamTls load_upstream_tls(const Entry& e, const std::string& field) const;
  void load_access(const Entry& e, EdgeAccess& out) const;
  uint64_t get_size(const Entry& e, const std::string& field, uint64_t min, uint64_t max) const;
  void cross_check_edge(Config& c) const;

  std::string path_;
  fs::path base_;
};

}  // namespace pharos::config::detail
