// pharos: parse the command line, load the config, build the object graph, run.
//
//   pharos --config FILE            run the server
//   pharos checkconf FILE           check a config and every zone it names
//   pharos checkzone ORIGIN FILE    check one zone file
//   pharos ctl ...                  talk to a running server's control API (src/control/ctl.h)
//   pharos --version
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "common/sd_notify.h"
#include "config/config.h"
#include "control/control_server.h"
#include "control/ctl.h"
#include "control/wire.h"
#include "edge/cert_store.h"
#include "edge/edge_server.h"
#include "edge/upstream_tls.h"
#include "health/engine.h"
#include "policy/policy_set.h"
#include "server/file_watcher.h"
#include "server/inspect.h"
#include "server/publisher.h"
#include "server/reloader.h"
#include "server/server.h"
#include "server/snapshot_store.h"
#include "zone/zone_builder.h"

namespace {

using namespace pharos;
namespace asio = boost::asio;

constexpr const char* kUsage =
    "usage: pharos --config FILE          run the server\n"
    "       pharos checkconf FILE         check a config file and every zone it names\n"
    "       pharos checkzone ORIGIN FILE  check a zone file\n"
    "       pharos ctl [--config FILE | --socket PATH | --address HOST:PORT] [--token T] [--json] COMMAND\n"
    "                                     status | checks | reload | explain | drain | undrain |\n"
    "                                     override up|down|drain|list|clear ...\n"
    "       pharos --version\n";

// Loads one zone and prints what named-checkzone would: warnings and errors as file:line: reason.
std::shared_ptr<const zone::Zone> check_zone(const std::string& origin, const std::string& file, bool quiet_ok) {
  zone::Diagnostics diag;
  auto z = zone::load_zone_file(origin, file, diag);
  for (const auto& w : diag.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!z) {
    for (const auto& e : diag.errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (diag.errors_dropped) std::fprintf(stderr, "(%zu more errors)\n", diag.errors_dropped);
    std::fprintf(stderr, "zone %s: not loaded due to errors\n", origin.c_str());
    return nullptr;
  }
  if (!quiet_ok) {
    std::printf("zone %s: loaded serial %u, %zu records\n", (*z)->origin_text().c_str(), (*z)->serial(),
                (*z)->record_count());
  }
  return *z;
}

int cmd_checkzone(const std::string& origin, const std::string& file) {
  if (!check_zone(origin, file, false)) return 1;
  std::printf("OK\n");
  return 0;
}

int cmd_checkconf(const std::string& path) {
  auto cfg = config::load_config(path);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return 1;
  }
  for (const auto& w : cfg->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  bool ok = true;
  // Edge certificates: each must load and match its key. A missing file is only a warning, so
  // that a config can be checked where its keys are not (CI, another machine).
  for (const auto& c : cfg->edge.certificates) {
    bool missing = false;
    auto checked = edge::check_certificate(c, missing);
    if (checked) continue;
    if (missing) {
      std::fprintf(stderr, "warning: edge certificate %s (not checked)\n", checked.error().message.c_str());
    } else {
      std::fprintf(stderr, "%s\n", error_at(path, c.line, "edge certificate " + checked.error().message).message.c_str());
      ok = false;
    }
  }
  // TLS to members: the CA file and client certificate must load (missing files only warn).
  for (const auto& p : cfg->edge.pools) {
    if (!p.tls.enabled) continue;
    auto made = edge::make_upstream_context(p.tls);
    if (made) continue;
    std::error_code fs_error;
    const bool missing = (!p.tls.ca_file.empty() && !std::filesystem::exists(p.tls.ca_file, fs_error)) ||
                         (!p.tls.cert_file.empty() && !std::filesystem::exists(p.tls.cert_file, fs_error)) ||
                         (!p.tls.key_file.empty() && !std::filesystem::exists(p.tls.key_file, fs_error));
    const std::string what = "edge pool " + p.name + ": " + made.error().message;
    if (missing) {
      std::fprintf(stderr, "warning: %s (not checked)\n", what.c_str());
    } else {
      std::fprintf(stderr, "%s\n", error_at(path, p.tls.line, what).message.c_str());
      ok = false;
    }
  }
  std::vector<std::shared_ptr<const zone::Zone>> zones;
  for (const auto& z : cfg->zones) {
    auto loaded = check_zone(z.origin, z.file, false);
    ok = loaded && ok;
    if (loaded) zones.push_back(std::move(loaded));
  }
  if (!ok) return 1;
  // Policy records must find their names in the zones.
  zone::ZoneSet set(std::move(zones));
  auto built = policy::PolicySet::build(*cfg, set, 1);
  for (const auto& e : built.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!built.errors.empty()) return 1;
  std::printf("%s: OK (%zu zones, %zu health checks, %zu policy records", path.c_str(), cfg->zones.size(),
              cfg->health_checks.size(), cfg->records.size());
  if (cfg->edge.enabled) {
    std::printf(", edge: %zu certificates, %zu routes, %zu pools", cfg->edge.certificates.size(),
                cfg->edge.routes.size(), cfg->edge.pools.size());
  }
  std::printf(")\n");
  return 0;
}

int cmd_run(const std::string& path) {
  log::setup("info");
  auto log = log::get("server");
  auto cfg = config::load_config(path);
  if (!cfg) {
    log->critical("{}", cfg.error().message);
    return 1;
  }
  log::setup(cfg->log.level);
  log->info("pharos {} starting config={}", PHAROS_VERSION, path);
  for (const auto& w : cfg->warnings) log->warn("{}", w);

  asio::io_context control_io(1);
  server::SnapshotStore store;
  server::Publisher publisher(store, server::Server::query_slots(cfg->server));
  // The edge role, when the config has an edge section. Its certificates are checked before
  // anything starts; a reload that drops the section leaves it running (restart to stop it).
  std::unique_ptr<edge::EdgeServer> edge;
  if (cfg->edge.enabled) {
    edge = std::make_unique<edge::EdgeServer>(cfg->edge);
    if (auto prepared = edge->prepare(*cfg, 0); !prepared) {
      log->critical("{}", prepared.error().message);
      return 1;
    }
  }
  const bool dns = cfg->dns;
  // Health checks run on their own thread; every change of a check's state publishes a snapshot
  // (and reaches the edge's pools).
  health::HealthEngine engine([&publisher, &edge](std::shared_ptr<const health::HealthView> v) {
    if (edge) edge->publish_health(v);
    publisher.publish_health(std::move(v));
  });
  server::Reloader reloader(path, publisher, &engine);

  // The reloader tells systemd RELOADING=1 when a reload starts; READY=1 follows below.
  auto request_reload = [&reloader](const std::string& reason) { reloader.request(reason); };

  // A peer that closes while we write must cost an error on that connection, not the process:
  // OpenSSL writes to the edge's sockets with write(), which raises SIGPIPE on a connection the
  // client reset (wrk ending its run did it; the process died with status 141).
  std::signal(SIGPIPE, SIG_IGN);
  // Signals first: from here on SIGHUP reloads instead of ending the process.
  asio::signal_set signals(control_io, SIGHUP, SIGINT, SIGTERM);
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log->info("server: SIGHUP, reloading");
      if (edge) edge->reopen_access_log();  // logrotate: the file was moved away; whatever the reload does
      request_reload("SIGHUP");
      signals.async_wait(on_signal);
      return;
    }
    // SIGTERM drains the edge first (its health endpoint fails, then it stops accepting and
    // lets requests finish); a second SIGTERM, or SIGINT, stops at once.
    if (sig == SIGTERM && edge && !edge->draining()) {
      log->info("server: SIGTERM, draining the edge");
      reloader.stop();
      sd::notify("STOPPING=1");
      edge->drain(control_io, [&control_io] { control_io.stop(); });
      signals.async_wait(on_signal);
      return;
    }
    log->info("server: {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    reloader.stop();
    sd::notify("STOPPING=1");
    control_io.stop();
  };
  signals.async_wait(on_signal);

  // Changes to watched files are collected for a moment, then reloaded in one go: an editor
  // or a deploy often touches several files in a row.
  asio::steady_timer debounce(control_io);
  std::set<std::string> changed;
  server::FileWatcher watcher(control_io, [&](const std::string& file) {
    bool first = changed.empty();
    changed.insert(file);
    if (!first) return;
    debounce.expires_after(std::chrono::milliseconds(100));
    debounce.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      std::string reason = "changed:";
      for (const auto& f : changed) reason += " " + f;
      changed.clear();
      request_reload(reason);
    });
  });
  // The policy records of the running config, for the control API's status (control thread).
  auto records = std::make_shared<const std::vector<config::PolicyRecord>>();
  // systemd (Type=notify) hears READY=1 once the server answers, and again after each reload.
  bool serving = false;
  std::string status;
  auto tell_systemd = [&] { sd::notify("READY=1\nSTATUS=" + status); };
  reloader.on_reloaded = [&](const config::Config& running, std::vector<std::string> files, uint64_t registry) {
    if (edge) {
      edge->apply(running, registry);
      for (std::string& f : edge->files()) files.push_back(std::move(f));
    }
    if (running.dns != dns) log->warn("config {}: the dns role starts or stops on restart only", path);
    auto now = std::make_shared<const std::vector<config::PolicyRecord>>(running.records);
    std::string now_status = "serving ";
    if (dns) {
      now_status += std::to_string(running.zones.size()) + " zones, " + std::to_string(running.records.size()) +
                    " policy records, ";
    }
    if (edge) now_status += "edge with " + std::to_string(running.edge.routes.size()) + " routes, ";
    now_status += std::to_string(running.health_checks.size()) + " health checks";
    asio::post(control_io, [&watcher, &reloader, &records, &serving, &status, &tell_systemd, now = std::move(now),
                            now_status = std::move(now_status), files = std::move(files),
                            dirs = running.zone_directories] {
      records = now;
      status = now_status;
      if (serving) tell_systemd();
      watcher.watch(files, dirs);
      reloader.check();
    });
  };
  if (auto started = reloader.start(*cfg); !started) {
    log->critical("{}", started.error().message);
    return 1;
  }
  // Cold start: the first answers follow real health, not the all-down rule, as far as the
  // first round of probes can tell within the longest timeout.
  if (!cfg->health_checks.empty()) {
    std::chrono::milliseconds limit{0};
    for (const auto& c : cfg->health_checks) limit = std::max(limit, c.timeout);
    engine.wait_initial_round(limit + std::chrono::milliseconds(100));
  }
  // Arm the first watches before serving, so a change made once the server answers is seen.
  control_io.poll();

  // The control API: status, overrides and reload, on the control thread. Its listeners and
  // token are read at start-up only.
  control::Hooks hooks;
  hooks.health = &engine;
  hooks.records = [&records, &store](const health::EngineStatus& status) {
    boost::json::value described = control::describe_records(*records, status);
    if (auto snapshot = store.current()) server::mark_answering(described, *snapshot);
    return described;
  };
  hooks.reload = [&request_reload] { request_reload("control API"); };
  hooks.version = PHAROS_VERSION;
  server::Server server(cfg->server, store);
  // Zones, queries answered and explain, for the status page and `pharos ctl explain`.
  hooks.zones = [&reloader] { return server::zones_json(reloader.zones()); };
  hooks.queries = [&server] { return server.queries(); };
  if (dns) {
    hooks.explain = [&store, &engine, &records](const control::ExplainQuery& q) {
      return server::explain(server::ExplainContext{store.current(), engine.status(), records}, q);
    };
  }
  // Every metric, for GET /metrics (control thread): each part writes its own families.
  const int64_t start_time =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto scrape = [&]() {
    metrics::TextWriter w;
    w.family("pharos_build_info", "gauge", "Always 1; the version in a label.");
    w.sample("pharos_build_info", metrics::TextWriter::labels({{"version", PHAROS_VERSION}}), uint64_t{1});
    w.family("pharos_process_start_time_seconds", "gauge", "When the process started (unix time).");
    w.sample("pharos_process_start_time_seconds", "", static_cast<uint64_t>(start_time));
    if (dns) {
      server.write_metrics(w);
      reloader.write_metrics(w);
      publisher.write_answers(w);
    }
    health::write_metrics(w, engine.status());
    if (edge) edge->write_metrics(w);
    return w.text();
  };
  hooks.metrics = scrape;
  control::ControlServer control_server(control_io, cfg->control, std::move(hooks));
  if (auto started = control_server.start(); !started) {
    log->critical("control: {}", started.error().message);
    return 1;
  }
  // The Prometheus endpoint: the control server's HTTP handling, serving GET /metrics only.
  std::unique_ptr<control::ControlServer> metrics_server;
  if (cfg->metrics.enabled) {
    config::ControlConfig endpoint;
    endpoint.has_listen = true;
    endpoint.listen = cfg->metrics.listen;
    control::Hooks metrics_hooks;
    metrics_hooks.metrics = scrape;
    metrics_hooks.metrics_only = true;
    metrics_hooks.version = PHAROS_VERSION;
    metrics_server = std::make_unique<control::ControlServer>(control_io, endpoint, std::move(metrics_hooks));
    if (auto started = metrics_server->start(); !started) {
      log->critical("metrics: {}", started.error().message);
      return 1;
    }
  }
  if (dns) {
    if (auto started = server.start(); !started) {
      log->critical("server: {}", started.error().message);
      return 1;
    }
  }
  if (edge) {
    if (auto started = edge->start(); !started) {
      log->critical("{}", started.error().message);
      return 1;
    }
  }

  serving = true;
  tell_systemd();

  // Free old snapshots once no worker holds them, here rather than on a worker thread.
  asio::steady_timer collector(control_io);
  std::function<void(boost::system::error_code)> collect = [&](boost::system::error_code ec) {
    if (ec) return;
    store.collect();
    collector.expires_after(std::chrono::milliseconds(250));
    collector.async_wait(collect);
  };
  collect({});

  control_io.run();
  if (metrics_server) metrics_server->stop();
  control_server.stop();
  if (edge) edge->stop();
  server.stop();
  log->info("server: stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& cmd = args[0];
  if (cmd == "--version" || cmd == "-V" || cmd == "version") {
    std::printf("pharos %s\n", PHAROS_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if ((cmd == "--config" || cmd == "-c") && args.size() == 2) return cmd_run(args[1]);
  if (cmd.rfind("--config=", 0) == 0 && args.size() == 1) return cmd_run(cmd.substr(9));
  if (cmd == "checkconf" && args.size() == 2) return cmd_checkconf(args[1]);
  if (cmd == "checkzone" && args.size() == 3) return cmd_checkzone(args[1], args[2]);
  if (cmd == "ctl") return control::run_ctl(std::vector<std::string>(args.begin() + 1, args.end()));
  std::fputs(kUsage, stderr);
  return 2;
}
