#include "server/server.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/log.h"

namespace pharos::server {

Server::Server(const config::ServerConfig& cfg, const SnapshotStore& store)
    : cfg_(cfg), store_(store), workers_(cfg.workers ? cfg.workers : std::max(1u, std::thread::hardware_concurrency())) {}

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
  for (unsigned w = 0; w < workers_; ++w) {
    std::vector<TcpListener> tcp;
    for (size_t a = 0; a < sockets_.size(); ++a) {
      const ListenSockets& s = sockets_[a];
      std::string name = "pharos-udp" + std::to_string(w) + (sockets_.size() > 1 ? "." + std::to_string(a) : "");
      udp_.push_back(std::make_unique<UdpWorker>(name, UdpSocket{s.udp[w], s.ipv6, s.wildcard}, store_));
      tcp.push_back(TcpListener{s.tcp[w], s.ipv6});
    }
    tcp_.push_back(std::make_unique<TcpWorker>(w, std::move(tcp), store_, limits, open_tcp_));
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
