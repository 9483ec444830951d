#include "config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "config/loader.h"
#include "dns/name.h"

namespace pharos::config {

namespace detail {

// One key of a mapping with the lines its messages name.
Entry entry_of(const YAML::Node& key, const YAML::Node& value) {
  Entry e;
  e.key = key;
  e.value = value;
  e.key_line = line_of(e.key);
  e.value_line = e.value.IsNull() ? e.key_line : line_of(e.value);
  return e;
}

std::vector<Entry> Loader::entries(const YAML::Node& map, const std::string& where,
                                   std::initializer_list<std::string_view> known) const {
  std::vector<Entry> out;
  std::map<std::string, unsigned> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    Entry e = entry_of(it->first, it->second);
    if (!e.key.IsScalar()) fail(e.key_line, "expected a string key " + where + ", got " + describe(e.key));
    e.name = e.key.Scalar();
    if (std::find(known.begin(), known.end(), e.name) == known.end()) {
      fail(e.key_line, "unknown key " + quote(e.name) + " " + where + " (known: " + join(known) + ")");
    }
    auto [pos, inserted] = seen.emplace(e.name, e.key_line);
    if (!inserted) {
      fail(e.key_line,
           "duplicate key " + quote(e.name) + " " + where + " (first at line " + std::to_string(pos->second) + ")");
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Entry> Loader::named_entries(const YAML::Node& map, const std::string& field,
                                         const std::string& noun) const {
  std::vector<Entry> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    Entry e = entry_of(it->first, it->second);
    if (!e.key.IsScalar()) fail(e.key_line, field + ": expected a " + noun + " name, got " + describe(e.key));
    e.name = e.key.Scalar();
    for (const Entry& first : out) {
      if (first.name == e.name) {
        fail(e.key_line, field + ": duplicate " + noun + " " + quote(e.name) + " (first at line " +
                             std::to_string(first.key_line) + ")");
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

uint64_t Loader::get_unsigned(const Entry& e, const std::string& field, uint64_t min, uint64_t max) const {
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  if (!e.value.IsScalar()) fail(e.value_line, field + ": expected an unsigned integer, got " + describe(e.value));
  const std::string& s = e.value.Scalar();
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail(e.value_line, field + ": expected an unsigned integer, got " + quote(s));
  }
  uint64_t v = 0;
  for (char c : s) {
    unsigned d = static_cast<unsigned>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) fail(e.value_line, field + ": " + s + " is out of range " + range);
    v = v * 10 + d;
  }
  if (v < min || v > max) fail(e.value_line, field + ": " + s + " is out of range " + range);
  return v;
}

bool Loader::get_bool(const Entry& e, const std::string& field) const {
  if (e.value.IsScalar()) {
    std::string s = e.value.Scalar();
    std::transform(s.begin(), s.end(), s.begin(), [](char c) { return static_cast<char>(dns::to_lower(static_cast<uint8_t>(c))); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  fail(e.value_line, field + ": expected true or false, got " + describe(e.value));
}

std::string Loader::get_string(const Entry& e, const std::string& field, bool allow_null) const {
  if (e.value.IsScalar()) return e.value.Scalar();
  if (allow_null && e.value.IsNull()) return {};
  fail(e.value_line, field + ": expected a string, got " + describe(e.value));
}

// Relative paths are relative to the config file's directory.
fs::path Loader::resolve(const std::string& text) const {
  fs::path p = (base_ / fs::path(text)).lexically_normal();
  // "zones/" and "zones" are the same directory; drop the trailing separator.
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  if (p.empty()) p = ".";
  return p;
}

void Loader::load_listen(const Entry& e, std::vector<ListenAddress>& out) const {
  if (!e.value.IsSequence()) {
    fail(e.value_line, "server.listen: expected a list of \"address:port\" strings, got " + describe(e.value));
  }
  if (e.value.size() == 0) fail(e.value_line, "server.listen: must list at least one address");
  std::vector<unsigned> lines;
  size_t i = 0;
  for (const YAML::Node& item : e.value) {
    const std::string field = "server.listen[" + std::to_string(i++) + "]";
    const unsigned line = line_of(item) ? line_of(item) : e.value_line;
    if (!item.IsScalar()) {
      fail(line, field + ": expected a string \"address:port\", got " + describe(item) +
                     " (quote IPv6 addresses: \"[::1]:53\")");
    }
    ListenAddress a;
    if (!parse_listen_address(item.Scalar(), 53, a)) {
      fail(line, field + ": invalid listen address " + quote(item.Scalar()) +
                     " (expected a numeric IPv4 \"a.b.c.d[:port]\" or IPv6 \"[addr]:port\" or \"addr\")");
    }
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].address == a.address && out[j].port == a.port) {
        fail(line, field + ": duplicate listen address " + a.to_string() + " (first at line " +
                       std::to_string(lines[j]) + ")");
      }
    }
    out.push_back(std::move(a));
    lines.push_back(line);
  }
}

void Loader::load_server(const Entry& section, ServerConfig& out) const {
  bool have_listen = false;
  if (!section.value.IsNull()) {
    if (!section.value.IsMap()) fail(section.value_line, "server: expected a mapping, got " + describe(section.value));
    for (const Entry& e : entries(section.value, "in server",
                                  {"listen", "workers", "udp_payload_max", "tcp_idle_timeout", "tcp_max_connections",
                                   "any_full_over_tcp", "identity", "version"})) {
      const std::string field = "server." + e.name;
      if (e.name == "listen") {
        load_listen(e, out.listen);
        have_listen = true;
      } else if (e.name == "workers") {
        out.workers = static_cast<unsigned>(get_unsigned(e, field, 0, kMaxWorkers));
      } else if (e.name == "udp_payload_max") {
        out.udp_payload_max = static_cast<uint16_t>(get_unsigned(e, field, 512, 65535));
      } else if (e.name == "tcp_idle_timeout") {
        if (!e.value.IsScalar()) {
          fail(e.value_line, field + ": expected a duration such as 500ms, 10s, 2m or 1h, got " + describe(e.value));
        }
        std::chrono::milliseconds d{};
        if (!parse_duration(e.value.Scalar(), d)) {
          fail(e.value_line, field + ": invalid duration " + quote(e.value.Scalar()) +
                                 " (expected e.g. 500ms, 10s, 2m, 1h, or a number of seconds)");
        }
        if (d.count() == 0) fail(e.value_line, field + ": must be greater than 0");
        out.tcp_idle_timeout = d;
      } else if (e.name == "tcp_max_connections") {
        out.tcp_max_connections =
            static_cast<unsigned>(get_unsigned(e, field, 1, std::numeric_limits<unsigned>::max()));
      } else if (e.name == "any_full_over_tcp") {
        out.any_full_over_tcp = get_bool(e, field);
      } else {  // identity, version
        std::string s = get_string(e, field, true);
        if (s.size() > kMaxTxtString) {
          fail(e.value_line, field + ": longer than " + std::to_string(kMaxTxtString) + " bytes");
        }
        (e.name == "identity" ? out.identity : out.version) = std::move(s);
      }
    }
  }
  if (!have_listen) {
    out.listen.clear();
    out.listen.push_back(ListenAddress{"127.0.0.1", 53});
    out.listen.push_back(ListenAddress{"::1", 53});
  }
}

void Loader::load_zones(const Entry& section, Config& out) const {
  if (section.value.IsNull()) return;
  if (!section.value.IsSequence()) fail(section.value_line, "zones: expected a list, got " + describe(section.value));

  struct Seen {
    std::string file;  // for directory zones, the file the origin came from
    unsigned line;
  };
  std::map<std::string, Seen> explicit_origins;   // origin -> line of its "origin" value
  std::map<std::string, Seen> directory_origins;  // origin -> file and line of its directory entry
  std::map<std::string, unsigned> directories;    // resolved directory -> line
  std::vector<ZoneConfig> from_directories;

  size_t index = 0;
  for (const YAML::Node& item : section.value) {
    const std::string where = "zones[" + std::to_string(index++) + "]";
    // An empty item ("-") is a null node marked at the next token; close enough for a message.
    const unsigned line = line_of(item) ? line_of(item) : section.value_line;
    if (!item.IsMap()) {
      fail(line, where + ": expected a mapping with \"origin\" and \"file\", or \"directory\", got " + describe(item));
    }
    const Entry* origin = nullptr;
    const Entry* file = nullptr;
    const Entry* directory = nullptr;
    const std::vector<Entry> es = entries(item, "in " + where, {"origin", "file", "directory"});
    for (const Entry& e : es) {
      if (e.name == "origin") origin = &e;
      if (e.name == "file") file = &e;
      if (e.name == "directory") directory = &e;
    }

    if (directory) {
      if (origin || file) {
        fail((origin ? origin : file)->key_line, where + ": \"directory\" cannot be combined with \"origin\" or \"file\"");
      }
      const std::string text = get_string(*directory, where + ".directory", false);
      if (text.empty()) fail(directory->value_line, where + ".directory: must not be empty");
      const fs::path dir = resolve(text);
      auto [pos, inserted] = directories.emplace(dir.string(), directory->value_line);
      if (!inserted) {
        fail(directory->value_line, where + ": duplicate directory " + quote(dir.string()) + " (first at line " +
                                        std::to_string(pos->second) + ")");
      }

      // Collect names first and sort them, so that results and messages do not depend on the
      // order the file system lists entries in.
      std::vector<std::string> names;
      std::error_code ec;
      fs::directory_iterator it(dir, ec);
      for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec)) continue;  // follows symlinks; broken links are skipped
        names.push_back(it->path().filename().string());
      }
      if (ec) {
        fail(directory->value_line, where + ": cannot read directory " + quote(dir.string()) + ": " + ec.message());
      }
      std::sort(names.begin(), names.end());

      constexpr std::string_view kSuffix = ".zone";
      for (const std::string& name : names) {
        if (name.front() == '.' || name.back() == '~') continue;  // hidden files, editor backups
        if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) continue;
        const std::string stem = name.substr(0, name.size() - kSuffix.size());
        const std::string path = (dir / name).lexically_normal().string();
        std::vector<uint8_t> wire;
        if (!dns::name_from_text(stem, wire)) {
          fail(directory->value_line,
               where + ": file " + quote(path) + ": origin " + quote(stem) + " is not a valid domain name");
        }
        std::string normalised = dns::name_to_text(wire.data());
        auto [prev, fresh] = directory_origins.emplace(normalised, Seen{path, line});
        if (!fresh) {
          fail(directory->value_line, where + ": origin " + normalised + " of " + quote(path) + " is also in " +
                                          quote(prev->second.file) + " (line " + std::to_string(prev->second.line) +
                                          ")");
        }
        from_directories.push_back(ZoneConfig{std::move(normalised), path, line, dir.string()});
      }
      out.zone_directories.push_back(dir.string());
      continue;
    }

    if (origin && !file) fail(line, where + ": needs \"file\" with \"origin\"");
    if (file && !origin) fail(line, where + ": needs \"origin\" with \"file\"");
    if (!origin) fail(line, where + ": needs \"origin\" and \"file\", or \"directory\"");

    const std::string origin_text = get_string(*origin, where + ".origin", false);
    std::vector<uint8_t> wire;
    if (!dns::name_from_text(origin_text, wire)) {
      fail(origin->value_line, where + ": origin " + quote(origin_text) + " is not a valid domain name");
    }
    std::string normalised = dns::name_to_text(wire.data());
    auto [prev, fresh] = explicit_origins.emplace(normalised, Seen{{}, origin->value_line});
    if (!fresh) {
      fail(origin->value_line, where + ": duplicate origin " + normalised + " (first at line " +
                                   std::to_string(prev->second.line) + ")");
    }

    const std::string file_text = get_string(*file, where + ".file", false);
    if (file_text.empty()) fail(file->value_line, where + ".file: must not be empty");
    out.zones.push_back(ZoneConfig{std::move(normalised), resolve(file_text).string(), line, {}});
  }

