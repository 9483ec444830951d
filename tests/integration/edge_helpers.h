// Helpers for the edge's integration tests: app servers behind the edge (keep-alive HTTP/1.1 on
// loopback, each with behaviours a test can switch), a TLS client on OpenSSL for raw exchanges on
// one connection, the pharos process with an edge config, and curl and openssl s_client runs.
#pragma once

#include <openssl/err.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "integration/harness.h"
#include "unit/edge/pki.h"
#include "unit/health/test_servers.h"

namespace pharos::edge::itest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using pharos::edge::test::KeyType;
using pharos::edge::test::Pem;
using pharos::edge::test::Pki;
using pharos::health::test::IoThread;
using pharos::health::test::wait_until;
inline constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- an app server ------------------------------------------------------------------------

struct Seen {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lowercase names; repeated ones joined with ", "
  uint64_t connection = 0;                     // which connection of this backend carried it
  std::string proxy;                           // the PROXY header's addresses ("TCP4 a b p q"), if any
  std::string sni;                             // TLS: the server name the edge sent
};

// Reads a PROXY protocol header (v1 or v2) from the start of a connection, exactly, and returns
// its addresses as "TCP4 src dst sport dport" (v2 as v1 would say it; "LOCAL" for v2's LOCAL,
// "UNKNOWN" for v1's), or "" when what came is no header. An implementation of its own, written
// from HAProxy's proxy-protocol.txt, to check the edge's against.
inline asio::awaitable<std::string> read_exactly(tcp::socket& s, size_t n) {
  std::string b(n, '\0');
  auto [ec, got] = co_await asio::async_read(s, asio::buffer(b), kUse);
  if (ec) b.clear();
  co_return b;
}

// (No co_await inside ?: here: g++ 12 gets the temporaries of that wrong.)
inline asio::awaitable<std::string> read_proxy_header(tcp::socket& s) {
  std::string first = co_await read_exactly(s, 5);
  if (first == "PROXY") {
    std::string line = first;
    while (line.size() < 108 && !line.ends_with("\r\n")) {
      std::string c = co_await read_exactly(s, 1);
      if (c.empty()) co_return "";
      line += c;
    }
    if (!line.ends_with("\r\n")) co_return "";
    co_return line.substr(6, line.size() - 8);
  }
  std::string rest = co_await read_exactly(s, 11);  // the 16-byte fixed part in all
  if (rest.size() != 11) co_return "";
  const std::string sig("\r\n\r\n\0\r\nQUIT\n", 12);
  if ((first + rest).substr(0, 12) != sig) co_return "";
  const auto ver_cmd = static_cast<unsigned char>(rest[7]);
  const auto fam = static_cast<unsigned char>(rest[8]);
  const size_t len = static_cast<unsigned char>(rest[9]) * 256u + static_cast<unsigned char>(rest[10]);
  std::string body;
  if (len > 0) body = co_await read_exactly(s, len);
  if (body.size() != len || (ver_cmd >> 4) != 2) co_return "";
  if ((ver_cmd & 0x0f) == 0) co_return "LOCAL";
  auto port = [&](size_t at) {
    return std::to_string(static_cast<unsigned char>(body[at]) * 256u + static_cast<unsigned char>(body[at + 1]));
  };
  if (fam == 0x11 && len >= 12) {
    asio::ip::address_v4::bytes_type a, b;
    std::copy(body.begin(), body.begin() + 4, a.begin());
    std::copy(body.begin() + 4, body.begin() + 8, b.begin());
    co_return "TCP4 " + asio::ip::address_v4(a).to_string() + " " + asio::ip::address_v4(b).to_string() + " " +
        port(8) + " " + port(10);
  }
  if (fam == 0x21 && len >= 36) {
    asio::ip::address_v6::bytes_type a, b;
    std::copy(body.begin(), body.begin() + 16, a.begin());
    std::copy(body.begin() + 16, body.begin() + 32, b.begin());
    co_return "TCP6 " + asio::ip::address_v6(a).to_string() + " " + asio::ip::address_v6(b).to_string() + " " +
        port(32) + " " + port(34);
  }
  co_return "";
}

// How a Backend is reached: plain or TLS (with this certificate and key), with or without a
// PROXY protocol header first.
struct BackendOptions {
  const Pem* tls = nullptr;
  bool proxy_protocol = false;
};

