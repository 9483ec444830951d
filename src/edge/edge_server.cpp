#include "edge/edge_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <array>
#include <cstring>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "edge/balancer.h"
#include "edge/upstream_tls.h"
#include "edge/worker.h"

namespace pharos::edge {

namespace {

std::string endpoint_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
}

// `count` listening sockets on one address, SO_REUSEPORT; port 0 picks one port for them all.
Result<std::vector<int>> open_listeners(const config::ListenAddress& addr, unsigned count, std::string& bound) {
  std::vector<int> fds;
  auto fail = [&](const std::string& what) -> Result<std::vector<int>> {
    const int err = errno;
    for (int fd : fds) ::close(fd);
    return Error{"edge listen " + addr.to_string() + ": " + what + ": " + std::strerror(err)};
  };
  const bool v6 = addr.address.find(':') != std::string::npos;
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(addr.port);
    inet_pton(AF_INET6, addr.address.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(addr.port);
    inet_pton(AF_INET, addr.address.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  for (unsigned i = 0; i < count; ++i) {
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail("socket");
    fds.push_back(fd);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return fail("SO_REUSEPORT");
    if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return fail("bind");
    if (::listen(fd, SOMAXCONN) != 0) return fail("listen");
    if (i == 0) {
      // Port 0: the others bind the port the kernel gave the first.
      sockaddr_storage got{};
      socklen_t got_len = sizeof got;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
      bound = endpoint_text(got);
      if (v6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = reinterpret_cast<sockaddr_in6*>(&got)->sin6_port;
      else reinterpret_cast<sockaddr_in*>(&ss)->sin_port = reinterpret_cast<sockaddr_in*>(&got)->sin_port;
    }
  }
  return fds;
}

uint16_t port_of(const std::string& bound) { return static_cast<uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1))); }

// How a pool reaches its members, as a key: "" for plain HTTP.
std::string transport_of(const config::EdgePool& p) {
  std::string t;
  if (p.tls.enabled) {
    t += "tls name=" + p.tls.name + " verify=" + (p.tls.verify ? "1" : "0") + " ca=" + p.tls.ca_file +
         " cert=" + p.tls.cert_file + ";";
  }
  if (p.proxy_protocol == config::ProxyProtocol::V1) t += "proxy-v1;";
  if (p.proxy_protocol == config::ProxyProtocol::V2) t += "proxy-v2;";
  return t;
}

}  // namespace

