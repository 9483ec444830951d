#include "server/reloader.h"

#include <sys/stat.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/log.h"
#include "common/sd_notify.h"
#include "zone/zone_builder.h"

namespace pharos::server {

namespace {

// FNV-1a over the file's bytes; 0 when it cannot be read.
uint64_t hash_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  uint64_t h = 14695981039346656037ull;
  unsigned char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; ++i) h = (h ^ buf[i]) * 1099511628211ull;
  }
  std::fclose(f);
  return h;
}

bool same_stat(const FileStamp& a, const FileStamp& b) {
  return a.path == b.path && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns && a.size == b.size &&
         a.inode == b.inode;
}

}  // namespace

FileStamp stamp_file(const std::string& path) {
  FileStamp s;
  s.path = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    s.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
    s.size = st.st_size;
    s.inode = st.st_ino;
    struct timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
    if (now_ns - std::max(s.mtime_ns, s.ctime_ns) < kRacyWindowNs) {
      s.racy = true;
      s.content_hash = hash_file(path);
    }
  }
  return s;
}

bool same_version(const FileStamp& old, FileStamp& fresh) {
  fresh = stamp_file(old.path);
  if (!same_stat(old, fresh)) return false;
  if (!old.racy) return true;
  uint64_t h = fresh.racy ? fresh.content_hash : hash_file(old.path);
  return h == old.content_hash;
}

bool ZoneCatalog::unchanged(Entry& e, const config::ZoneConfig& z) const {
  if (e.cfg.file != z.file || e.stamps.empty()) return false;
  std::vector<FileStamp> fresh(e.stamps.size());
  for (size_t i = 0; i < e.stamps.size(); ++i) {
    if (!same_version(e.stamps[i], fresh[i])) return false;
  }
  // Same content: the fresh stamps stop being racy once the window has passed.
  e.stamps = std::move(fresh);
  return true;
}

bool ZoneCatalog::stale(const std::vector<config::ZoneConfig>& zones) {
  if (zones.size() != entries_.size()) return true;
  for (const config::ZoneConfig& z : zones) {
    auto e = entries_.find(z.origin);
    if (e == entries_.end() || !unchanged(e->second, z)) return true;
  }
  return false;
}

ZoneCatalog::Report ZoneCatalog::update(const std::vector<config::ZoneConfig>& zones, bool force) {
  Report r;
  auto log = log::get("zone");
  std::map<std::string, Entry> next;
  for (const config::ZoneConfig& z : zones) {
    auto old = entries_.find(z.origin);
    if (old != entries_.end() && !force && unchanged(old->second, z)) {
      next.emplace(z.origin, std::move(old->second));
      ++r.unchanged;
      continue;
    }
    Entry e;
    e.cfg = z;
    if (old != entries_.end()) {
      e.zone = old->second.zone;
      e.loaded_at = old->second.loaded_at;
    }
    // Stamp before reading: a change during the read makes the next check see a difference.
    std::vector<FileStamp> before{stamp_file(z.file)};
    auto t0 = std::chrono::steady_clock::now();
    zone::Diagnostics diag;
    auto loaded = zone::load_zone_file(z.origin, z.file, diag);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    for (const std::string& w : diag.warnings) log->warn("{}", w);
    if (loaded) {
      e.zone = std::move(*loaded);
      e.loaded_at = std::chrono::system_clock::now();
      ++loads_ok_;
      e.stamps.clear();
      for (const std::string& f : e.zone->files()) {
        e.stamps.push_back(f == z.file ? before[0] : stamp_file(f));
      }
      log->info("zone {}: loaded serial={} records={} names={} file={} time_ms={}", z.origin, e.zone->serial(),
                e.zone->record_count(), e.zone->node_count(), z.file, ms);
      ++r.loaded;
    } else {
      // Remember what we tried, so the same broken files are not read again on every reload.
      e.failed = true;
      e.stamps = before;
      if (old != entries_.end() && old->second.zone) {
        for (const auto& f : old->second.zone->files()) {
          if (f != z.file) e.stamps.push_back(stamp_file(f));
        }
      }
      for (const std::string& err : diag.errors) log->error("{}", err);
      if (diag.errors_dropped) log->error("{}: {} more errors", z.file, diag.errors_dropped);
      if (e.zone) {
        log->error("zone {}: load failed, still serving serial={}", z.origin, e.zone->serial());
      } else {
        log->error("zone {}: load failed, not served", z.origin);
      }
      ++r.failed;
      ++loads_failed_;
    }
    next.emplace(z.origin, std::move(e));
  }
  for (const auto& [origin, e] : entries_) {
    if (!next.count(origin)) {
      log->info("zone {}: removed from the config, no longer served", origin);
      ++r.removed;
    }
  }
  entries_ = std::move(next);
  return r;
}