  // Explicit entries override directory zones of the same origin.
  std::sort(from_directories.begin(), from_directories.end(),
            [](const ZoneConfig& a, const ZoneConfig& b) { return a.origin < b.origin; });
  for (ZoneConfig& z : from_directories) {
    if (!explicit_origins.contains(z.origin)) out.zones.push_back(std::move(z));
  }
}

void Loader::load_log(const Entry& section, LogConfig& out) const {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) fail(section.value_line, "log: expected a mapping, got " + describe(section.value));
  for (const Entry& e : entries(section.value, "in log", {"level"})) {
    std::string level = get_string(e, "log.level", false);
    std::transform(level.begin(), level.end(), level.begin(),
                   [](char c) { return static_cast<char>(dns::to_lower(static_cast<uint8_t>(c))); });
    if (std::find(std::begin(kLogLevels), std::end(kLogLevels), level) == std::end(kLogLevels)) {
      fail(e.value_line, "log.level: unknown level " + quote(e.value.Scalar()) +
                             " (known: trace, debug, info, warn, error, critical, off)");
    }
    out.level = std::move(level);
  }
}

Config Loader::load(const YAML::Node& root) {
  Config config;
  config.path = path_;
  unsigned zones_line = 0;
  bool have_server = false, have_zones = false, have_records = false, have_edge = false;
  if (!root.IsNull()) {
    if (!root.IsMap()) fail(line_of(root), "top level: expected a mapping, got " + describe(root));
    for (const Entry& e : entries(root, "at top level",
                                  {"server", "zones", "log", "health_checks", "records", "edge", "control", "metrics"})) {
      if (e.name == "server") {
        load_server(e, config.server);
        have_server = true;
      } else if (e.name == "zones") {
        load_zones(e, config);
        zones_line = e.key_line;
        have_zones = true;
      } else if (e.name == "log") {
        load_log(e, config.log);
      } else if (e.name == "health_checks") {
        load_health_checks(e, config.health_checks);
      } else if (e.name == "records") {
        load_records(e, config.records);
        have_records = true;
      } else if (e.name == "control") {
        load_control(e, config.control);
      } else if (e.name == "edge") {
        load_edge(e, config.edge);
        have_edge = true;
      } else {
        load_metrics(e, config.metrics);
      }
    }
  }
  if (!have_server) load_server(Entry{}, config.server);  // defaults
  // A config with an edge section and nothing of the dns role runs the edge alone.
  config.dns = have_server || have_zones || have_records || !have_edge;
  cross_check(config);
  cross_check_edge(config);
  if (config.dns && config.zones.empty()) {
    config.warnings.push_back(zones_line ? error_at(path_, zones_line, "no zones configured").message
                                         : path_ + ": no zones configured");
  }
  return config;
}

}  // namespace detail

