// The systemd readiness protocol (Type=notify) against the real binary: a datagram socket plays
// systemd's part through $NOTIFY_SOCKET.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "integration/harness.h"

using namespace pharos::test;
using namespace std::chrono_literals;

namespace {

// systemd's end: a Unix datagram socket, bound in a temporary folder.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
      throw std::runtime_error("cannot bind " + path);
  }
  ~NotifySocket() { ::close(fd_); }
  // The next message, or "" after `timeout`.
  std::string next(std::chrono::milliseconds timeout = 10000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("systemd: READY=1 once answering, RELOADING=1 then READY=1 on reload, STOPPING=1 on stop",
          "[integration]") {
  TempDir dir;
  std::string zone = dir.write("example.com.zone",
                               "$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n");
  std::string config = dir.write("pharos.yaml", pharos_config({{"example.com", zone}}));
  NotifySocket systemd(dir.path() + "/notify.sock");
  ::setenv("NOTIFY_SOCKET", (dir.path() + "/notify.sock").c_str(), 1);
  Pharos pharos(config, dir.path() + "/pharos.log");
  ::unsetenv("NOTIFY_SOCKET");

  std::string ready = systemd.next();
  CHECK(ready == "READY=1\nSTATUS=serving 1 zones, 0 policy records, 0 health checks");
  // Ready means answering.
  DnsClient c(pharos.port());
  auto p = c.query("example.com", LDNS_RR_TYPE_SOA);
  REQUIRE(p);
  CHECK(rcode_name(p.get()) == "NOERROR");

  pharos.process().signal(SIGHUP);
  std::string reloading = systemd.next();
  CHECK(starts_with(reloading, "RELOADING=1\nMONOTONIC_USEC="));
  CHECK(reloading.size() > std::strlen("RELOADING=1\nMONOTONIC_USEC="));
  CHECK(systemd.next() == ready);

  // A reload that fails still ends in READY=1: the running config keeps serving.
  // The broken file is also seen by the file watcher, and by the check that follows each reload:
  // one or more reloads, each announced before its READY=1.
  dir.write("pharos.yaml", "server: [\n");
  pharos.process().signal(SIGHUP);
  std::string first = systemd.next();
  INFO(first);
  CHECK(starts_with(first, "RELOADING=1\n"));
  std::string after = systemd.next();
  while (starts_with(after, "RELOADING=1\n")) after = systemd.next();
  CHECK(after == ready);

  // A stop that comes while a reload may be under way: systemd hears STOPPING=1 last, never a
  // reload after it (the file watcher may also still be reloading the broken file).
  pharos.process().signal(SIGHUP);
  CHECK(pharos.process().stop(SIGTERM) == 0);
  std::string last, m;
  while (!(m = systemd.next(1000ms)).empty()) last = m;
  CHECK(last == "STOPPING=1");
}

TEST_CASE("systemd: the unit file in tools/systemd passes systemd-analyze verify", "[integration]") {
  if (!have_program("systemd-analyze")) {
    WARN("systemd-analyze is not installed: the unit file is not checked");
    return;
  }
  std::ifstream in(source_dir() + "/tools/systemd/pharos.service");
  std::stringstream text;
  text << in.rdbuf();
  std::string unit = text.str();
  REQUIRE(unit.find("Type=notify") != std::string::npos);
  // Point it at the binary under test instead of /usr/local/bin/pharos.
  for (size_t at; (at = unit.find("/usr/local/bin/pharos")) != std::string::npos;)
    unit.replace(at, std::strlen("/usr/local/bin/pharos"), pharos_binary());
  TempDir dir;
  std::string path = dir.write("pharos.service", unit);
  std::string out = run_capture("systemd-analyze verify " + path + " 2>&1; echo rc=$?");
  INFO(out);
  CHECK(out == "rc=0\n");
}