std::shared_ptr<const zone::ZoneSet> ZoneCatalog::zone_set() const {
  std::vector<std::shared_ptr<const zone::Zone>> zones;
  for (const auto& [origin, e] : entries_) {
    if (e.zone) zones.push_back(e.zone);
  }
  return std::make_shared<const zone::ZoneSet>(std::move(zones));
}

std::vector<std::string> ZoneCatalog::files() const {
  std::vector<std::string> out;
  for (const auto& [origin, e] : entries_) {
    out.push_back(e.cfg.file);
    for (const FileStamp& s : e.stamps) out.push_back(s.path);
  }
  return out;
}

std::vector<ZoneInfo> ZoneCatalog::zones() const {
  std::vector<ZoneInfo> out;
  for (const auto& [origin, e] : entries_) {
    ZoneInfo z;
    z.origin = origin;
    z.file = e.cfg.file;
    z.failed = e.failed;
    if (e.zone) {
      z.origin = e.zone->origin_text();
      z.served = true;
      z.serial = e.zone->serial();
      z.records = e.zone->record_count();
      z.loaded_at = e.loaded_at;
    }
    out.push_back(std::move(z));
  }
  return out;
}

std::shared_ptr<query::Snapshot> make_snapshot(const config::Config& cfg, std::shared_ptr<const zone::ZoneSet> zones,
                                               std::shared_ptr<const policy::PolicySet> policies) {
  auto s = std::make_shared<query::Snapshot>();
  s->zones = std::move(zones);
  s->policies = std::move(policies);
  s->options.udp_payload_max = cfg.server.udp_payload_max;
  s->options.any_full_over_tcp = cfg.server.any_full_over_tcp;
  s->options.nsid = cfg.server.identity;
  s->options.version = cfg.server.version;
  return s;
}

Reloader::Reloader(std::string config_path, Publisher& publisher, health::HealthEngine* engine)
    : path_(std::move(config_path)), publisher_(publisher), engine_(engine) {}

Reloader::~Reloader() { stop(); }

void Reloader::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<void> Reloader::start(const config::Config& cfg) {
  config_ = cfg;
  config_stamp_ = stamp_file(path_);
  catalog_.update(config_.zones);
  Compiled built = compile();
  if (!built.policies.errors.empty()) {
    std::string text;
    for (const std::string& e : built.policies.errors) text += (text.empty() ? "" : "\n") + e;
    return Error{text};
  }
  publish_and_notify(std::move(built));
  thread_ = std::thread([this] { loop(); });
  return {};
}

void Reloader::check() {
  {
    std::lock_guard lock(mutex_);
    check_pending_ = true;
  }
  cv_.notify_all();
}

void Reloader::request(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_.empty()) pending_ += ", ";
    pending_ += reason;
  }
  cv_.notify_all();
}

uint64_t Reloader::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

uint64_t Reloader::failed_reloads() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

std::vector<ZoneInfo> Reloader::zones() const {
  std::lock_guard lock(mutex_);
  return zones_;
}

void Reloader::write_metrics(metrics::TextWriter& w) const {
  using metrics::TextWriter;
  std::lock_guard lock(mutex_);
  // The zones served (a zone that never loaded has no serial to show).
  auto each_served = [&](const char* name, auto value) {
    for (const ZoneInfo& z : zones_) {
      if (z.served) w.sample(name, TextWriter::labels({{"zone", z.origin}}), static_cast<uint64_t>(value(z)));
    }
  };
  w.family("pharos_zone_serial", "gauge", "SOA serial of the zone version served.");
  each_served("pharos_zone_serial", [](const ZoneInfo& z) { return z.serial; });
  w.family("pharos_zone_records", "gauge", "Records in the zone version served.");
  each_served("pharos_zone_records", [](const ZoneInfo& z) { return z.records; });
  w.family("pharos_zone_loaded_timestamp_seconds", "gauge", "When the zone version served was loaded (unix time).");
  each_served("pharos_zone_loaded_timestamp_seconds", [](const ZoneInfo& z) {
    return std::chrono::duration_cast<std::chrono::seconds>(z.loaded_at.time_since_epoch()).count();
  });
  w.family("pharos_zone_loads_total", "counter", "Zone file loads, by result (error: the previous version kept serving).");
  w.sample("pharos_zone_loads_total", R"(result="ok")", zone_loads_ok_);
  w.sample("pharos_zone_loads_total", R"(result="error")", zone_loads_failed_);
  w.family("pharos_server_reloads_total", "counter", "Reloads (SIGHUP, file change, control API), by result.");
  w.sample("pharos_server_reloads_total", R"(result="ok")", reloads_ - failed_);
  w.sample("pharos_server_reloads_total", R"(result="error")", failed_);
}

