// The control server. Everything runs on the given io_context: an accept loop per listener and a
// coroutine per connection, which reads requests with Beast and answers them through Api.
#include "control/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <array>
#include <cstring>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"

namespace pharos::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr auto kRefuseTimeout = std::chrono::seconds(1);  // to tell an over-the-cap client so
constexpr size_t kDrainLimit = 1 << 20;                   // read and drop after an error reply, at most

bool is_http_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

std::string peer_of(const tcp::socket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "tcp peer";
  return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                              : ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::string peer_of(local::socket& s) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "unix peer";
  return "unix peer pid=" + std::to_string(cred.pid) + " uid=" + std::to_string(cred.uid);
}

}  // namespace

struct ControlServer::Impl {
  Impl(asio::io_context& io, const config::ControlConfig& config, Hooks hooks, Limits limits)
      : io(io), config(config), version(hooks.version), what(hooks.metrics_only ? "metrics" : "control"),
        api(std::move(hooks), config.token), limits(limits) {}

  asio::io_context& io;
  config::ControlConfig config;
  std::string version;
  std::string what;  // "control", or "metrics" for the metrics endpoint: how the log names it
  Api api;
  Limits limits;
  std::shared_ptr<spdlog::logger> log = log::get("control");

  std::unique_ptr<local::acceptor> unix_acceptor;
  std::unique_ptr<tcp::acceptor> tcp_acceptor;
  std::string socket_path;  // set once bound; the file we remove on stop
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;
  std::optional<config::ListenAddress> bound;

  unsigned open = 0;  // connections being served
  uint64_t next_session = 0;
  std::map<uint64_t, std::function<void()>> sessions;  // each one's close, for stop()
  bool stopped = false;

  Result<void> listen_unix();
  Result<void> listen_tcp();
  void close_all();
  http::response<http::string_body> make_response(const Reply& reply, unsigned version, bool keep_alive) const;
};

Result<void> ControlServer::Impl::listen_unix() {
  const std::string& path = config.socket;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error{"control socket " + path + ": path is too long (" + std::to_string(path.size()) + " bytes, at most " +
                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ")"};
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Error{"control socket " + path + ": exists and is not a socket; not replacing it"};
    // A socket file: in use if someone accepts on it, stale (left by a process that died) if not.
    local::socket probe(io);
    error_code ec;
    probe.open(local(), ec);
    if (!ec) probe.non_blocking(true, ec);
    if (!ec) probe.connect(local::endpoint(path), ec);
    if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) {
      return Error{"control socket " + path + ": another process is accepting on it (is pharos already running?)"};
    }
    if (ec != asio::error::connection_refused) return Error{"control socket " + path + ": " + ec.message()};
    if (unlink(path.c_str()) != 0) {
      return Error{"control socket " + path + ": cannot remove the stale socket file: " + std::strerror(errno)};
    }
    log->info("control socket {}: replaced a stale socket file", path);
  }
  auto acceptor = std::make_unique<local::acceptor>(io);
  error_code ec;
  acceptor->open(local(), ec);
  if (!ec) acceptor->bind(local::endpoint(path), ec);
  if (ec) return Error{"control socket " + path + ": cannot bind: " + ec.message()};
  // Owner only. Nobody can connect before listen(), so there is no window with wider access.
  if (chmod(path.c_str(), 0600) != 0 || lstat(path.c_str(), &st) != 0) {
    Error e{"control socket " + path + ": cannot set mode 0600: " + std::strerror(errno)};
    unlink(path.c_str());
    return e;
  }
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    unlink(path.c_str());
    return Error{"control socket " + path + ": cannot listen: " + ec.message()};
  }
  socket_path = path;
  socket_dev = st.st_dev;
  socket_ino = st.st_ino;
  unix_acceptor = std::move(acceptor);
  log->info("control: listening on unix socket {}", path);
  return {};
}

