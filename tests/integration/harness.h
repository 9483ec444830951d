// Integration-test harness: temp dirs, child processes with their logs, pharos started on a
// free port, and a DNS client that builds and parses packets with ldns, so the tests check
// pharos's wire code with an independent implementation.
#pragma once

#include "testlib/dns_helpers.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pharos::test {

using namespace std::chrono_literals;

std::string source_dir();
std::string pharos_binary();
bool have_program(const std::string& name);  // on PATH or in /usr/sbin
uint16_t free_port();                         // free for both UDP and TCP on 127.0.0.1 (racy, like all such)
std::string run_capture(const std::string& cmd);  // runs `cmd` with sh, returns its stdout

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name (creating folders) and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

class Process {
 public:
  // Starts argv[0] (looked up on PATH) with stdout and stderr appended to `log_path`.
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Sends `sig` and waits up to `timeout` for the exit, then SIGKILL. Returns the wait status.
  int stop(int sig = 15, std::chrono::milliseconds timeout = 5000ms);
  std::string log() const;
  // Waits for a log line matching `re` at or after byte `from`; returns the first capture group
  // (or the whole match), or nullopt on timeout or exit.
  std::optional<std::string> wait_for_log(const std::string& re, std::chrono::milliseconds timeout = 10000ms,
                                          size_t from = 0);
  size_t log_size() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  int status_ = 0;
  bool exited_ = false;
};

// pharos with a config file, listening on 127.0.0.1 (port chosen by the kernel).
class Pharos {
 public:
  // `config_path` must name a config whose listen list is ["127.0.0.1:0"].
  explicit Pharos(const std::string& config_path, const std::string& log_path);
  uint16_t port() const { return port_; }
  Process& process() { return *proc_; }

 private:
  std::unique_ptr<Process> proc_;
  uint16_t port_ = 0;
};

// Builds a config for the given zones (origin, file) listening on 127.0.0.1:0; `server_extra`
// is spliced into the server section (YAML lines, two-space indented).
std::string pharos_config(const std::vector<std::pair<std::string, std::string>>& zones,
                          const std::string& server_extra = "");

class DnsClient {
 public:
  explicit DnsClient(uint16_t port, std::string address = "127.0.0.1") : port_(port), address_(std::move(address)) {}

  // Raw exchanges; nullopt on timeout or error.
  std::optional<std::vector<uint8_t>> udp(const std::vector<uint8_t>& msg, std::chrono::milliseconds timeout = 2000ms) const;
  std::optional<std::vector<uint8_t>> tcp(const std::vector<uint8_t>& msg, std::chrono::milliseconds timeout = 2000ms) const;

  Packet query(const std::string& name, uint16_t type, bool over_tcp = false, const QueryOptions& o = {}) const;

  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  std::string address_;
};

// A connected TCP socket to 127.0.0.1:port; -1 on failure. For tests that play with framing.
int tcp_connect(uint16_t port);
bool send_all(int fd, const uint8_t* p, size_t n);
// Reads one length-prefixed message; nullopt on timeout, EOF or error.
std::optional<std::vector<uint8_t>> read_frame(int fd, std::chrono::milliseconds timeout = 2000ms);
// True if the peer closed the connection within `timeout`.
bool wait_closed(int fd, std::chrono::milliseconds timeout);

}  // namespace pharos::test