void Reloader::loop() {
  for (;;) {
    std::string reason;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !pending_.empty() || check_pending_; });
      if (stop_) return;
      reason.swap(pending_);
      check_pending_ = false;
    }
    if (reason.empty()) {
      FileStamp fresh;
      if (same_version(config_stamp_, fresh) && !catalog_.stale(config_.zones)) continue;
      reason = "changed while the file watches were being set up";
    }
    reload(reason);
  }
}

void Reloader::reload(const std::string& reason) {
  // systemd (Type=notify) hears of every reload, whoever asked for it; main sends READY=1 once
  // the result is published (on_reloaded).
  sd::notify(sd::reloading());
  auto log = log::get("server");
  auto t0 = std::chrono::steady_clock::now();
  bool failed = false;
  config_stamp_ = stamp_file(path_);
  auto next = config::load_config(path_);
  config::Config previous = config_;
  if (next) {
    const config::ServerConfig& a = config_.server;
    const config::ServerConfig& b = next->server;
    bool listen_same = a.listen.size() == b.listen.size();
    for (size_t i = 0; listen_same && i < a.listen.size(); ++i) {
      listen_same = a.listen[i].to_string() == b.listen[i].to_string();
    }
    if (!listen_same || a.workers != b.workers || a.tcp_idle_timeout != b.tcp_idle_timeout ||
        a.tcp_max_connections != b.tcp_max_connections) {
      log->warn("config {}: listen, workers and tcp settings change on restart only; the rest is applied", path_);
    }
    const config::ControlConfig& ca = config_.control;
    const config::ControlConfig& cb = next->control;
    if (ca.socket != cb.socket || ca.has_listen != cb.has_listen || ca.token != cb.token ||
        (ca.has_listen && ca.listen.to_string() != cb.listen.to_string())) {
      log->warn("config {}: the control section changes on restart only; the rest is applied", path_);
    }
    if (config_.metrics.enabled != next->metrics.enabled ||
        config_.metrics.listen.to_string() != next->metrics.listen.to_string()) {
      log->warn("config {}: the metrics section changes on restart only; the rest is applied", path_);
    }
    config_ = std::move(*next);
    log::setup(config_.log.level);
    for (const auto& w : config_.warnings) log->warn("{}", w);
  } else {
    failed = true;
    log->error("{}", next.error().message);
    log->error("config {}: reload failed, keeping the running config", path_);
  }
  ZoneCatalog::Report r = catalog_.update(config_.zones);
  if (r.failed) failed = true;
  Compiled built = compile();
  if (!built.policies.errors.empty() && next) {
    // The new config's records do not fit: keep the running config (and its zone list).
    for (const std::string& e : built.policies.errors) log->error("{}", e);
    log->error("config {}: reload failed, keeping the running config", path_);
    failed = true;
    config_ = std::move(previous);
    log::setup(config_.log.level);
    catalog_.update(config_.zones);
    built = compile();
  }
  if (!built.policies.errors.empty()) {
    // A zone changed under a record of the running config: that record is not served.
    for (const std::string& e : built.policies.errors) log->error("{} (not served until fixed)", e);
    failed = true;
  }
  publish_and_notify(std::move(built));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  log->info("reload: done reason=\"{}\" zones={} loaded={} unchanged={} failed={} removed={} time_ms={}", reason,
            config_.zones.size(), r.loaded, r.unchanged, r.failed, r.removed, ms);
  std::lock_guard lock(mutex_);
  ++reloads_;
  if (failed) ++failed_;
}

Reloader::Compiled Reloader::compile() {
  Compiled c;
  c.zones = catalog_.zone_set();
  c.policies = policy::PolicySet::build(config_, *c.zones, registry_ + 1);
  return c;
}

void Reloader::publish_and_notify(Compiled built) {
  // The engine learns the new ids first; its first view for them is held by the publisher until
  // the records that use them are published just below.
  ++registry_;
  const auto& policies = built.policies.set;
  if (engine_) engine_->configure(registry_, config_.health_checks, policies->member_keys());
  publisher_.publish_config(make_snapshot(config_, std::move(built.zones), policies));
  {
    std::vector<ZoneInfo> zones = catalog_.zones();
    std::lock_guard lock(mutex_);
    zones_ = std::move(zones);
    zone_loads_ok_ = catalog_.loads_ok();
    zone_loads_failed_ = catalog_.loads_failed();
  }
  if (on_reloaded) {
    std::vector<std::string> files = catalog_.files();
    files.push_back(path_);
    on_reloaded(config_, std::move(files), registry_);
  }
}

}  // namespace pharos::server
