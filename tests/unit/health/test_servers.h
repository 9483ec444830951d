// Real servers for the health tests, each on 127.0.0.1 port 0 with its own thread: a TCP
// listener, an HTTP/1.1 server (plain or TLS, with a CA and certificates made at test time with
// the OpenSSL API), a UDP DNS responder, a port that refuses and one that never completes a
// connect. Also a log capture for the "health" logger and bounded polling for liveness.
// Header-only: the unit test target compiles *_test.cpp files only.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <catch2/catch.hpp>
#include <spdlog/sinks/base_sink.h>

#include "common/log.h"
#include "config/config.h"
#include "dns/name.h"
#include "dns/types.h"
#include "health/probe.h"

namespace pharos::health::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using namespace std::chrono_literals;
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Polls `pred` until it holds or `limit` passes (liveness only: tests never assert on time).
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// ---- log capture ------------------------------------------------------------------------------

class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  bool contains(const std::string& text) {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

// The capture attached to the "health" logger; attached once, before any engine thread logs.
// It replaces the logger's stderr sink (set PHAROS_TEST_HEALTH_LOG=1 to keep that too), and the
// level is put back to info in case another suite changed it.
inline CaptureSink& health_log() {
  static std::shared_ptr<CaptureSink> sink = [] {
    auto s = std::make_shared<CaptureSink>();
    auto logger = log::get("health");
    if (!std::getenv("PHAROS_TEST_HEALTH_LOG")) logger->sinks().clear();
    logger->sinks().push_back(s);
    return s;
  }();
  log::get("health")->set_level(spdlog::level::info);
  return *sink;
}

// ---- a thread running an io_context -------------------------------------------------------

class IoThread {
 public:
  IoThread() : work_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~IoThread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// ---- ports that refuse and ports that never answer ----------------------------------------

// A TCP port bound but not listening: a connect is refused (RST) for as long as this lives.
class ClosedPort {
 public:
  ClosedPort() : socket_(io_) {
    socket_.open(tcp::v4());
    socket_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  }
  uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

// A listener whose accept queue is full and never accepted from: the kernel drops further SYNs,
// so a connect neither succeeds nor fails until the prober gives up.
class FullBacklog {
 public:
  FullBacklog() : acceptor_(io_), filler_(io_) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen(0);  // the queue holds one connection
    filler_.connect(acceptor_.local_endpoint());
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  tcp::socket filler_;
};

// Accepts connections and keeps them open without a word (or closes them at once).
class TcpListener {
 public:
  explicit TcpListener(bool hold = true) : acceptor_(io_.io()), hold_(hold) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_.io(), accept_loop(), asio::detached);
  }
  ~TcpListener() { stop(); }
  uint16_t port() const { return port_; }
  size_t accepted() const { return accepted_; }
  // Closes the listener and every connection: later connects are refused.
  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(io_.io(), [this] {
      acceptor_.close();
      held_.clear();
    });
    wait_until([&] { return !acceptor_open_; });
    io_.stop();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) break;
      ++accepted_;
      if (hold_) held_.push_back(std::make_unique<tcp::socket>(std::move(socket)));
    }
    acceptor_open_ = false;
  }

  IoThread io_;
  tcp::acceptor acceptor_;
  bool hold_;
  uint16_t port_ = 0;
  std::atomic<size_t> accepted_{0};
  std::atomic<bool> acceptor_open_{true};
  std::atomic<bool> stopped_{false};
  std::vector<std::unique_ptr<tcp::socket>> held_;
};

// ---- certificates -------------------------------------------------------------------------

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};