// GET /anything: 200 "backend=<name>" and the request echoed; /healthz: `health`; /status/N: N;
// /slow: held until release(); /big: 256 KiB, chunked; /nolength: a body ended by closing.
class Backend {
 public:
  explicit Backend(std::string name, BackendOptions options = {})
      : name_(std::move(name)), proxy_protocol_(options.proxy_protocol), acceptor_(io_.io()) {
    if (options.tls) {
      tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(options.tls->cert));
      tls_->use_private_key(asio::buffer(options.tls->key), asio::ssl::context::pem);
    }
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_.io(), accept_loop(), asio::detached);
  }
  ~Backend() { stop(); }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::atomic<unsigned> health{200};
  std::atomic<bool> drop_reused{false};  // a second request on a connection: read it, then close
  void release() { released_ = true; }
  size_t connections() const { return connections_; }
  size_t tls_failures() const { return tls_failures_; }  // handshakes that failed on this side
  size_t requests() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  // Closes the listener and every connection: later connects are refused.
  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(io_.io(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto* s : open_) s->close(ec);
    });
    wait_until([&] { return !accepting_; }, 10s);
    io_.stop();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUse);
      if (ec) break;
      asio::co_spawn(io_.io(), serve(std::move(socket), ++connections_), asio::detached);
    }
    accepting_ = false;
  }

  asio::awaitable<void> serve(tcp::socket socket, uint64_t conn) {
    std::string proxy;
    if (proxy_protocol_) {
      proxy = co_await read_proxy_header(socket);
      if (proxy.empty()) co_return;  // no header: refused, as a member expecting one does
    }
    if (!tls_) {
      beast::tcp_stream stream(std::move(socket));
      co_await exchange(stream, conn, proxy, "");
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUse);
    if (hec) {
      ++tls_failures_;
      co_return;
    }
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    co_await exchange(stream, conn, proxy, sni ? sni : "");
  }

  template <class Stream>
  asio::awaitable<void> exchange(Stream& stream, uint64_t conn, const std::string& proxy, const std::string& sni) {
    tcp::socket* raw = &beast::get_lowest_layer(stream).socket();
    open_.insert(raw);
    beast::flat_buffer buffer;
    unsigned served = 0;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kUse);
      if (ec) break;
      Seen s;
      s.method = std::string(req.method_string());
      s.target = std::string(req.target());
      s.body = req.body();
      s.connection = conn;
      s.proxy = proxy;
      s.sni = sni;
      for (const auto& f : req) {
        auto& v = s.headers[lower(std::string(f.name_string()))];
        v += (v.empty() ? "" : ", ") + std::string(f.value());
      }
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(s);
      }
      if (drop_reused && served > 0) break;
      ++served;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set("X-Backend", name_);
      const std::string target = s.target;
      if (target == "/healthz") {
        res.result(health.load());
        res.body() = "health\n";
      } else if (target.rfind("/status/", 0) == 0) {
        res.result(std::stoi(target.substr(8)));
        res.body() = "status\n";
      } else if (target == "/slow") {
        asio::steady_timer t(io_.io());
        while (!released_) {
          t.expires_after(5ms);
          co_await t.async_wait(kUse);
        }
        res.body() = "slow done\n";
      } else if (target == "/big") {
        res.body() = std::string(256 * 1024, 'x');
        res.chunked(true);
      } else if (target == "/nolength") {
        // HTTP/1.0 style: no length, the end of the body is the end of the connection.
        std::string raw = "HTTP/1.1 200 OK\r\nX-Backend: " + name_ + "\r\nConnection: close\r\n\r\nuntil the end";
        co_await asio::async_write(stream, asio::buffer(raw), kUse);
        break;
      } else {
        std::string body = "backend=" + name_ + "\nmethod=" + s.method + "\ntarget=" + s.target + "\n";
        for (const auto& [k, v] : s.headers) body += k + ": " + v + "\n";
        body += "body=" + s.body + "\n";
        if (!proxy.empty()) body += "proxy=" + proxy + "\n";
        res.body() = std::move(body);
      }
      res.keep_alive(req.keep_alive());
      if (target != "/big") res.prepare_payload();  // /big goes chunked
      if (req.method() == http::verb::head) res.body().clear();  // Content-Length stays
      auto [wec, w] = co_await http::async_write(stream, res, kUse);
      if (wec || !req.keep_alive()) break;
    }
    open_.erase(raw);
    boost::system::error_code ignored;
    raw->shutdown(tcp::socket::shutdown_both, ignored);
  }

  std::string name_;
  bool proxy_protocol_ = false;
  std::unique_ptr<asio::ssl::context> tls_;
  IoThread io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<size_t> connections_{0};
  std::atomic<bool> accepting_{true};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> released_{false};
  std::atomic<size_t> tls_failures_{0};
  std::set<tcp::socket*> open_;  // the io thread's
  std::mutex mutex_;
  std::vector<Seen> seen_;
};

