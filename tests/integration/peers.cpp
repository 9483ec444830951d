#include "integration/peers.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pharos::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<ZoneFile> zone_files_in(const std::string& dir) {
  std::vector<ZoneFile> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string file = e.path().filename().string();
    if (!e.is_regular_file() || file.size() <= 5 || file.substr(file.size() - 5) != ".zone") continue;
    out.push_back(ZoneFile{file.substr(0, file.size() - 5), fs::absolute(e.path()).string()});
  }
  std::sort(out.begin(), out.end(), [](const ZoneFile& a, const ZoneFile& b) { return a.origin < b.origin; });
  return out;
}

std::vector<ZoneFile> copy_zone_files(const std::vector<ZoneFile>& zones, const TempDir& dir,
                                      const std::string& subdir) {
  std::vector<ZoneFile> out;
  for (const auto& z : zones) {
    std::ifstream in(z.path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + z.path);
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ZoneFile{z.origin, dir.write(subdir + "/" + z.origin + ".zone", ss.str())});
  }
  return out;
}

namespace {
// The folder of the zone files (the servers get absolute paths anyway).
std::string zone_dir(const std::vector<ZoneFile>& zones, const std::string& fallback) {
  return zones.empty() ? fallback : fs::path(zones[0].path).parent_path().string();
}
}  // namespace

std::string wait_until_serving(uint16_t port, const std::vector<ZoneFile>& zones, Process& process,
                               std::chrono::milliseconds timeout) {
  DnsClient client(port);
  const auto until = Clock::now() + timeout;
  std::string last = "no query sent";
  for (;;) {
    size_t serving = 0;
    for (const auto& z : zones) {
      auto reply = client.udp(make_query(z.origin, LDNS_RR_TYPE_SOA), 200ms);
      Packet p = reply ? parse(*reply) : Packet(nullptr);
      if (!p) {
        last = z.origin + " SOA: no reply";
        break;
      }
      if (ldns_pkt_get_rcode(p.get()) != LDNS_RCODE_NOERROR || !ldns_pkt_aa(p.get()) || ldns_pkt_ancount(p.get()) != 1) {
        last = z.origin + " SOA:\n" + to_text(p.get());
        break;
      }
      ++serving;
    }
    if (serving == zones.size()) return "";
    if (!process.running()) return "the process exited (" + last + ")";
    if (Clock::now() >= until) return "not serving every zone in time (" + last + ")";
    std::this_thread::sleep_for(20ms);
  }
}

std::string Peer::logs() const {
  std::string s = name_ + " output:\n" + (proc_ ? proc_->log() : std::string("(not started)"));
  std::string own = own_log(workdir_);
  if (!own.empty()) {
    std::ifstream in(own, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    s += "\n" + name_ + " log file " + own + ":\n" + ss.str();
  }
  return s;
}

void Peer::start(const TempDir& dir, const std::vector<ZoneFile>& zones) {
  std::string failures;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    // A fresh directory per attempt, so nothing of a failed start is reused.
    workdir_ = dir.path() + "/" + name_ + "-" + std::to_string(attempt);
    fs::create_directories(workdir_);
    port_ = free_port();
    std::string conf = dir.write(name_ + "-" + std::to_string(attempt) + "/" + name_ + ".conf",
                                 config(workdir_, port_, zones));
    proc_ = std::make_unique<Process>(argv(conf), workdir_ + "/" + name_ + ".out");
    std::string why = wait_until_serving(port_, zones, *proc_);
    if (why.empty()) return;
    failures += "attempt " + std::to_string(attempt) + " on port " + std::to_string(port_) + ": " + why + "\n" +
                logs() + "\n";
    proc_->stop();
    // Only a lost race for the port is worth another attempt; anything else fails at once.
    // ("Address already in use" from NSD, "address already in use" from Knot.)
    std::string text = logs();
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    if (text.find("address already in use") == std::string::npos) break;
  }
  throw std::runtime_error(name_ + " did not start:\n" + failures);
}

// ---- NSD -------------------------------------------------------------------------------------

