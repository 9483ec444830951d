// Reload: the config and zones are read again beside the running ones, on a loader thread, and
// published as a new Snapshot in one atomic swap. Only zones whose files changed are read
// again; a zone that fails to load keeps its previous version serving; a config that fails to
// load keeps the running config. Every failure is logged as `file:line: reason`.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "server/snapshot_store.h"
#include "zone/zone.h"
#include "zone/zone_set.h"

namespace pharos::server {

// What identifies a version of a file without reading it.
struct FileStamp {
  std::string path;
  int64_t mtime_ns = 0;
  int64_t size = -1;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_file(const std::string& path);

class ZoneCatalog {
 public:
  struct Report {
    size_t loaded = 0;
    size_t unchanged = 0;
    size_t failed = 0;
    size_t removed = 0;
  };

  // Brings the catalog in line with `zones`: loads new and changed zones, keeps unchanged ones,
  // drops removed ones. A zone that fails to load keeps its previous version, if it had one.
  // With `force`, every zone is read again.
  Report update(const std::vector<config::ZoneConfig>& zones, bool force = false);

  std::shared_ptr<const zone::ZoneSet> zone_set() const;
  // Every file the zones were read from (or failed to be read from), for the file watcher.
  std::vector<std::string> files() const;

 private:
  struct Entry {
    config::ZoneConfig cfg;
    std::shared_ptr<const zone::Zone> zone;  // may be null: never loaded successfully
    std::vector<FileStamp> stamps;           // of the files of the version tried last
  };
  bool unchanged(const Entry& e, const config::ZoneConfig& z) const;

  std::map<std::string, Entry> entries_;  // by origin
};

Result<std::shared_ptr<query::Snapshot>> make_snapshot(const config::Config& cfg,
                                                       std::shared_ptr<const zone::ZoneSet> zones);

class Reloader {
 public:
  Reloader(std::string config_path, SnapshotStore& store);
  ~Reloader();

  // Start-up: loads the zones of `cfg` synchronously, publishes the first snapshot, and starts
  // the loader thread for later reloads.
  void start(const config::Config& cfg);
  // Asks for a reload (coalesced with one already waiting). Thread-safe.
  void request(const std::string& reason);
  // Called on the loader thread after each reload with the files and directories to watch.
  std::function<void(std::vector<std::string> files, std::vector<std::string> dirs)> on_reloaded;

  uint64_t reloads() const;         // completed reloads (failed or not), for tests and metrics
  uint64_t failed_reloads() const;  // reloads where the config or a zone failed

 private:
  void loop();
  void reload(const std::string& reason);
  void publish_and_notify();

  std::string path_;
  SnapshotStore& store_;
  config::Config config_;  // the running config (loader thread after start)
  ZoneCatalog catalog_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string pending_;  // reasons waiting; empty: nothing to do
  bool stop_ = false;
  uint64_t reloads_ = 0;
  uint64_t failed_ = 0;
  std::thread thread_;
};

}  // namespace pharos::server