// ---- a TLS client -------------------------------------------------------------------------

struct Response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  bool keep_alive = true;
  std::string header(const std::string& name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? "" : it->second;
  }
};

// One TLS connection to 127.0.0.1:port with SNI, verified against `ca_file` when given. Reads
// and writes time out after 20 s (a hung test fails instead of hanging).
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& sni, const std::string& ca_file = "", int version = 0) {
    // A server that closes at accept makes OpenSSL write to a closed socket: an error, not a signal.
    static const bool no_sigpipe = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
    (void)no_sigpipe;
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (version) {
      SSL_CTX_set_min_proto_version(ctx_, version);
      SSL_CTX_set_max_proto_version(ctx_, version);
    }
    if (!ca_file.empty()) {
      SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    fd_ = pharos::test::tcp_connect(port);
    if (fd_ < 0) {
      error_ = "connect failed";
      return;
    }
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (!sni.empty()) {
      SSL_set_tlsext_host_name(ssl_, sni.c_str());
      if (!ca_file.empty()) SSL_set1_host(ssl_, sni.c_str());
    }
    if (SSL_connect(ssl_) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      error_ = std::string("handshake: ") + buf;
      return;
    }
    ok_ = true;
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  uint16_t local_port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

  // The serial number of the certificate the server showed (decimal), and its common name.
  std::string serial() const {
    X509* x = SSL_get1_peer_certificate(ssl_);
    if (!x) return "";
    std::string s = std::to_string(ASN1_INTEGER_get(X509_get_serialNumber(x)));
    X509_free(x);
    return s;
  }
  std::string common_name() const {
    X509* x = SSL_get1_peer_certificate(ssl_);
    if (!x) return "";
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    X509_free(x);
    return cn;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      size_t n = 0;
      if (SSL_write_ex(ssl_, data.data(), data.size(), &n) != 1) return false;
      data.remove_prefix(n);
    }
    return true;
  }

  // The next response on the connection; nullopt when it closed or timed out first.
  std::optional<Response> response(bool head_request = false) {
    http::response_parser<http::string_body> p;
    p.body_limit(64 * 1024 * 1024);
    p.eager(true);
    if (head_request) p.skip(true);
    for (;;) {
      if (!buf_.empty()) {
        boost::system::error_code ec;
        size_t used = p.put(asio::buffer(buf_), ec);
        buf_.erase(0, used);
        if (p.is_done()) break;
        if (ec && ec != http::error::need_more) return std::nullopt;
        if (!ec && used > 0) continue;
      }
      char tmp[16384];
      size_t n = 0;
      if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) {
        ERR_clear_error();
        if (p.got_some() && !p.is_done()) {
          boost::system::error_code ec;
          p.put_eof(ec);
          if (!ec && p.is_done()) break;
        }
        return std::nullopt;
      }
      buf_.append(tmp, n);
    }
    Response r;
    auto& m = p.get();
    r.status = m.result_int();
    r.body = m.body();
    r.keep_alive = m.keep_alive();
    for (const auto& f : m) r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    return r;
  }

  std::optional<Response> get(const std::string& host, const std::string& target, const std::string& extra = "") {
    if (!send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n")) return std::nullopt;
    return response();
  }

  // Whether the server closes the connection (within the read timeout) without sending more.
  bool closed() {
    if (!buf_.empty()) return false;
    char tmp[1024];
    size_t n = 0;
    const int r = SSL_read_ex(ssl_, tmp, sizeof tmp, &n);
    if (r == 1) {
      buf_.append(tmp, n);
      return false;
    }
    const int err = SSL_get_error(ssl_, r);
    ERR_clear_error();
    return err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
  std::string error_;
  std::string buf_;
};

// Which member answered (its X-Backend), the status when not 200, "none" without a response.
inline std::string backend_of(const std::optional<Response>& r) {
  if (!r) return "none";
  if (r->status != 200) return std::to_string(r->status);
  return r->header("X-Backend");
}

// ---- the pharos process -------------------------------------------------------------------

// pharos with an edge config. The yaml's https and http listen addresses must be
// "127.0.0.1:0" or "0.0.0.0:0"; `start` learns the ports from the log (clients connect to
// 127.0.0.1).
class Edge {
 public:
  Edge() : ca_file_(dir_.write("ca.pem", pki_.ca_pem())) {}
  ~Edge() {
    if (proc_) proc_->stop(SIGINT);
  }

  const pharos::test::TempDir& dir() const { return dir_; }
  const std::string& path() const { return dir_.path(); }
  const Pki& pki() const { return pki_; }
  const std::string& ca_file() const { return ca_file_; }
  std::string config_path() const { return dir_.path() + "/pharos.yaml"; }

  // A certificate for `names` in certbot's layout under live/<dir>; returns its serial.
  std::string certificate(const std::string& live_dir, const std::string& cn, const std::string& names,
                          KeyType type = KeyType::Ecdsa) {
    Pem p = pki_.leaf(cn, names, type);
    Pki::write_live(dir_.path() + "/live/" + live_dir, p);
    return p.serial;
  }

  void start(const std::string& yaml, bool https = true, bool http = false) {
    dir_.write("pharos.yaml", yaml);
    proc_ = std::make_unique<pharos::test::Process>(
        std::vector<std::string>{pharos::test::pharos_binary(), "--config", config_path()}, dir_.path() + "/pharos.log");
    if (https) {
      auto p = proc_->wait_for_log(R"(edge: listening https=(?:127\.0\.0\.1|0\.0\.0\.0):(\d+))");
      if (!p) throw std::runtime_error("pharos did not start:\n" + proc_->log());
      https_port_ = static_cast<uint16_t>(std::stoi(*p));
    }
    if (http) {
      auto p = proc_->wait_for_log(R"(edge: listening http=(?:127\.0\.0\.1|0\.0\.0\.0):(\d+))");
      if (!p) throw std::runtime_error("pharos did not start:\n" + proc_->log());
      http_port_ = static_cast<uint16_t>(std::stoi(*p));
    }
  }

  uint16_t https_port() const { return https_port_; }
  uint16_t http_port() const { return http_port_; }
  pharos::test::Process& process() { return *proc_; }
  std::string log() { return proc_->log(); }
  // Waits for a log line matching `re` written after byte `from`.
  bool logged(const std::string& re, size_t from = 0, std::chrono::milliseconds limit = 20s) {
    return proc_->wait_for_log(re, limit, from).has_value();
  }

  // A TLS client to the https listener.
  std::unique_ptr<TlsClient> client(const std::string& sni = "a.test", int version = 0) {
    return std::make_unique<TlsClient>(https_port_, sni, ca_file_, version);
  }

 private:
  pharos::test::TempDir dir_;
  Pki pki_;
  std::string ca_file_;
  std::unique_ptr<pharos::test::Process> proc_;
  uint16_t https_port_ = 0;
  uint16_t http_port_ = 0;
};

// ---- command-line clients -----------------------------------------------------------------

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct CurlResult {
  int status = 0;  // 0: no response
  std::map<std::string, std::string> headers;
  std::string body;
  std::string raw;
  std::string header(const std::string& name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? "" : it->second;
  }
};

// curl with `args`; the response's status, headers (of the last response) and body.
inline CurlResult curl(const std::vector<std::string>& args) {
  std::string cmd = "curl -sS -i --max-time 20";
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1";
  CurlResult r;
  r.raw = pharos::test::run_capture(cmd);
  // Skip interim responses (100 Continue).
  size_t pos = 0;
  for (;;) {
    if (r.raw.compare(pos, 5, "HTTP/") != 0) return r;
    size_t end = r.raw.find("\r\n\r\n", pos);
    if (end == std::string::npos) return r;
    const std::string head = r.raw.substr(pos, end - pos);
    const int status = std::stoi(head.substr(head.find(' ') + 1, 3));
    if (status >= 100 && status < 200) {
      pos = end + 4;
      continue;
    }
    r.status = status;
    size_t line = head.find("\r\n");
    while (line != std::string::npos) {
      size_t next = head.find("\r\n", line + 2);
      std::string h = head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers[lower(h.substr(0, colon))] = v;
      }
      line = next;
    }
    r.body = r.raw.substr(end + 4);
    return r;
  }
}

// curl to https://<host>:<port><target>, verified against the edge's CA, with <host> resolved
// to 127.0.0.1.
inline CurlResult curl_https(const Edge& e, const std::string& host, const std::string& target,
                             std::vector<std::string> extra = {}) {
  const std::string port = std::to_string(e.https_port());
  std::vector<std::string> args{"--cacert", e.ca_file(), "--resolve", host + ":" + port + ":127.0.0.1"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("https://" + host + ":" + port + target);
  return curl(args);
}

// `openssl s_client` to the https listener; its whole output.
inline std::string s_client(const Edge& e, const std::vector<std::string>& args) {
  std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(e.https_port()) + " -CAfile " +
                    shell_quote(e.ca_file());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " </dev/null 2>&1";
  return pharos::test::run_capture("timeout 20 " + cmd);
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace pharos::edge::itest