Result<void> ControlServer::Impl::listen_tcp() {
  const std::string where = config.listen.to_string();
  error_code ec;
  const auto address = asio::ip::make_address(config.listen.address, ec);
  if (ec) return Error{what + " listen " + where + ": invalid address"};
  const tcp::endpoint endpoint(address, config.listen.port);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{what + " listen " + where + ": " + ec.message()};
  bound = config::ListenAddress{config.listen.address, acceptor->local_endpoint().port()};
  tcp_acceptor = std::move(acceptor);
  log->info("{}: listening on {}{}", what, bound->to_string(), config.token.empty() ? "" : " (token required)");
  return {};
}

http::response<http::string_body> ControlServer::Impl::make_response(const Reply& reply, unsigned http_version,
                                                                    bool keep_alive) const {
  http::response<http::string_body> res{static_cast<http::status>(reply.status), http_version};
  res.set(http::field::server, "pharos/" + version);
  res.set(http::field::cache_control, "no-store");
  if (!reply.content_type.empty()) {
    // A file of the status page, or the metrics text (the headers do no harm there).
    res.set(http::field::content_type, reply.content_type);
    res.set("Content-Security-Policy", kStatusPagePolicy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
  } else if (!reply.body.empty()) {
    res.set(http::field::content_type, "application/json");
  }
  if (!reply.allow.empty()) res.set(http::field::allow, reply.allow);
  if (!reply.location.empty()) res.set(http::field::location, reply.location);
  if (reply.status == 401) res.set(http::field::www_authenticate, "Bearer");
  res.body() = reply.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

void ControlServer::Impl::close_all() {
  error_code ec;
  if (unix_acceptor) unix_acceptor->close(ec);
  if (tcp_acceptor) tcp_acceptor->close(ec);
  for (auto& [id, close] : sessions) close();
}

namespace {

using ImplPtr = std::shared_ptr<ControlServer::Impl>;

// After an error reply that ends the connection: stop sending, and read (and drop) what the
// client is still sending, so that closing does not reset the connection before it has read
// the reply.
template <class Stream>
asio::awaitable<void> linger(Stream& stream) {
  error_code ec;
  stream.socket().shutdown(asio::socket_base::shutdown_send, ec);
  stream.expires_after(kRefuseTimeout);
  std::array<char, 4096> scratch;
  size_t dropped = 0;
  while (dropped < kDrainLimit) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), kUse);
    if (rec) break;
    dropped += n;
  }
}

}  // namespace

