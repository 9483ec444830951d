// Unit-test helpers: zones from text, a snapshot over them, and one query through the real
// query engine with the reply parsed by ldns.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "query/processor.h"
#include "query/snapshot.h"
#include "testlib/dns_helpers.h"
#include "zone/zone_builder.h"
#include "zone/zone_set.h"

namespace pharos::test {

// A file with `text`, removed when the object goes.
class TextFile {
 public:
  explicit TextFile(const std::string& text, const std::string& suffix = ".zone") {
    std::string tmpl = (std::filesystem::temp_directory_path() / ("pharos-unit-XXXXXX" + suffix)).string();
    int fd = ::mkstemps(tmpl.data(), static_cast<int>(suffix.size()));
    if (fd < 0) throw std::runtime_error("mkstemps failed");
    ::close(fd);
    path_ = tmpl;
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TextFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Loaded {
  std::shared_ptr<const zone::Zone> zone;
  zone::Diagnostics diag;
  std::string path;
};

// Loads `text` as zone `origin`; `zone` is null on error, `diag` says why (messages name a temp
// file: compare with `path`).
inline Loaded load_zone_text(const std::string& origin, const std::string& text) {
  TextFile f(text);
  Loaded l;
  l.path = f.path();
  auto z = zone::load_zone_file(origin, f.path(), l.diag);
  if (z) l.zone = *z;
  return l;
}

inline std::shared_ptr<const zone::Zone> must_load(const std::string& origin, const std::string& text) {
  Loaded l = load_zone_text(origin, text);
  if (!l.zone) throw std::runtime_error("zone " + origin + " failed: " + l.diag.error_text());
  return l.zone;
}

// A query engine over a set of zones.
class Engine {
 public:
  explicit Engine(std::vector<std::shared_ptr<const zone::Zone>> zones, query::Options o = {}) {
    snap_.zones = std::make_shared<const zone::ZoneSet>(std::move(zones));
    snap_.options = o;
  }
  // Raw exchange: returns the reply bytes (empty if none).
  std::vector<uint8_t> raw(const std::vector<uint8_t>& q, query::Transport t = query::Transport::Udp) {
    std::vector<uint8_t> out(65535);
    size_t n = proc_.process(snap_, q.data(), q.size(), out.data(), out.size(), t);
    out.resize(n);
    return out;
  }
  Packet ask(const std::string& name, uint16_t type, query::Transport t = query::Transport::Udp,
             const QueryOptions& o = {}) {
    auto reply = raw(make_query(name, type, o), t);
    return parse(reply);
  }
  query::QueryProcessor& processor() { return proc_; }
  query::Snapshot& snapshot() { return snap_; }

 private:
  query::Snapshot snap_;
  query::QueryProcessor proc_{query::QueryProcessor::kUncounted};
};

}  // namespace pharos::test