struct KeyCert {
  std::unique_ptr<EVP_PKEY, KeyDeleter> key;
  std::unique_ptr<X509, CertDeleter> cert;
};

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 key and a certificate for `common_name`, signed by `issuer` (self-signed when null).
// `ca` makes it a CA; `san` is a subjectAltName value such as "DNS:health.test,IP:127.0.0.1".
inline KeyCert make_cert(const std::string& common_name, const KeyCert* issuer, bool ca, const std::string& san) {
  KeyCert kc;
  kc.key.reset(EVP_EC_gen("P-256"));
  REQUIRE(kc.key);
  kc.cert.reset(X509_new());
  X509* x = kc.cert.get();
  X509_set_version(x, 2);
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, kc.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  if (ca) {
    add_extension(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(x, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(x, issuer_cert, NID_ext_key_usage, "serverAuth");
  }
  add_extension(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (!san.empty()) add_extension(x, issuer_cert, NID_subject_alt_name, san.c_str());
  REQUIRE(X509_sign(x, issuer ? issuer->key.get() : kc.key.get(), EVP_sha256()) > 0);
  return kc;
}

inline std::string cert_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// A temporary directory removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "pharos-health-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

// A test CA, a leaf it signed for health.test and 127.0.0.1, and a self-signed leaf.
struct TestPki {
  TestPki()
      : ca(make_cert("pharos test ca", nullptr, true, "")),
        leaf(make_cert("health.test", &ca, false, "DNS:health.test,IP:127.0.0.1")),
        self_signed(make_cert("health.test", nullptr, false, "DNS:health.test,IP:127.0.0.1")),
        ca_file(dir.write("ca.pem", cert_pem(ca.cert.get()))) {}
  TempDir dir;
  KeyCert ca;
  KeyCert leaf;
  KeyCert self_signed;
  std::string ca_file;
};

// ---- HTTP/1.1 server ----------------------------------------------------------------------

// What the server sends for one request: `first`, then (unless `stall`) `rest`, then it closes.
// With `stall` it keeps the connection open after `first` and sends nothing more.
struct HttpReply {
  std::string first;
  std::string rest;
  bool stall = false;
};

inline HttpReply http_response(unsigned status, const std::string& body, const std::string& extra_headers = "") {
  return HttpReply{"HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n" + extra_headers + "\r\n" + body,
                   "", false};
}

inline HttpReply http_chunked(unsigned status, const std::vector<std::string>& chunks) {
  std::string s = "HTTP/1.1 " + std::to_string(status) + " X\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const auto& c : chunks) {
    char len[16];
    std::snprintf(len, sizeof len, "%zx", c.size());
    s += std::string(len) + "\r\n" + c + "\r\n";
  }
  s += "0\r\n\r\n";
  return HttpReply{s, "", false};
}

class HttpServer {
 public:
  using Handler = std::function<HttpReply(const std::string& request)>;

  // `cert` set: HTTPS with that key and certificate.
  explicit HttpServer(Handler handler, const KeyCert* cert = nullptr)
      : handler_(std::move(handler)), acceptor_(io_.io()), tls_(asio::ssl::context::tls_server) {
    if (cert) {
      REQUIRE(SSL_CTX_use_certificate(tls_.native_handle(), cert->cert.get()) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey(tls_.native_handle(), cert->key.get()) == 1);
      use_tls_ = true;
    }
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_.io(), accept_loop(), asio::detached);
  }
  ~HttpServer() { stop(); }

  uint16_t port() const { return port_; }
  size_t connections() const { return connections_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::string last_sni() {
    std::lock_guard lock(mutex_);
    return sni_;
  }
  // Closes the listener (later connects are refused) and stops serving.
  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(io_.io(), [this] { acceptor_.close(); });
    wait_until([&] { return !acceptor_open_; });
    io_.stop();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) break;
      ++connections_;
      if (use_tls_) {
        asio::co_spawn(io_.io(), serve_tls(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(io_.io(), serve_plain(std::move(socket)), asio::detached);
      }
    }
    acceptor_open_ = false;
  }

  asio::awaitable<void> serve_plain(tcp::socket socket) {
    co_await exchange(socket);
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::awaitable<void> serve_tls(tcp::socket socket) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), tls_);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
    if (ec) co_return;  // the client refused our certificate
    if (const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
      std::lock_guard lock(mutex_);
      sni_ = sni;
    }
    co_await exchange(stream);
    co_await stream.async_shutdown(kTuple);
  }

  template <class Stream>
  asio::awaitable<void> exchange(Stream& stream) {
    std::string request;
    char buf[2048];
    while (request.find("\r\n\r\n") == std::string::npos) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), kTuple);
      if (ec) co_return;
      request.append(buf, n);
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    HttpReply reply = handler_(request);
    co_await asio::async_write(stream, asio::buffer(reply.first), kTuple);
    if (reply.stall) {
      asio::steady_timer forever(io_.io(), asio::steady_timer::time_point::max());
      co_await forever.async_wait(kTuple);
      co_return;
    }
    if (!reply.rest.empty()) co_await asio::async_write(stream, asio::buffer(reply.rest), kTuple);
  }

  Handler handler_;
  IoThread io_;
  tcp::acceptor acceptor_;
  asio::ssl::context tls_;
  bool use_tls_ = false;
  uint16_t port_ = 0;
  std::atomic<size_t> connections_{0};
  std::atomic<bool> acceptor_open_{true};
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::string sni_;
};