// The coroutines are members of no class so that they can hold the Impl alive themselves.
struct Coroutines {
  template <class Protocol>
  static asio::awaitable<void> session(ImplPtr self, typename Protocol::socket socket, std::string peer) {
    ControlServer::Impl& m = *self;
    beast::basic_stream<Protocol> stream(std::move(socket));
    const uint64_t id = m.next_session++;
    m.sessions.emplace(id, [&stream] { stream.close(); });
    struct Done {
      ControlServer::Impl& m;
      uint64_t id;
      ~Done() {
        m.sessions.erase(id);
        --m.open;
      }
    } done{m, id};

    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(m.limits.header_limit));
      parser.body_limit(m.limits.body_limit);
      stream.expires_after(m.limits.idle_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kUse);
      Reply reply;
      unsigned http_version = 11;
      bool keep_alive = true;
      if (ec) {
        if (ec == http::error::body_limit) {
          reply = error_reply(413, "request body too large (limit " + std::to_string(m.limits.body_limit) + " bytes)");
        } else if (ec == http::error::header_limit) {
          reply = error_reply(431, "request headers too large (limit " + std::to_string(m.limits.header_limit) +
                                       " bytes)");
        } else if (is_http_error(ec)) {
          reply = error_reply(400, "malformed HTTP request: " + ec.message());
        } else {
          break;  // closed, reset, idle for too long, or stopped
        }
        keep_alive = false;
        m.log->debug("control: {}: {}", peer, reply.error);
      } else {
        auto& req = parser.get();
        Request request{std::string(req.method_string()), std::string(req.target()),
                        std::string(req[http::field::authorization]), std::move(req.body())};
        reply = m.api.handle(request);
        http_version = req.version();
        keep_alive = req.keep_alive();
        const std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
        if (reply.auth_failed) {
          m.log->warn("control: {}: {} {} refused: {}", peer, request.method, path, reply.error);
        } else {
          m.log->debug("control: {}: {} {} -> {}", peer, request.method, path, reply.status);
        }
      }
      auto res = m.make_response(reply, http_version, keep_alive);
      stream.expires_after(m.limits.idle_timeout);
      auto [wec, written] = co_await http::async_write(stream, res, kUse);
      if (wec) break;
      if (!keep_alive) {
        if (reply.status >= 400) co_await linger(stream);
        break;
      }
    }
    error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
    stream.socket().close(ignored);
  }

  // Over the connection cap: say so and close.
  template <class Protocol>
  static asio::awaitable<void> refuse(ImplPtr self, typename Protocol::socket socket) {
    beast::basic_stream<Protocol> stream(std::move(socket));
    auto res = self->make_response(
        error_reply(503, "too many control connections (limit " + std::to_string(self->limits.max_connections) + ")"),
        11, false);
    stream.expires_after(kRefuseTimeout);
    auto [ec, n] = co_await http::async_write(stream, res, kUse);
    if (!ec) co_await linger(stream);
  }

  template <class Protocol>
  static asio::awaitable<void> accept_loop(ImplPtr self, typename Protocol::acceptor& acceptor) {
    ControlServer::Impl& m = *self;
    asio::steady_timer backoff(m.io);
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUse);
      if (m.stopped || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors or similar: say so, wait, go on.
        m.log->warn("control: accept: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(kUse);
        continue;
      }
      std::string peer = peer_of(socket);
      if (m.open >= m.limits.max_connections) {
        m.log->warn("control: {}: refused, already {} connections open", peer, m.open);
        asio::co_spawn(m.io, refuse<Protocol>(self, std::move(socket)), asio::detached);
        continue;
      }
      ++m.open;
      asio::co_spawn(m.io, session<Protocol>(self, std::move(socket), std::move(peer)), asio::detached);
    }
  }
};

ControlServer::ControlServer(asio::io_context& io, const config::ControlConfig& config, Hooks hooks, Limits limits)
    : impl_(std::make_shared<Impl>(io, config, std::move(hooks), limits)) {}

ControlServer::~ControlServer() { stop(); }

Result<void> ControlServer::start() {
  Impl& m = *impl_;
  if (!m.config.socket.empty()) {
    if (auto r = m.listen_unix(); !r) return r;
  }
  if (m.config.has_listen) {
    if (auto r = m.listen_tcp(); !r) {
      stop();
      return r;
    }
  }
  if (m.unix_acceptor) {
    asio::co_spawn(m.io, Coroutines::accept_loop<local>(impl_, *m.unix_acceptor), asio::detached);
  }
  if (m.tcp_acceptor) {
    asio::co_spawn(m.io, Coroutines::accept_loop<tcp>(impl_, *m.tcp_acceptor), asio::detached);
  }
  return {};
}

void ControlServer::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.close_all();
  if (!m.socket_path.empty()) {
    // Only our own file: another process may have replaced it meanwhile.
    struct stat st {};
    if (lstat(m.socket_path.c_str(), &st) == 0 && st.st_dev == m.socket_dev && st.st_ino == m.socket_ino) {
      unlink(m.socket_path.c_str());
    }
  }
  if (m.unix_acceptor || m.tcp_acceptor) m.log->info("control: stopped");
}

const std::string& ControlServer::socket_path() const { return impl_->socket_path; }

std::optional<config::ListenAddress> ControlServer::tcp_address() const { return impl_->bound; }

}  // namespace pharos::control