EdgeServer::EdgeServer(const config::EdgeConfig& cfg) : boot_(cfg), shared_(std::make_unique<Shared>()) {
  shared_->log = log::get("edge");
  if (cfg.access_log == "stderr") {
    access_fd_ = 2;
  } else if (cfg.access_log != "off") {
    access_fd_ = ::open(cfg.access_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (access_fd_ < 0) {
      shared_->log->error("edge: cannot open access log {}: {}; access log off", cfg.access_log, std::strerror(errno));
    } else {
      own_access_fd_ = true;
    }
  }
  shared_->access_fd = access_fd_;
}

EdgeServer::~EdgeServer() {
  stop();
  if (own_access_fd_) ::close(access_fd_);
}

std::shared_ptr<MemberRuntime> EdgeServer::runtime_for(const config::ListenAddress& a, const std::string& transport) {
  const std::string address = a.to_string();
  const std::string key = transport.empty() ? address : address + " " + transport;
  auto it = runtimes_.find(key);
  if (it != runtimes_.end()) return it->second;
  auto rt = std::make_shared<MemberRuntime>();
  rt->address = address;
  rt->endpoint = tcp::endpoint(asio::ip::make_address(a.address), a.port);
  rt->upstream_id = next_upstream_id_++;
  rt->key = hash_bytes(address.data(), address.size());
  rt->workers = boot_.workers ? boot_.workers : std::max(1u, std::thread::hardware_concurrency());
  rt->counters = std::make_unique<MemberCounters[]>(rt->workers);
  runtimes_.emplace(key, rt);
  return rt;
}

std::shared_ptr<EdgeState> EdgeServer::build(const config::Config& cfg, uint64_t registry,
                                             std::shared_ptr<const CertSet> certs, const EdgeState* previous,
                                             std::vector<std::string>& errors) {
  auto s = std::make_shared<EdgeState>();
  s->registry = registry;
  s->cfg = cfg.edge;
  s->certs = std::move(certs);
  s->https_port = https_port_;
  std::vector<std::string> names;
  for (const auto& p : cfg.edge.pools) names.push_back(p.name);
  s->router = Router(cfg.edge.routes, names);
  s->access = AccessList(cfg.edge.access.allow, cfg.edge.access.deny);
  for (const auto& p : cfg.edge.pools) {
    PoolState ps;
    ps.name = p.name;
    ps.balance = p.balance;
    ps.max_fails = p.max_fails;
    ps.fail_timeout = p.fail_timeout;
    ps.fail_status = p.fail_status;
    ps.websocket = p.websocket;
    ps.tls = p.tls;
    ps.proxy_protocol = p.proxy_protocol;
    if (p.tls.enabled) {
      auto ctx = make_upstream_context(p.tls);
      if (ctx) {
        ps.tls_ctx = *ctx;
      } else {
        const PoolState* before = nullptr;
        if (previous) {
          for (const auto& o : previous->pools) {
            if (o.name == p.name && o.tls_ctx) before = &o;
          }
        }
        if (!before) {
          errors.push_back("edge pool " + p.name + ": " + ctx.error().message);
          return nullptr;
        }
        errors.push_back("edge pool " + p.name + ": " + ctx.error().message + "; the previous TLS settings keep serving");
        ps.tls = before->tls;
        ps.tls_ctx = before->tls_ctx;
      }
    }
    const std::string transport = transport_of(p);
    for (const auto& m : p.members) {
      PoolState::Member pm;
      pm.rt = runtime_for(m.address, transport);
      pm.weight = m.weight;
      if (!m.check.empty()) {
        // Check ids are positions in the config's (sorted) check list, as the engine numbers them.
        for (size_t i = 0; i < cfg.health_checks.size(); ++i) {
          if (cfg.health_checks[i].name == m.check) pm.check = static_cast<int>(i);
        }
      }
      ps.members.push_back(std::move(pm));
    }
    s->pools.push_back(std::move(ps));
  }
  s->upstream_ids = next_upstream_id_;
  return s;
}

Result<void> EdgeServer::prepare(const config::Config& cfg, uint64_t registry) {
  std::lock_guard lock(mutex_);
  CertLoad load = load_certificates(cfg.edge.certificates, nullptr);
  if (!load.errors.empty()) {
    std::string text;
    for (const auto& e : load.errors) text += (text.empty() ? "edge certificate " : "\nedge certificate ") + e;
    return Error{text};
  }
  for (const auto& l : load.loaded) shared_->log->info("edge certificate {}: loaded", l);
  std::vector<std::string> errors;
  auto state = build(cfg, registry, load.set, nullptr, errors);
  if (!state) {
    std::string text;
    for (const auto& e : errors) text += (text.empty() ? "" : "\n") + e;
    return Error{text};
  }
  certs_ = load.set;
  registry_ = registry;
  config_ = cfg;
  shared_->publication.publish_state(std::move(state));
  return {};
}

void EdgeServer::apply(const config::Config& cfg, uint64_t registry) {
  std::lock_guard lock(mutex_);
  auto& log = shared_->log;
  if (!cfg.edge.enabled) {
    log->warn("edge: the new config has no edge section; the edge keeps running with its previous config until restart");
    return;
  }
  auto same = [](const std::vector<config::ListenAddress>& a, const std::vector<config::ListenAddress>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].to_string() != b[i].to_string()) return false;
    }
    return true;
  };
  if (!same(cfg.edge.https_listen, boot_.https_listen) || !same(cfg.edge.http_listen, boot_.http_listen) ||
      cfg.edge.workers != boot_.workers || cfg.edge.access_log != boot_.access_log) {
    log->warn("edge: listen addresses, workers and access_log change on restart only; the rest is applied");
  }
  CertLoad load = load_certificates(cfg.edge.certificates, certs_.get());
  for (const auto& l : load.loaded) log->info("edge certificate {}: loaded", l);
  for (const auto& e : load.errors) {
    log->error("edge certificate {}; {}", e,
               "the previous certificate and key (if any) keep serving");
  }
  certs_ = load.set;
  std::vector<std::string> errors;
  auto previous = shared_->publication.state();
  auto state = build(cfg, registry, certs_, previous.get(), errors);
  for (const auto& e : errors) log->error("{}", e);
  if (!state) {
    log->error("edge: the new routes and pools are not applied; the previous ones keep serving");
    return;
  }
  registry_ = registry;
  config_ = cfg;
  shared_->publication.publish_state(std::move(state));
}