Nsd::Nsd(const TempDir& dir, const std::vector<ZoneFile>& zones) {
  name_ = "nsd";
  start(dir, zones);
}

std::string Nsd::config(const std::string& workdir, uint16_t port, const std::vector<ZoneFile>& zones) {
  const std::string p = std::to_string(port);
  std::string s;
  s += "server:\n";
  s += "  ip-address: 127.0.0.1@" + p + "\n";
  s += "  port: " + p + "\n";
  s += "  do-ip4: yes\n";
  s += "  do-ip6: no\n";
  s += "  username: \"\"\n";  // do not drop privileges
  s += "  chroot: \"\"\n";
  s += "  database: \"\"\n";  // NSD 4.6: no nsd.db, zones are read from the zone files
  s += "  zonesdir: \"" + zone_dir(zones, workdir) + "\"\n";
  s += "  pidfile: \"" + workdir + "/nsd.pid\"\n";
  s += "  xfrdfile: \"" + workdir + "/xfrd.state\"\n";
  s += "  xfrdir: \"" + workdir + "\"\n";
  s += "  zonelistfile: \"" + workdir + "/zone.list\"\n";
  s += "  logfile: \"" + workdir + "/nsd.log\"\n";
  s += "  server-count: 1\n";
  s += "  verbosity: 1\n";
  s += "  hide-version: yes\n";
  s += "  round-robin: no\n";
  s += "  refuse-any: no\n";
  s += "  zonefiles-write: 0\n";
  // Debian builds NSD with response rate limiting, on by default at 200 per second per bucket:
  // our burst of queries would get TC "slips" and drops instead of answers.
  s += "  rrl-ratelimit: 0\n";
  s += "  rrl-whitelist-ratelimit: 0\n";
  // Without it NSD adds the zone's NS RRset to the authority section of every positive answer
  // (and the NS addresses to the additional section), which pharos and Knot never do. With it,
  // NSD adds only what is needed (glue), and not the addresses of MX and SRV targets.
  s += "  minimal-responses: yes\n";
  s += "remote-control:\n";
  s += "  control-enable: no\n";
  for (const auto& z : zones) {
    s += "zone:\n";
    s += "  name: \"" + z.origin + "\"\n";
    s += "  zonefile: \"" + z.path + "\"\n";
  }
  return s;
}

std::vector<std::string> Nsd::argv(const std::string& config_path) { return {"nsd", "-d", "-c", config_path}; }

std::string Nsd::own_log(const std::string& workdir) const { return workdir + "/nsd.log"; }

// ---- Knot --------------------------------------------------------------------------------------

Knot::Knot(const TempDir& dir, const std::vector<ZoneFile>& zones) {
  name_ = "knot";
  start(dir, zones);
}

std::string Knot::config(const std::string& workdir, uint16_t port, const std::vector<ZoneFile>& zones) {
  std::string s;
  s += "server:\n";
  s += "  rundir: \"" + workdir + "\"\n";
  s += "  listen: 127.0.0.1@" + std::to_string(port) + "\n";
  s += "  udp-workers: 1\n";
  s += "  tcp-workers: 1\n";
  s += "  background-workers: 1\n";
  s += "control:\n";
  s += "  listen: \"" + workdir + "/knot.sock\"\n";
  s += "database:\n";
  s += "  storage: \"" + workdir + "/db\"\n";
  s += "log:\n";
  s += "  - target: stderr\n";
  s += "    any: info\n";
  s += "template:\n";
  s += "  - id: default\n";
  s += "    storage: \"" + zone_dir(zones, workdir) + "\"\n";
  s += "    zonefile-sync: -1\n";  // never write the zone files back
  s += "    zonefile-load: whole\n";
  s += "    journal-content: none\n";
  s += "zone:\n";
  for (const auto& z : zones) {
    s += "  - domain: \"" + z.origin + "\"\n";
    s += "    file: \"" + z.path + "\"\n";
  }
  return s;
}

std::vector<std::string> Knot::argv(const std::string& config_path) { return {"knotd", "-c", config_path}; }

std::string Knot::own_log(const std::string&) const { return ""; }

}  // namespace pharos::test