// ---- DNS responder ------------------------------------------------------------------------

// One answer record for a reply: type and wire rdata (owner: the question, by pointer).
struct TestRecord {
  uint16_t type;
  std::vector<uint8_t> rdata;
};

// A reply to `query`: its question, QR and AA set, `rcode`, these answers; `id_delta` != 0
// makes the ID wrong.
inline std::vector<uint8_t> dns_reply(const std::vector<uint8_t>& query, uint16_t rcode,
                                      const std::vector<TestRecord>& answers = {}, uint16_t id_delta = 0) {
  size_t qend = dns::kHeaderSize;
  while (qend < query.size() && query[qend]) qend += query[qend] + 1u;
  qend += 1 + 4;
  std::vector<uint8_t> r(query.begin(), query.begin() + static_cast<long>(std::min(qend, query.size())));
  dns::write_u16(&r[0], static_cast<uint16_t>(dns::read_u16(&r[0]) + id_delta));
  dns::write_u16(&r[2], static_cast<uint16_t>(dns::flag::QR | dns::flag::AA | rcode));
  dns::write_u16(&r[6], static_cast<uint16_t>(answers.size()));
  for (const auto& a : answers) {
    const uint8_t fixed[] = {0xC0, 0x0C, static_cast<uint8_t>(a.type >> 8), static_cast<uint8_t>(a.type), 0, 1, 0, 0,
                             0, 60, static_cast<uint8_t>(a.rdata.size() >> 8), static_cast<uint8_t>(a.rdata.size())};
    r.insert(r.end(), std::begin(fixed), std::end(fixed));
    r.insert(r.end(), a.rdata.begin(), a.rdata.end());
  }
  return r;
}

class DnsResponder {
 public:
  // Returns the datagrams to send back for a query (none: silence).
  using Handler = std::function<std::vector<std::vector<uint8_t>>(const std::vector<uint8_t>& query)>;

  explicit DnsResponder(Handler handler)
      : handler_(std::move(handler)), socket_(io_.io(), udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = socket_.local_endpoint().port();
    asio::co_spawn(io_.io(), loop(), asio::detached);
  }
  ~DnsResponder() {
    asio::post(io_.io(), [this] { socket_.close(); });
    io_.stop();
  }
  uint16_t port() const { return port_; }
  size_t queries() const { return queries_; }

 private:
  asio::awaitable<void> loop() {
    std::vector<uint8_t> buf(65535);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from, kTuple);
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      if (ec) continue;
      ++queries_;
      for (const auto& d : handler_(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n)))) {
        co_await socket_.async_send_to(asio::buffer(d), from, kTuple);
      }
    }
  }

  Handler handler_;
  IoThread io_;
  udp::socket socket_;
  uint16_t port_ = 0;
  std::atomic<size_t> queries_{0};
};

// ---- checks and one-off probes ------------------------------------------------------------

inline config::HealthCheck make_check(const std::string& name, config::CheckType type, uint16_t port) {
  config::HealthCheck c;
  c.name = name;
  c.type = type;
  c.target.address = "127.0.0.1";
  c.target.port = port;
  c.interval = 20ms;
  c.timeout = 2s;  // generous: only the timeout tests wait for one
  c.jitter = 0;
  c.rise = 1;
  c.fall = 1;
  return c;
}

// Runs one probe of `check` on a private io_context and returns its outcome.
inline ProbeResult probe_once(const config::HealthCheck& check) {
  asio::io_context io;
  ProbeResult out;
  bool done = false;
  start_probe(io.get_executor(), prepare_probe(check), [&](ProbeResult r) {
    out = std::move(r);
    done = true;
  });
  io.run();
  REQUIRE(done);
  return out;
}

}  // namespace pharos::health::test