void EdgeServer::publish_health(std::shared_ptr<const health::HealthView> view) {
  shared_->publication.publish_view(std::move(view));
}

Result<void> EdgeServer::start() {
  unsigned n = boot_.workers ? boot_.workers : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::vector<int>> https(n), http(n);
  auto close_all = [&] {
    for (auto& v : https)
      for (int fd : v) ::close(fd);
    for (auto& v : http)
      for (int fd : v) ::close(fd);
  };
  for (const auto& a : boot_.https_listen) {
    std::string bound;
    auto fds = open_listeners(a, n, bound);
    if (!fds) {
      close_all();
      return fds.error();
    }
    for (unsigned i = 0; i < n; ++i) https[i].push_back((*fds)[i]);
    https_bound_.push_back(bound);
  }
  for (const auto& a : boot_.http_listen) {
    std::string bound;
    auto fds = open_listeners(a, n, bound);
    if (!fds) {
      close_all();
      return fds.error();
    }
    for (unsigned i = 0; i < n; ++i) http[i].push_back((*fds)[i]);
    http_bound_.push_back(bound);
  }
  if (!https_bound_.empty()) {
    // Redirects name the first https listener's port; the state learns it now.
    std::lock_guard lock(mutex_);
    https_port_ = port_of(https_bound_.front());
    auto s = std::make_shared<EdgeState>(*shared_->publication.state());
    s->https_port = https_port_;
    shared_->publication.publish_state(std::move(s));
  }
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, *shared_, std::move(https[i]), std::move(http[i])));
  }
  for (auto& w : workers_) w->start();
  for (const auto& b : https_bound_) shared_->log->info("edge: listening https={} workers={}", b, n);
  for (const auto& b : http_bound_) {
    shared_->log->info("edge: listening http={} workers={} ({})", b, n,
                       https_bound_.empty() ? "proxying" : "redirects to https, acme challenges");
  }
  return {};
}

namespace {

// Waits for the last connection to close, or for the drain timeout.
struct Drainer : std::enable_shared_from_this<Drainer> {
  Drainer(asio::io_context& io, std::function<size_t()> open, std::function<void()> done, spdlog::logger& log)
      : timer(io), open(std::move(open)), done(std::move(done)), log(log) {}
  asio::steady_timer timer;
  std::function<size_t()> open;
  std::function<void()> done;
  spdlog::logger& log;
  SteadyClock::time_point deadline{};

  void poll() {
    const size_t n = open();
    if (n == 0) {
      log.info("edge: drained");
      done();
      return;
    }
    if (SteadyClock::now() >= deadline) {
      log.warn("edge: drain timeout, dropping {} open connection{}", n, n == 1 ? "" : "s");
      done();
      return;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->poll();
    });
  }
};

}  // namespace

void EdgeServer::drain(asio::io_context& io, std::function<void()> done) {
  if (shared_->draining.exchange(true)) return;
  auto state = shared_->publication.state();
  const auto delay = state ? state->cfg.drain_delay : std::chrono::milliseconds(0);
  const auto timeout = state ? state->cfg.drain_timeout : std::chrono::milliseconds(0);
  shared_->log->info("edge: draining: the health endpoint fails; accepting for {}ms more", delay.count());
  auto d = std::make_shared<Drainer>(io, [this] { return open_connections(); }, std::move(done), *shared_->log);
  d->timer.expires_after(delay);
  d->timer.async_wait([this, d, timeout](error_code ec) {
    if (ec) return;
    shared_->closing.store(true);
    for (auto& w : workers_) w->begin_close();
    d->deadline = SteadyClock::now() + timeout;
    const size_t n = open_connections();
    shared_->log->info("edge: stopped accepting; {} connection{} open, {}ms to finish", n, n == 1 ? "" : "s",
                       timeout.count());
    d->poll();
  });
}

bool EdgeServer::draining() const { return shared_->draining.load(); }

void EdgeServer::reopen_access_log() {
  if (!own_access_fd_) return;
  const int fd = ::open(boot_.access_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    shared_->log->error("edge: cannot reopen access log {}: {}; writing on to the old file", boot_.access_log,
                        std::strerror(errno));
    return;
  }
  // dup2 swaps the file under the descriptor workers hold, atomically; O_CLOEXEC goes with it.
  if (::dup3(fd, access_fd_, O_CLOEXEC) < 0) {
    shared_->log->error("edge: cannot reopen access log {}: {}", boot_.access_log, std::strerror(errno));
  } else {
    shared_->log->info("edge: access log {} reopened", boot_.access_log);
  }
  ::close(fd);
}

