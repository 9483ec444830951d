// Reload: the config and zones are read again beside the running ones, on a loader thread, and
// published as a new Snapshot in one atomic swap. Only zones whose files changed are read
// again; a zone that fails to load keeps its previous version serving; a config that fails to
// load keeps the running config. Every failure is logged as `file:line: reason`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "metrics/prometheus.h"
#include "health/engine.h"
#include "policy/policy_set.h"
#include "server/publisher.h"
#include "server/snapshot_store.h"
#include "zone/zone.h"
#include "zone/zone_set.h"

namespace pharos::server {

// What identifies a version of a file, mostly without reading it. Timestamps are only as fine as
// the filesystem keeps them (a kernel tick, or whole seconds on some), so a file rewritten with the
// same size soon after it was stamped can look untouched. As git does with its "racily clean"
// entries, a stamp taken within `kRacyWindowNs` of the file's mtime also records a hash of the
// content, and `same_version` compares content for such stamps.
struct FileStamp {
  std::string path;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  int64_t size = -1;
  uint64_t inode = 0;
  bool racy = false;
  uint64_t content_hash = 0;  // only when racy
};
inline constexpr int64_t kRacyWindowNs = 2'000'000'000;
FileStamp stamp_file(const std::string& path);
// Whether `path` still holds the version `old` was taken of; `fresh` receives the current stamp.
bool same_version(const FileStamp& old, FileStamp& fresh);

// A zone as the control API's status shows it.
struct ZoneInfo {
  std::string origin;  // "example.com." (as configured when never loaded)
  std::string file;
  bool served = false;  // false: never loaded successfully
  bool failed = false;  // the last read of its files failed (an older version may still serve)
  uint32_t serial = 0;  // of the version served
  size_t records = 0;
  std::chrono::system_clock::time_point loaded_at{};  // when the version served was read
};

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

  // Zone loads so far, by result (for the metrics).
  uint64_t loads_ok() const { return loads_ok_; }
  uint64_t loads_failed() const { return loads_failed_; }
  // Every file the zones were read from (or failed to be read from), for the file watcher.
  std::vector<std::string> files() const;
  // Every zone of the last update, by origin.
  std::vector<ZoneInfo> zones() const;

 private:
  struct Entry {
    config::ZoneConfig cfg;
    std::shared_ptr<const zone::Zone> zone;  // may be null: never loaded successfully
    std::vector<FileStamp> stamps;           // of the files of the version tried last
    std::chrono::system_clock::time_point loaded_at{};  // of `zone`
    bool failed = false;                     // the version tried last did not load
  };
  bool unchanged(Entry& e, const config::ZoneConfig& z) const;

 public:
  // Whether any file of `zones` differs from the version last read (or tried).
  bool stale(const std::vector<config::ZoneConfig>& zones);

 private:

  std::map<std::string, Entry> entries_;  // by origin
  uint64_t loads_ok_ = 0;
  uint64_t loads_failed_ = 0;
};

std::shared_ptr<query::Snapshot> make_snapshot(const config::Config& cfg, std::shared_ptr<const zone::ZoneSet> zones,
                                               std::shared_ptr<const policy::PolicySet> policies);

class Reloader {
 public:
  // `engine` (may be null: no health checks, as in tests of reloading alone) is configured with
  // the checks and policy members of every config generation.
  Reloader(std::string config_path, Publisher& publisher, health::HealthEngine* engine);
  ~Reloader();

  // Start-up: loads the zones of `cfg` synchronously, compiles its policy records, configures the
  // health engine, publishes the first snapshot, and starts the loader thread for later reloads.
  // Fails when a policy record cannot be served (file:line: reason for each).
  Result<void> start(const config::Config& cfg);
  // Asks for a reload (coalesced with one already waiting). Thread-safe.
  void request(const std::string& reason);
  // Asks the loader thread to compare the config and zone files with the versions it read, and
  // to reload if they differ. Called once the file watches are armed: a change made between a
  // read and the arming of its watch would otherwise go unseen. Thread-safe.
  void check();
  // Stops the loader thread: a reload under way finishes (its RELOADING=1 was already sent),
  // none starts after. Called as the server begins to stop, before STOPPING=1, so systemd
  // never hears of a reload after the stop. Idempotent; the destructor calls it.
  void stop();
  // Called on the loader thread after each publish (start-up and every reload) with the config
  // now running, the files to watch (its directories to watch are `cfg.zone_directories`), and
  // the health registry the engine was configured with (check ids of `cfg.health_checks`).
  std::function<void(const config::Config& cfg, std::vector<std::string> files, uint64_t registry)> on_reloaded;

  uint64_t reloads() const;         // completed reloads (failed or not), for tests and metrics
  uint64_t failed_reloads() const;  // reloads where the config or a zone failed
  // The zones of the snapshot published last. Thread-safe.
  std::vector<ZoneInfo> zones() const;
  // pharos_zone_* (per zone served, and loads) and pharos_server_reloads_total. Any thread.
  void write_metrics(metrics::TextWriter& w) const;

 private:
  void loop();
  void reload(const std::string& reason);
  // The catalog's zone set and the running config's policy records compiled against it; the
  // errors are one "file:line: record ID: reason" each (those records are left out of the set).
  struct Compiled {
    std::shared_ptr<const zone::ZoneSet> zones;
    policy::PolicySet::Built policies;
  };
  Compiled compile();
  void publish_and_notify(Compiled built);

  std::string path_;
  Publisher& publisher_;
  health::HealthEngine* engine_;
  uint64_t registry_ = 0;  // the last config generation given to the engine
  config::Config config_;  // the running config (loader thread after start)
  ZoneCatalog catalog_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string pending_;  // reasons waiting; empty: nothing to do
  bool check_pending_ = false;
  FileStamp config_stamp_;  // of the config file version last read (loader thread)
  bool stop_ = false;
  uint64_t reloads_ = 0;
  uint64_t failed_ = 0;
  std::vector<ZoneInfo> zones_;  // under mutex_
  uint64_t zone_loads_ok_ = 0, zone_loads_failed_ = 0;  // under mutex_
  std::thread thread_;
};

}  // namespace pharos::server
