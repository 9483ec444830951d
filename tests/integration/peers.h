// Reference servers for differential tests: NSD and Knot DNS started in the foreground on a free
// loopback port (UDP and TCP), each with its own config, state and logs in a temp dir, serving
// the same zone files as pharos. Both are stopped when the object is destroyed (Process does it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace pharos::test {

struct ZoneFile {
  std::string origin;  // "example.org" (no trailing dot)
  std::string path;    // absolute path of the zone file
};

// Every "<origin>.zone" file in `dir`, sorted by origin.
std::vector<ZoneFile> zone_files_in(const std::string& dir);

// Copies the zone files to dir/<subdir>/<origin>.zone, so no server ever touches the originals.
std::vector<ZoneFile> copy_zone_files(const std::vector<ZoneFile>& zones, const TempDir& dir,
                                      const std::string& subdir);

// Polls `port` with SOA queries (UDP) until every origin is answered NOERROR with AA and one SOA
// record, or `process` exits, or `timeout` passes. Returns an empty string on success, otherwise
// what was last seen (for the failure message).
std::string wait_until_serving(uint16_t port, const std::vector<ZoneFile>& zones, Process& process,
                               std::chrono::milliseconds timeout = 20000ms);

// A reference server: a name, a port and its process.
class Peer {
 public:
  virtual ~Peer() = default;
  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }
  Process& process() { return *proc_; }
  // The process output and the server's own log file (if it keeps one), for failure messages.
  std::string logs() const;

 protected:
  // Writes the config for `port`, starts the process and waits until it serves all zones;
  // retries with another port if the server could not bind (free_port() is racy). Throws
  // std::runtime_error with the logs when it does not come up.
  void start(const TempDir& dir, const std::vector<ZoneFile>& zones);
  virtual std::string config(const std::string& workdir, uint16_t port, const std::vector<ZoneFile>& zones) = 0;
  virtual std::vector<std::string> argv(const std::string& config_path) = 0;
  virtual std::string own_log(const std::string& workdir) const = 0;  // "" if none

  std::string name_;
  std::string workdir_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> proc_;
};

// NSD 4: `nsd -d -c nsd.conf`, no database, no chroot, no privilege drop, no remote control.
class Nsd : public Peer {
 public:
  Nsd(const TempDir& dir, const std::vector<ZoneFile>& zones);

 protected:
  std::string config(const std::string& workdir, uint16_t port, const std::vector<ZoneFile>& zones) override;
  std::vector<std::string> argv(const std::string& config_path) override;
  std::string own_log(const std::string& workdir) const override;
};

// Knot DNS 3: `knotd -c knot.conf` in the foreground, logging to stderr, zone files never
// written back, no journal.
class Knot : public Peer {
 public:
  Knot(const TempDir& dir, const std::vector<ZoneFile>& zones);

 protected:
  std::string config(const std::string& workdir, uint16_t port, const std::vector<ZoneFile>& zones) override;
  std::vector<std::string> argv(const std::string& config_path) override;
  std::string own_log(const std::string& workdir) const override;
};

}  // namespace pharos::test
