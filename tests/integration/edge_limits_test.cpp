// The edge's protection per client address, against the real binary: connection caps, request
// rates, allow and deny lists (clients on 127.0.0.1, 127.0.0.2 and 127.0.0.3, all loopback);
// and the access log reopened on SIGHUP, as logrotate needs.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "integration/edge_helpers.h"

using namespace pharos;
using namespace pharos::edge::itest;
namespace fs = std::filesystem;

namespace {

std::string head() {
  return "edge:\n  workers: 2\n  https:\n    listen: [\"127.0.0.1:0\"]\n    certificates:\n      - live: live/a\n";
}

std::string one_pool(const Backend& b) {
  return "  routes:\n    - pool: web\n  pools:\n    web:\n      members: [\"" + b.address() + "\"]\n";
}

// curl from a given loopback source address.
CurlResult curl_from(const Edge& e, const std::string& source, const std::string& target) {
  return curl_https(e, "a.test", target, {"--interface", source});
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("edge: a cap on connections per client address", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web) + "  limits: {client_connections: 2}\n");
  auto first = e.client();
  auto second = e.client();
  REQUIRE(first->ok());
  REQUIRE(second->ok());
  CHECK(backend_of(first->get("a.test", "/1")) == "web");
  CHECK(backend_of(second->get("a.test", "/2")) == "web");
  // A third from the same address is closed at accept (on either worker), before TLS.
  auto third = e.client();
  CHECK_FALSE(third->ok());
  // Another address is not held back.
  auto other = curl_from(e, "127.0.0.2", "/other");
  INFO(other.raw);
  CHECK(other.status == 200);
  // Once one closes, the address may connect again.
  first.reset();
  std::unique_ptr<TlsClient> again;
  CHECK(wait_until([&] {
    again = e.client();
    return again->ok();
  }));
  CHECK(backend_of(again->get("a.test", "/3")) == "web");
}

TEST_CASE("edge: a request rate per client address, 429 above it", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web) + "  limits: {client_rate: 1, client_burst: 3}\n");
  auto c = e.client();
  REQUIRE(c->ok());
  // Ten requests at once: the burst goes through, then the bucket holds one more per second.
  const auto t0 = std::chrono::steady_clock::now();
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
  REQUIRE(c->send(batch));
  int ok = 0, limited = 0;
  std::vector<unsigned> statuses;
  for (int i = 0; i < 10; ++i) {
    auto r = c->response();
    REQUIRE(r);
    statuses.push_back(r->status);
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      CHECK(r->header("Retry-After") == "1");
      CHECK(r->keep_alive);  // a refused request without a body leaves the connection open
    }
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  INFO("elapsed " << elapsed.count() << "s");
  CHECK(ok + limited == 10);
  CHECK(statuses[0] == 200);
  CHECK(statuses[1] == 200);
  CHECK(statuses[2] == 200);
  // No more than the burst and what the rate added meanwhile (bounded by the time it took,
  // so a slow machine cannot make this fail, and a limit that does nothing always does).
  CHECK(ok <= 3 + static_cast<int>(elapsed.count()) + 1);
  CHECK(web.requests() == static_cast<size_t>(ok));
  // The health endpoint is not counted: the dns role's probes are never refused.
  auto health = c->get("a.test", "/_pharos/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  // Another address has its own bucket.
  auto other = curl_from(e, "127.0.0.2", "/other");
  INFO(other.raw);
  CHECK(other.status == 200);
  // A refused request with a body not read closes the connection.
  if (limited > 0) {
    auto d = e.client();
    REQUIRE(d->ok());
    int seen429 = 0;
    for (int i = 0; i < 6 && seen429 == 0; ++i) {
      REQUIRE(d->send("POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\n"));
      auto r = d->response();
      REQUIRE(r);
      if (r->status == 429) {
        ++seen429;
        CHECK_FALSE(r->keep_alive);
      } else {
        REQUIRE(d->send("body"));  // (answered only once the body came)
      }
    }
  }
}

TEST_CASE("edge: allow and deny lists close connections at accept, and follow reloads", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  const std::string base = head() + one_pool(web);
  e.start(base + "  access:\n    allow: [127.0.0.0/8]\n    deny: [127.0.0.3]\n");
  CHECK(curl_from(e, "127.0.0.1", "/").status == 200);
  CHECK(curl_from(e, "127.0.0.2", "/").status == 200);
  auto refused = curl_from(e, "127.0.0.3", "/");
  INFO(refused.raw);
  CHECK(refused.status == 0);
  CHECK(web.requests() == 2);

  // A reload changes the lists for new connections.
  const size_t mark = e.process().log_size();
  e.dir().write("pharos.yaml", base + "  access:\n    deny: [127.0.0.2/32]\n");
  e.process().signal(SIGHUP);
  REQUIRE(e.logged("reload: done", mark));
  CHECK(wait_until([&] { return curl_from(e, "127.0.0.2", "/").status == 0; }));
  CHECK(curl_from(e, "127.0.0.3", "/").status == 200);
  CHECK(curl_from(e, "127.0.0.1", "/").status == 200);
}

TEST_CASE("edge: SIGHUP reopens the access log, for logrotate without copytruncate", "[integration][edge]") {
  Edge e;
  e.certificate("a", "a.test", "DNS:a.test");
  Backend web("web");
  e.start(head() + one_pool(web) + "  access_log: access.log\n");
  const std::string log = e.path() + "/access.log";
  auto c = e.client();
  REQUIRE(c->ok());
  CHECK(backend_of(c->get("a.test", "/before-rotation")) == "web");
  REQUIRE(wait_until([&] { return contains(slurp(log), "path=/before-rotation "); }));

  // logrotate: rename, then SIGHUP (postrotate).
  fs::rename(log, log + ".1");
  CHECK(backend_of(c->get("a.test", "/while-rotating")) == "web");  // still to the renamed file
  const size_t mark = e.process().log_size();
  e.process().signal(SIGHUP);
  REQUIRE(e.logged("edge: access log .*access\\.log reopened", mark));
  CHECK(backend_of(c->get("a.test", "/after-rotation")) == "web");
  REQUIRE(wait_until([&] { return contains(slurp(log), "path=/after-rotation "); }));
  const std::string old = slurp(log + ".1");
  const std::string now = slurp(log);
  CHECK(contains(old, "path=/before-rotation "));
  CHECK_FALSE(contains(old, "path=/after-rotation "));
  CHECK_FALSE(contains(now, "path=/before-rotation "));
  // A line written between the rename and the SIGHUP is in one of them, whole.
  CHECK(contains(old + now, "path=/while-rotating "));
}
