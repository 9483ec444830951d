// EdgeServer in-process, over plain HTTP (an edge without https proxies its http listeners):
// the counters a metrics endpoint will read, passive health, and a reload that changes routes
// while a connection stays open.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "edge/edge_server.h"
#include "unit/config/config_test_util.h"
#include "unit/health/test_servers.h"

using namespace pharos;
using namespace pharos::edge;
using namespace std::chrono_literals;
namespace ht = pharos::health::test;

namespace {

// A blocking HTTP/1.1 client on one connection.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Client() { ::close(fd_); }

  // Sends a GET and returns the status (0 on failure); `body` receives the body.
  unsigned get(const std::string& host, const std::string& target, std::string* body = nullptr) {
    if (!send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")) return 0;
    return response(body);
  }

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // Reads one response (what comes after it stays for the next); its status, 0 on failure.
  unsigned response(std::string* body = nullptr) {
    size_t head_end = std::string::npos;
    size_t length = 0;
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = in_.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          auto cl = in_.find("Content-Length: ");
          if (cl == std::string::npos || cl > head_end) return 0;  // the tests' members always send one
          length = std::stoul(in_.substr(cl + 16));
        }
      }
      if (head_end != std::string::npos && in_.size() >= head_end + 4 + length) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10000) != 1) return 0;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return 0;
      in_.append(buf, static_cast<size_t>(n));
    }
    if (body) *body = in_.substr(head_end + 4, length);
    const unsigned status = static_cast<unsigned>(std::stoi(in_.substr(9, 3)));
    in_.erase(0, head_end + 4 + length);
    return status;
  }

 private:
  int fd_ = -1;
  std::string in_;  // read and not yet taken
};

uint16_t port_of(const std::string& bound) { return static_cast<uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1))); }

}  // namespace

TEST_CASE("edge server: plain http proxying, counters, passive health, reload", "[edge]") {
  ht::HttpServer a([](const std::string&) { return ht::http_response(200, "from a", "Connection: close\r\n"); });
  ht::HttpServer b([](const std::string&) { return ht::http_response(200, "from b", "Connection: close\r\n"); });
  ht::ClosedPort closed;
  config::test::TempDir t;
  auto yaml = [&](const std::string& pool_a) {
    return "edge:\n  workers: 1\n  access_log: off\n  http:\n    listen: [\"127.0.0.1:0\"]\n  routes:\n"
           "    - {pool: main}\n  pools:\n    main:\n      members: [" + pool_a + "]\n";
  };
  auto cfg = t.load(yaml("\"127.0.0.1:" + std::to_string(closed.port()) + "\", \"127.0.0.1:" +
                         std::to_string(a.port()) + "\""));
  REQUIRE(cfg.ok());
  CHECK_FALSE(cfg->dns);
  EdgeServer edge(cfg->edge);
  REQUIRE(edge.prepare(*cfg, 1).ok());
  REQUIRE(edge.start().ok());
  REQUIRE(edge.http_addresses().size() == 1);
  const uint16_t port = port_of(edge.http_addresses()[0]);

  Client c(port);
  std::string body;
  for (int i = 0; i < 4; ++i) {
    INFO(i);
    CHECK(c.get("app.test", "/", &body) == 200);
    CHECK(body == "from a");  // the closed member is retried away from, then out
  }
  // Statuses are counted once the response is out: the client can be quicker.
  CHECK(ht::wait_until([&] { return edge.stats()[Stat::Status2xx] == 4; }));
  EdgeStats s = edge.stats();
  CHECK(s[Stat::Connections] == 1);
  CHECK(s[Stat::Requests] == 4);
  CHECK(s[Stat::Status2xx] == 4);
  CHECK(s[Stat::UpstreamConnectErrors] == 1);
  CHECK(s[Stat::Retries] == 1);
  CHECK(s[Stat::PassiveEjections] == 1);
  CHECK(s[Stat::UpstreamRequests] == 4);
  CHECK(s[Stat::BytesOut] == 4 * 6);
  CHECK(s[Stat::UpstreamLatencyCount] == 4);
  CHECK(c.get("app.test", "/_pharos/health", &body) == 200);
  CHECK(edge.stats()[Stat::HealthRequests] == 1);  // counted before the answer

  // A reload moves the pool to b; the open connection goes on and sees it.
  auto next = t.load(yaml("\"127.0.0.1:" + std::to_string(b.port()) + "\""));
  REQUIRE(next.ok());
  edge.apply(*next, 2);
  CHECK(c.get("app.test", "/", &body) == 200);
  CHECK(body == "from b");
  CHECK(edge.stats()[Stat::Connections] == 1);
  CHECK(edge.open_connections() == 1);
  edge.stop();
}

TEST_CASE("edge server: a request body and the next request in the read that brought the head", "[edge]") {
  // The member answers with the request line and the body it got.
  ht::HttpServer member([](const std::string& req) {
    const size_t line = req.find("\r\n");
    const size_t head = req.find("\r\n\r\n");
    return ht::http_response(200, req.substr(0, line) + "|" + req.substr(head + 4), "Connection: close\r\n");
  });
  config::test::TempDir t;
  auto cfg = t.load("edge:\n  workers: 1\n  access_log: off\n  http:\n    listen: [\"127.0.0.1:0\"]\n  routes:\n"
                    "    - {pool: main}\n  pools:\n    main:\n      members: [\"127.0.0.1:" +
                    std::to_string(member.port()) + "\"]\n");
  REQUIRE(cfg.ok());
  EdgeServer edge(cfg->edge);
  REQUIRE(edge.prepare(*cfg, 1).ok());
  REQUIRE(edge.start().ok());
  Client c(port_of(edge.http_addresses()[0]));
  // One write: a POST with its body, then a GET; the edge reads them in one piece (or more).
  REQUIRE(c.send("POST /a HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello"
                 "GET /b HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  std::string body;
  CHECK(c.response(&body) == 200);
  CHECK(body == "POST /a HTTP/1.1|hello");
  CHECK(c.response(&body) == 200);
  CHECK(body == "GET /b HTTP/1.1|");
  // And the connection goes on.
  CHECK(c.get("app.test", "/c", &body) == 200);
  CHECK(body == "GET /c HTTP/1.1|");
  CHECK(edge.stats()[Stat::Requests] == 3);
  edge.stop();
}