std::string ListenAddress::to_string() const {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

bool parse_duration(const std::string& text, std::chrono::milliseconds& out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    unsigned d = static_cast<unsigned>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) return false;  // empty, negative, or no number before the unit
  const std::string_view unit = std::string_view(text).substr(i);
  uint64_t factor;
  if (unit.empty() || unit == "s") {
    factor = 1000;
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 3600 * 1000;
  } else {
    return false;
  }
  const uint64_t max = static_cast<uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max());
  if (v > max / factor) return false;
  out = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(v * factor));
  return true;
}

namespace {

bool parse_port(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// Validates a numeric address and returns its canonical text ("::0:1" -> "::1").
bool canonical_address(int family, const std::string& text, std::string& out) {
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(family, text.c_str(), buf) != 1) return false;
  char str[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, buf, str, sizeof str)) return false;
  out = str;
  return true;
}

}  // namespace

bool parse_listen_address(const std::string& text, uint16_t default_port, ListenAddress& out) {
  std::string address;
  uint16_t port = default_port;
  int family;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return false;
    address = text.substr(1, close - 1);
    const std::string_view rest = std::string_view(text).substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1), port))) return false;
    family = AF_INET6;
  } else if (std::count(text.begin(), text.end(), ':') >= 2) {
    address = text;  // bare IPv6, no port
    family = AF_INET6;
  } else {
    const size_t colon = text.find(':');
    address = text.substr(0, colon);
    if (colon != std::string::npos && !parse_port(std::string_view(text).substr(colon + 1), port)) return false;
    family = AF_INET;
  }
  std::string canonical;
  if (!canonical_address(family, address, canonical)) return false;
  out.address = std::move(canonical);
  out.port = port;
  return true;
}

Result<Config> load_config(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Error{"cannot open config " + detail::quote(path) + ": " + std::strerror(errno)};
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno) return Error{"cannot read config " + detail::quote(path) + ": " + std::strerror(read_errno)};

  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    const unsigned line = e.mark.line < 0 ? 0u : static_cast<unsigned>(e.mark.line) + 1u;
    return error_at(path, line, "invalid YAML: " + e.msg);
  }
  try {
    return detail::Loader(path).load(root);
  } catch (const detail::LoadError& e) {
    return e.error;
  } catch (const YAML::Exception& e) {  // not expected: the loader checks node types before use
    const unsigned line = e.mark.line < 0 ? 0u : static_cast<unsigned>(e.mark.line) + 1u;
    return error_at(path, line, e.msg);
  }
}

}  // namespace pharos::config
