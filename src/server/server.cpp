#include "server/server.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/log.h"

namespace pharos::server {

namespace {
unsigned workers_of(const config::ServerConfig& cfg) {
  return cfg.workers ? cfg.workers : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

Server::Server(const config::ServerConfig& cfg, const SnapshotStore& store)
    : cfg_(cfg), store_(store), workers_(workers_of(cfg)) {}

unsigned Server::query_slots(const config::ServerConfig& cfg) {
  return workers_of(cfg) * static_cast<unsigned>(cfg.listen.size() + 1);
}

void Server::write_metrics(metrics::TextWriter& w) const {
  std::lock_guard lock(workers_mutex_);
  std::vector<const query::QueryCounters*> counters;
  uint64_t batches = 0, oversized = 0, send_errors = 0;
  for (const auto& u : udp_) {
    counters.push_back(&u->query_counters());
    batches += u->counters().batches.get();
    oversized += u->counters().oversized.get();
    send_errors += u->counters().send_errors.get();
  }
  uint64_t accepted = 0, refused = 0, timeouts = 0, malformed = 0;
  for (const auto& t : tcp_) {
    counters.push_back(&t->query_counters());
    accepted += t->counters().accepted.get();
    refused += t->counters().refused.get();
    timeouts += t->counters().timeouts.get();
    malformed += t->counters().malformed.get();
  }
  query::write_metrics(w, counters);
  w.counter("pharos_server_udp_batches_total", "Batches of datagrams read with one recvmmsg.", batches);
  w.counter("pharos_server_udp_oversized_total", "Datagrams larger than the receive buffer, dropped.", oversized);
  w.counter("pharos_server_udp_send_errors_total", "UDP replies the kernel refused.", send_errors);
  w.counter("pharos_server_tcp_accepted_total", "TCP connections accepted.", accepted);
  w.counter("pharos_server_tcp_refused_total", "TCP connections refused over tcp_max_connections.", refused);
  w.counter("pharos_server_tcp_timeouts_total", "TCP connections closed for idleness.", timeouts);
  w.counter("pharos_server_tcp_malformed_total", "TCP connections closed for a zero-length frame.", malformed);
  w.family("pharos_server_tcp_open_connections", "gauge", "TCP connections open now.");
  w.sample("pharos_server_tcp_open_connections", "", uint64_t{open_tcp_.load(std::memory_order_relaxed)});
}

Server::~Server() { stop(); }

Result<void> Server::start() {
  for (const config::ListenAddress& a : cfg_.listen) {
    auto s = open_listen_sockets(a, workers_);
    if (!s) {
      for (auto& open : sockets_) close_all(open);
      sockets_.clear();
      return s.error();
    }
    sockets_.push_back(std::move(*s));
  }
  TcpLimits limits{cfg_.tcp_idle_timeout, cfg_.tcp_max_connections};
  std::lock_guard lock(workers_mutex_);
  unsigned slot = 0;  // each query worker its own (UDP first, then TCP): query_slots() in all
  for (unsigned w = 0; w < workers_; ++w) {
    std::vector<TcpListener> tcp;
    for (size_t a = 0; a < sockets_.size(); ++a) {
      const ListenSockets& s = sockets_[a];
      std::string name = "pharos-udp" + std::to_string(w) + (sockets_.size() > 1 ? "." + std::to_string(a) : "");
      udp_.push_back(std::make_unique<UdpWorker>(name, UdpSocket{s.udp[w], s.ipv6, s.wildcard}, store_, slot++));
      tcp.push_back(TcpListener{s.tcp[w], s.ipv6});
    }
    tcp_.push_back(std::make_unique<TcpWorker>(w, std::move(tcp), store_, limits, open_tcp_,
                                               workers_ * static_cast<unsigned>(sockets_.size()) + w));
  }
  for (auto& w : udp_) w->start();
  for (auto& w : tcp_) w->start();
  auto log = log::get("server");
  for (const ListenSockets& s : sockets_) {
    log->info("server: listening address={} transports=udp,tcp workers={}", s.address, workers_);
  }
  return {};
}

void Server::stop() {
  std::lock_guard lock(workers_mutex_);
  for (auto& w : udp_) w->stop();
  for (auto& w : tcp_) w->stop();
  udp_.clear();  // the TCP workers own their listeners' descriptors (asio closes them)
  tcp_.clear();
  for (auto& s : sockets_) {
    for (int fd : s.udp) ::close(fd);
    s.udp.clear();
    s.tcp.clear();
  }
  sockets_.clear();
}

uint64_t Server::queries() const {
  std::lock_guard lock(workers_mutex_);
  uint64_t n = 0;
  auto add = [&n](const query::QueryCounters& c) { n += c.queries[0].get() + c.queries[1].get(); };
  for (const auto& w : udp_) add(w->query_counters());
  for (const auto& w : tcp_) add(w->query_counters());
  return n;
}

std::vector<std::string> Server::addresses() const {
  std::vector<std::string> out;
  for (const ListenSockets& s : sockets_) out.push_back(s.address);
  return out;
}

}  // namespace pharos::server
