// The YAML configuration as plain structs. Loading validates everything it can without touching
// the network or the zone files, and reports errors as `file:line: reason`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pharos::config {

// An IP address and port to listen on. `address` is numeric (IPv4 or IPv6, no brackets).
// Port 0 asks the kernel for a free port (tests use it; the log says which was chosen).
struct ListenAddress {
  std::string address;
  uint16_t port = 53;
  std::string to_string() const;  // "127.0.0.1:53", "[::1]:53"
};

struct ServerConfig {
  std::vector<ListenAddress> listen;                  // default: 127.0.0.1:53 and [::1]:53
  unsigned workers = 0;                               // 0: one per core
  uint16_t udp_payload_max = 1232;                    // EDNS payload we advertise and honour (512..65535)
  std::chrono::milliseconds tcp_idle_timeout{10000};  // wait for the next complete query
  unsigned tcp_max_connections = 1000;                // across all workers
  bool any_full_over_tcp = false;                     // ANY over TCP: every RRset (default: one, RFC 8482)
  std::string identity;                               // answered to CH TXT id.server/hostname.bind; empty: off
  std::string version;                                // answered to CH TXT version.server/version.bind; empty: off
};

// One zone: an origin and a master file. Paths in the config are relative to the config
// file's directory and are stored here resolved (absolute or relative to the cwd).
struct ZoneConfig {
  std::string origin;  // presentation form, always ending with '.'
  std::string file;
  unsigned line = 0;   // where the zone is declared in the config, for messages
  std::string directory;  // the zone_directories entry it was found in; empty for explicit entries
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
};

struct Config {
  std::string path;                 // the config file itself
  ServerConfig server;
  std::vector<ZoneConfig> zones;    // explicit entries first, then directory entries, sorted by origin
  std::vector<std::string> zone_directories;  // watched for added/removed zone files
  LogConfig log;
  std::vector<std::string> warnings;  // non-fatal findings as "file:line: reason", for the caller to log
};

// Reads and validates a config file.
Result<Config> load_config(const std::string& path);

// Parses a duration such as "500ms", "10s", "2m", "1h" or a bare number of seconds.
bool parse_duration(const std::string& text, std::chrono::milliseconds& out);

// Parses "127.0.0.1:53", "[::1]:5353", "::1" (port defaults to `default_port`), "0.0.0.0".
bool parse_listen_address(const std::string& text, uint16_t default_port, ListenAddress& out);

}  // namespace pharos::config