void EdgeServer::stop() {
  for (auto& w : workers_) w->stop();
  workers_.clear();
}

std::vector<std::string> EdgeServer::files() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& c : config_.edge.certificates) {
    out.push_back(c.cert_file);
    out.push_back(c.key_file);
  }
  return out;
}

EdgeStats EdgeServer::stats() const {
  EdgeStats s;
  for (const auto& w : workers_) s.add(w->counters());
  return s;
}

void EdgeServer::write_metrics(metrics::TextWriter& w) const {
  using metrics::TextWriter;
  const EdgeStats s = stats();
  for (size_t i = 0; i < static_cast<size_t>(Stat::kCount); ++i) {
    const auto stat = static_cast<Stat>(i);
    if (stat >= Stat::Status1xx && stat <= Stat::Status5xx) continue;  // responses_total{status}
    if (stat == Stat::UpstreamLatencyUs || stat == Stat::UpstreamLatencyCount) continue;  // the histogram
    // "requests" is pharos_edge_requests_total{pool,status} below; this one counts every request read.
    const char* name = stat == Stat::Requests ? "client_requests" : kStatNames[i];
    w.counter(std::string("pharos_edge_") + name + "_total", kStatHelp[i], s.v[i]);
  }
  const char* classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  w.family("pharos_edge_responses_total", "counter",
           "Responses sent to clients (by members or by the edge itself), by status class.");
  for (size_t c = 0; c < 5; ++c) {
    w.sample("pharos_edge_responses_total", TextWriter::labels({{"status", classes[c]}}),
             s.v[static_cast<size_t>(Stat::Status1xx) + c]);
  }
  w.family("pharos_edge_open_connections", "gauge", "Client connections open now.");
  w.sample("pharos_edge_open_connections", "", static_cast<uint64_t>(open_connections()));

  // Per pool and member, from the running state (a member of two pools shows its counts in both).
  std::shared_ptr<const EdgeState> state;
  std::shared_ptr<const health::HealthView> view;
  shared_->publication.get(state, view);
  struct MemberRow {
    std::string labels;
    metrics::HistogramValues latency;
    bool up;
  };
  std::vector<std::pair<std::string, std::array<uint64_t, 5>>> pools;
  std::vector<MemberRow> members;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  static const std::vector<PoolState> kNoPools;
  for (const PoolState& p : state ? state->pools : kNoPools) {
    std::array<uint64_t, 5> by_class{};
    for (const PoolState::Member& m : p.members) {
      MemberRow row{TextWriter::labels({{"pool", p.name}, {"member", m.rt->address}}), {}, false};
      for (unsigned i = 0; i < m.rt->workers; ++i) {
        for (size_t c = 0; c < 5; ++c) by_class[c] += m.rt->counters[i].status[c].get();
        row.latency.add(m.rt->counters[i].latency.values());
      }
      const bool checked = m.check < 0 || (view && view->check(static_cast<uint32_t>(m.check)) == health::Health::Healthy);
      row.up = checked && !m.rt->passively_down(now);
      members.push_back(std::move(row));
    }
    pools.emplace_back(p.name, by_class);
  }
  w.family("pharos_edge_requests_total", "counter", "Responses from a pool's members, by pool and status class.");
  for (const auto& [pool, by_class] : pools) {
    for (size_t c = 0; c < 5; ++c) {
      w.sample("pharos_edge_requests_total", TextWriter::labels({{"pool", pool}, {"status", classes[c]}}), by_class[c]);
    }
  }
  w.family("pharos_edge_upstream_duration_seconds", "histogram",
           "Upstream latency by pool and member: request written to response head read.");
  for (const MemberRow& m : members) metrics::write_histogram(w, "pharos_edge_upstream_duration_seconds", m.labels, m.latency);
  w.family("pharos_edge_member_up", "gauge",
           "Whether a member takes requests: 1 up, 0 down (its check fails, or passive health took it out).");
  for (const MemberRow& m : members) w.sample("pharos_edge_member_up", m.labels, uint64_t{m.up});
}

size_t EdgeServer::open_connections() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->open();
  return n;
}

}  // namespace pharos::edge
