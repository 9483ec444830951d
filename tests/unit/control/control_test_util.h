// Helpers for the control tests: a ControlServer on a temp Unix socket and 127.0.0.1:0, backed
// by a real HealthEngine whose tcp check probes a loopback listener the test owns; raw HTTP
// over either listener; run_ctl with captured output. Header-only (the test target compiles
// *_test.cpp files only).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <future>
#include <sstream>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "control/control_server.h"
#include "control/ctl.h"
#include "control/wire.h"
#include "health/engine.h"
#include "unit/health/test_servers.h"

namespace pharos::control::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using health::test::IoThread;
using health::test::TcpListener;
using health::test::TempDir;
using health::test::wait_until;
using namespace std::chrono_literals;

inline constexpr const char* kToken = "0123456789abcdef0123";

// Runs `f` on the io_context's thread and returns its result.
template <class F>
auto on_io(asio::io_context& io, F f) -> decltype(f()) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  asio::post(io, [&task] { task(); });
  return result.get();
}

struct HttpReply {
  unsigned status = 0;
  std::string body;
  http::fields headers;
  json::value json() const { return json::parse(body); }
  std::string error() const {
    auto v = json::parse(body);
    return std::string(v.at("error").as_string());
  }
};

// Sends `raw` (a whole request, or anything) and reads one response.
template <class Socket>
HttpReply http_exchange(Socket& socket, const std::string& raw) {
  asio::write(socket, asio::buffer(raw));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return HttpReply{res.result_int(), res.body(), res.base()};
}

inline std::string request(const std::string& method, const std::string& target, const std::string& body = "",
                           const std::string& headers = "", bool close = true) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + headers;
  if (close) r += "Connection: close\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

inline HttpReply over_unix(const std::string& path, const std::string& raw) {
  asio::io_context io;
  local::socket s(io);
  s.connect(local::endpoint(path));
  return http_exchange(s, raw);
}

inline HttpReply over_tcp(uint16_t port, const std::string& raw) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return http_exchange(s, raw);
}

struct CtlRun {
  int code;
  std::string out;
  std::string err;
};

inline CtlRun ctl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = run_ctl(args, out, err);
  return {code, out.str(), err.str()};
}

// A socket file nobody accepts on, as a process that died would leave it.
inline void make_stale_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
}

// The engine with one tcp check, "web-a", probing a listener we own; one policy record "www-a"
// whose member 192.0.2.10 follows web-a; a ControlServer on both listeners.
class Fixture {
 public:
  explicit Fixture(std::string token = "", Limits limits = {}, bool start_now = true) : engine_(nullptr) {
    config::HealthCheck c;
    c.name = "web-a";
    c.type = config::CheckType::Tcp;
    c.target = config::ListenAddress{"127.0.0.1", backend_.port()};
    c.interval = 200ms;
    c.timeout = 2s;
    c.rise = 1;
    c.fall = 1;
    engine_.configure(1, {c}, {health::MemberKey{"www-a", "192.0.2.10"}});

    config::PolicyRecord r;
    r.id = "www-a";
    r.name = "www.example.com.";
    r.type = 1;
    r.policy = config::Policy::Failover;
    config::PolicyMember m;
    m.value = "192.0.2.10";
    m.check = "web-a";
    r.members.push_back(m);
    records_.push_back(r);

    config_.socket = socket_path();
    config_.has_listen = true;
    config_.listen = config::ListenAddress{"127.0.0.1", 0};
    config_.token = std::move(token);
    limits_ = limits;
    if (start_now) REQUIRE_OK(start());
  }

  ~Fixture() {
    if (server_) on_io(io_.io(), [this] { server_->stop(); });
    io_.stop();
    server_.reset();
  }

  Hooks hooks() {
    Hooks h;
    h.health = &engine_;
    h.records = [this](const health::EngineStatus& s) { return describe_records(records_, s); };
    h.reload = [this] { ++reloads; };
    h.version = "9.9.9-test";
    return h;
  }

  Result<void> start() {
    server_ = std::make_unique<ControlServer>(io_.io(), config_, hooks(), limits_);
    return on_io(io_.io(), [this] { return server_->start(); });
  }

  static void REQUIRE_OK(const Result<void>& r) {
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.ok());
  }

  // Waits for web-a's first verdict (the listener accepts, so healthy).
  void wait_healthy() {
    REQUIRE(wait_until([&] {
      auto s = engine_.status();
      return !s.checks.empty() && s.checks[0].effective == health::Health::Healthy;
    }));
  }

  std::string socket_path() const { return dir_.path() / "ctl.sock"; }
  uint16_t backend_port() const { return backend_.port(); }
  uint16_t port() const { return server_->tcp_address()->port; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  health::HealthEngine& engine() { return engine_; }
  ControlServer& server() { return *server_; }
  asio::io_context& io() { return io_.io(); }
  config::ControlConfig& config() { return config_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  HttpReply unix_request(const std::string& raw) { return over_unix(socket_path(), raw); }
  HttpReply tcp_request(const std::string& raw) { return over_tcp(port(), raw); }

  std::atomic<int> reloads{0};

 private:
  struct Dir {
    Dir() {
      std::string templ = (std::filesystem::temp_directory_path() / "pharos-ctl-XXXXXX").string();
      REQUIRE(mkdtemp(templ.data()) != nullptr);
      p = templ;
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
    const std::filesystem::path& path() const { return p; }
    std::filesystem::path p;
  };

  TcpListener backend_;
  health::HealthEngine engine_;
  std::vector<config::PolicyRecord> records_;
  Dir dir_;
  config::ControlConfig config_;
  Limits limits_;
  IoThread io_;
  std::unique_ptr<ControlServer> server_;
};

}  // namespace pharos::control::test
