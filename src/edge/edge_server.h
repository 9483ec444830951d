// The edge role: listeners, workers, and what changes under them (certificates, routes, pools,
// health). main builds one when the config has an `edge` section, gives it every reload and
// every health view, and asks it to drain on SIGTERM.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.h"
#include "config/config.h"
#include "metrics/prometheus.h"
#include "edge/counters.h"
#include "edge/state.h"
#include "health/health_view.h"

namespace pharos::edge {

class Worker;
struct Shared;

class EdgeServer {
 public:
  // Listen addresses, workers and the access log are read here, once (a reload that changes
  // them says so and keeps them).
  explicit EdgeServer(const config::EdgeConfig& cfg);
  ~EdgeServer();  // stop()
  EdgeServer(const EdgeServer&) = delete;
  EdgeServer& operator=(const EdgeServer&) = delete;

  // Start-up: loads every certificate (any failure is an error, naming the file and the reason)
  // and builds the first state, for health registry `registry`.
  Result<void> prepare(const config::Config& cfg, uint64_t registry);
  // Opens every listener (one SO_REUSEPORT socket per worker and address) and starts the
  // workers. Nothing is left open on failure.
  Result<void> start();
  // A reload: certificates read again (an unchanged one keeps its context; one that fails keeps
  // its previous pair, and the log says which file and why), routes, pools, timeouts and limits
  // from `cfg`, check ids of health registry `registry`. Connections stay open. Thread-safe.
  void apply(const config::Config& cfg, uint64_t registry);
  // A new health view from the engine (its thread). Quick: no I/O, no waiting.
  void publish_health(std::shared_ptr<const health::HealthView> view);

  // SIGTERM: the health endpoint fails at once; after drain.delay the listeners close and idle
  // connections with them; busy ones close after their response; `done` runs on `io` once every
  // connection is closed or drain.timeout has passed.
  void drain(boost::asio::io_context& io, std::function<void()> done);
  bool draining() const;
  // Stops the workers; open connections are dropped.
  void stop();
  // SIGHUP: opens the access log file again by its name (after logrotate moved it away) and puts
  // it in place of the old descriptor in one dup2, so workers writing at that moment finish on the
  // old file and every later write goes to the new one. Nothing for stderr or off.
  void reopen_access_log();

  // The certificate and key files, for the file watcher. Thread-safe.
  std::vector<std::string> files() const;
  // After start(): the bound addresses ("127.0.0.1:8443"), port 0 resolved.
  std::vector<std::string> https_addresses() const { return https_bound_; }
  std::vector<std::string> http_addresses() const { return http_bound_; }
  EdgeStats stats() const;  // every worker's counters summed
  // The pharos_edge_* families: the workers' counters, and per pool and member the responses,
  // upstream latency and whether it is up. Any thread.
  void write_metrics(metrics::TextWriter& w) const;
  size_t open_connections() const;

 private:
  // The state for `cfg`. A pool whose upstream TLS context cannot be made keeps the one it had in
  // `previous` (the error goes to `errors`); without one, the result is null.
  std::shared_ptr<EdgeState> build(const config::Config& cfg, uint64_t registry, std::shared_ptr<const CertSet> certs,
                                   const EdgeState* previous, std::vector<std::string>& errors);
  // Members are told apart by address and by how they are reached (`transport`): connections
  // kept for one must not serve the other.
  std::shared_ptr<MemberRuntime> runtime_for(const config::ListenAddress& a, const std::string& transport);

  config::EdgeConfig boot_;  // as at start-up: listeners, workers, access log
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::string> https_bound_, http_bound_;
  uint16_t https_port_ = 0;
  int access_fd_ = -1;
  bool own_access_fd_ = false;

  mutable std::mutex mutex_;  // the members below: prepare/apply (main or loader thread), files()
  std::map<std::string, std::shared_ptr<MemberRuntime>> runtimes_;  // by address, never shrinks
  uint32_t next_upstream_id_ = 0;
  std::shared_ptr<const CertSet> certs_;
  uint64_t registry_ = 0;
  config::Config config_;
};

}  // namespace pharos::edge
