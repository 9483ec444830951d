#include "health/probe.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "dns/name.h"
#include "dns/types.h"
#include "health/dns_message.h"
#include "health/scheduler.h"

namespace pharos::health {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

struct ProbeSpec {
  config::CheckType type = config::CheckType::Tcp;
  std::string error;
  asio::ip::address address;
  uint16_t port = 0;
  std::chrono::milliseconds timeout{500};
  // http, https
  std::string request;
  bool head = false;
  std::vector<config::StatusRange> expect_status;
  std::string expect_body;
  size_t body_limit = 5120;
  // https
  std::unique_ptr<asio::ssl::context> tls;
  std::string tls_name;  // SNI and the name (or address) the certificate must carry
  bool tls_name_is_ip = false;
  bool tls_verify = true;
  // dns
  std::vector<uint8_t> query;
  uint16_t expect_rcode = 0;
  ExpectedAnswer expected;
};

struct ProbeOp {
  explicit ProbeOp(const asio::any_io_executor& ex) : deadline(ex) {}
  asio::steady_timer deadline;
  asio::cancellation_signal signal;
  SteadyClock::time_point started;
  bool timed_out = false;  // the deadline fired and cancelled the operation in progress
  bool cancelled = false;  // ProbeHandle::cancel
  bool finished = false;
  std::string timeout_reason = "timeout";  // what a timeout means in the current phase
  std::function<void(ProbeResult)> done;
};

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

ProbeResult pass(std::string reason) { return ProbeResult{true, std::move(reason), {}}; }
ProbeResult fail(std::string reason) { return ProbeResult{false, std::move(reason), {}}; }

std::string message_of(const error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

// An operation cut short by us: the deadline (the phase's timeout reason) or a cancel().
std::string aborted_reason(const ProbeOp& op) { return op.timed_out ? op.timeout_reason : "cancelled"; }

// The deadline or a cancel() fired. The cancellation signal reaches only the operation in
// progress: one emitted while none is (before the coroutine's first operation, while a
// completed operation waits to resume it, or during a send that completes at once) is not seen
// by the next operation, which would then run unbounded (the deadline fires only once). So
// every phase checks this before starting its operation; all of it runs on the probe's one
// thread, so nothing can fire between the check and the start.
bool stopped(const ProbeOp& op) { return op.timed_out || op.cancelled; }

std::string connect_failure(const ProbeOp& op, const error_code& ec) {
  if (ec == asio::error::operation_aborted) return aborted_reason(op);
  if (ec == asio::error::connection_refused) return "connect refused";
  if (ec == asio::error::timed_out) return "connect timeout";
  return "connect: " + message_of(ec);
}

std::string read_failure(const ProbeOp& op, const error_code& ec) {
  if (ec == asio::error::operation_aborted) return aborted_reason(op);
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
    return "connection closed before the response";
  if (ec == http::error::partial_message) return "connection closed in the middle of the response";
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) return "bad response: " + message_of(ec);
  return "reading response: " + message_of(ec);
}

std::string tls_failure(const ProbeOp& op, const error_code& ec, SSL* ssl, bool verify) {
  if (ec == asio::error::operation_aborted) return aborted_reason(op);
  if (verify) {
    const long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) return std::string("tls: certificate verify failed (") + X509_verify_cert_error_string(vr) + ")";
  }
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) return "tls: connection closed in handshake";
  if (ec.category() == asio::error::get_ssl_category()) {
    if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return std::string("tls: ") + r;
  }
  return "tls: " + message_of(ec);
}

bool status_expected(const ProbeSpec& spec, unsigned status) {
  if (spec.expect_status.empty()) return status >= 200 && status <= 399;
  return std::any_of(spec.expect_status.begin(), spec.expect_status.end(),
                     [&](const config::StatusRange& r) { return status >= r.low && status <= r.high; });
}

// Sends the request and judges the response: the status, then (if expect_body is set) up to
// body_limit bytes of the body, stopping as soon as the text is found.
template <class Stream>
asio::awaitable<ProbeResult> http_exchange(Stream& stream, const ProbeSpec& spec, ProbeOp& op) {
  if (stopped(op)) co_return fail(aborted_reason(op));
  op.timeout_reason = "timeout sending request";
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(spec.request), kTuple);
  (void)written;
  if (wec) {
    if (wec == asio::error::operation_aborted) co_return fail(aborted_reason(op));
    co_return fail("sending request: " + message_of(wec));
  }

  op.timeout_reason = "timeout reading response";
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // we stop reading at body_limit ourselves
  if (spec.head) parser.skip(true);
  if (stopped(op)) co_return fail(aborted_reason(op));
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  (void)hn;
  if (hec) co_return fail(read_failure(op, hec));
  const unsigned status = parser.get().result_int();
  const std::string status_text = "status " + std::to_string(status);
  if (!status_expected(spec, status)) co_return fail(status_text);
  if (spec.expect_body.empty()) co_return pass(status_text);

  std::string body;
  std::array<char, 4096> chunk;
  while (!parser.is_done() && body.size() < spec.body_limit) {
    const size_t want = std::min(chunk.size(), spec.body_limit - body.size());
    parser.get().body().data = chunk.data();
    parser.get().body().size = want;
    if (stopped(op)) co_return fail(aborted_reason(op));
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
    (void)rn;
    body.append(chunk.data(), want - parser.get().body().size);
    if (body.find(spec.expect_body) != std::string::npos) co_return pass(status_text + ", body has " + dns::quote(spec.expect_body));
    if (rec == http::error::need_buffer) continue;
    if (rec == asio::ssl::error::stream_truncated && parser.need_eof()) break;  // close without close_notify
    if (rec) {
      if (rec == asio::error::operation_aborted) co_return fail(aborted_reason(op));
      co_return fail(read_failure(op, rec));
    }
  }
  // Only the first body_limit bytes count.
  if (body.size() > spec.body_limit) body.resize(spec.body_limit);
  if (body.find(spec.expect_body) != std::string::npos) co_return pass(status_text + ", body has " + dns::quote(spec.expect_body));
  co_return fail("body lacks " + dns::quote(spec.expect_body));
}

asio::awaitable<ProbeResult> probe_tcp(std::shared_ptr<const ProbeSpec> spec, std::shared_ptr<ProbeOp> op) {
  co_await asio::this_coro::throw_if_cancelled(false);
  tcp::socket socket(co_await asio::this_coro::executor);
  if (stopped(*op)) co_return fail(aborted_reason(*op));
  op->timeout_reason = "connect timeout";
  auto [ec] = co_await socket.async_connect(tcp::endpoint(spec->address, spec->port), kTuple);
  if (ec) co_return fail(connect_failure(*op, ec));
  co_return pass("connected");
}

asio::awaitable<ProbeResult> probe_http(std::shared_ptr<const ProbeSpec> spec, std::shared_ptr<ProbeOp> op) {
  co_await asio::this_coro::throw_if_cancelled(false);
  tcp::socket socket(co_await asio::this_coro::executor);
  if (stopped(*op)) co_return fail(aborted_reason(*op));
  op->timeout_reason = "connect timeout";
  auto [ec] = co_await socket.async_connect(tcp::endpoint(spec->address, spec->port), kTuple);
  if (ec) co_return fail(connect_failure(*op, ec));
  co_return co_await http_exchange(socket, *spec, *op);
}

asio::awaitable<ProbeResult> probe_https(std::shared_ptr<const ProbeSpec> spec, std::shared_ptr<ProbeOp> op) {
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::ssl::stream<tcp::socket> stream(co_await asio::this_coro::executor, *spec->tls);
  if (stopped(*op)) co_return fail(aborted_reason(*op));
  op->timeout_reason = "connect timeout";
  auto [ec] = co_await stream.next_layer().async_connect(tcp::endpoint(spec->address, spec->port), kTuple);
  if (ec) co_return fail(connect_failure(*op, ec));

  SSL* ssl = stream.native_handle();
  if (!spec->tls_name_is_ip) SSL_set_tlsext_host_name(ssl, spec->tls_name.c_str());  // no SNI for an address (RFC 6066)
  if (spec->tls_verify) {
    const int set = spec->tls_name_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), spec->tls_name.c_str())
                                         : SSL_set1_host(ssl, spec->tls_name.c_str());
    if (set != 1) co_return fail("tls: cannot verify against " + dns::quote(spec->tls_name));
  }
  if (stopped(*op)) co_return fail(aborted_reason(*op));
  op->timeout_reason = "tls handshake timeout";
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) co_return fail(tls_failure(*op, hec, ssl, spec->tls_verify));
  // Connection: close ends the exchange; no close_notify is needed for a probe.
  co_return co_await http_exchange(stream, *spec, *op);
}

uint16_t random_id() {
  uint16_t id;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) == 1) return id;
  static thread_local std::mt19937 fallback{std::random_device{}()};
  return static_cast<uint16_t>(fallback());
}

asio::awaitable<ProbeResult> probe_dns(std::shared_ptr<const ProbeSpec> spec, std::shared_ptr<ProbeOp> op) {
  co_await asio::this_coro::throw_if_cancelled(false);
  udp::socket socket(co_await asio::this_coro::executor);
  error_code ec;
  socket.open(spec->address.is_v4() ? udp::v4() : udp::v6(), ec);
  // Connected: the kernel drops datagrams from other sources and reports ICMP errors.
  if (!ec) socket.connect(udp::endpoint(spec->address, spec->port), ec);
  if (ec) co_return fail("socket: " + message_of(ec));

  std::vector<uint8_t> query = spec->query;
  set_query_id(query, random_id());
  if (stopped(*op)) co_return fail(aborted_reason(*op));
  op->timeout_reason = "timeout waiting for reply";
  auto [sec, sent] = co_await socket.async_send(asio::buffer(query), kTuple);
  (void)sent;
  if (sec) co_return fail(sec == asio::error::operation_aborted ? aborted_reason(*op) : "sending query: " + message_of(sec));

  std::vector<uint8_t> reply(dns::kMaxMessage);
  for (;;) {
    if (stopped(*op)) co_return fail(aborted_reason(*op));
    auto [rec, got] = co_await socket.async_receive(asio::buffer(reply), kTuple);
    if (rec == asio::error::connection_refused) co_return fail("port unreachable");
    if (rec) co_return fail(rec == asio::error::operation_aborted ? aborted_reason(*op) : "receiving reply: " + message_of(rec));
    auto v = check_dns_reply(std::span<const uint8_t>(reply.data(), got), query, spec->expect_rcode, spec->expected);
    if (!v.ours) continue;  // another ID or question: not the answer to this query
    co_return ProbeResult{v.ok, std::move(v.reason), {}};
  }
}

void finish(const std::shared_ptr<ProbeOp>& op, ProbeResult r) {
  if (op->finished) return;
  op->finished = true;
  op->deadline.cancel();
  r.latency = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - op->started);
  auto done = std::move(op->done);
  op->done = nullptr;
  if (done) done(std::move(r));
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The request bytes: method path HTTP/1.1, Host, User-Agent, the configured headers (which may
// replace Host and User-Agent), Connection: close.
std::string build_request(const config::HealthCheck& c, const std::string& host_header, std::string& error) {
  if (!is_token(c.method)) {
    error = "method " + dns::quote(c.method) + " is not an HTTP token";
    return {};
  }
  if (c.path.empty() || c.path[0] != '/' || has_control(c.path) ||
      std::any_of(c.path.begin(), c.path.end(), [](char ch) { return ch == ' ' || ch == '\t'; })) {
    error = "path " + dns::quote(c.path) + " must start with / and contain no spaces";
    return {};
  }
  std::vector<std::pair<std::string, std::string>> headers{{"Host", host_header}, {"User-Agent", "pharos-health"}};
  for (const auto& header : c.headers) {
    // Named references rather than a structured binding: clang 14 (the fuzz build) cannot
    // capture a binding in the lambda below.
    const std::string& name = header.first;
    const std::string& value = header.second;
    if (!is_token(name) || has_control(value)) {
      error = "header " + dns::quote(name) + " is malformed";
      return {};
    }
    if (iequals(name, "Connection")) continue;  // always close: one request per connection
    auto same = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
    if (same != headers.end() && same - headers.begin() < 2) {
      same->second = value;
    } else {
      headers.emplace_back(name, value);
    }
  }
  std::string req = c.method + " " + c.path + " HTTP/1.1\r\n";
  for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  req += "Connection: close\r\n\r\n";
  return req;
}

}  // namespace

const std::string& probe_spec_error(const ProbeSpec& spec) { return spec.error; }

void ProbeHandle::cancel() {
  auto op = op_.lock();
  if (!op || op->finished) return;
  op->cancelled = true;
  op->signal.emit(asio::cancellation_type::terminal);
}

std::shared_ptr<const ProbeSpec> prepare_probe(const config::HealthCheck& c) {
  auto spec = std::make_shared<ProbeSpec>();
  spec->type = c.type;
  spec->timeout = std::max(c.timeout, std::chrono::milliseconds(1));
  if (c.type == config::CheckType::Calculated) {
    spec->error = "calculated checks are not probed";
    return spec;
  }
  error_code ec;
  spec->address = asio::ip::make_address(c.target.address, ec);
  spec->port = c.target.port;
  if (ec) {
    spec->error = "target " + dns::quote(c.target.address) + " is not an IP address";
    return spec;
  }
  if (c.type == config::CheckType::Tcp) return spec;

  if (c.type == config::CheckType::Dns) {
    auto q = make_dns_query(c.query_name, c.query_type);
    if (!q) {
      spec->error = q.error().message;
      return spec;
    }
    spec->query = std::move(*q);
    spec->expect_rcode = c.expect_rcode;
    auto e = parse_expected_answer(c.query_type, c.expect_answer);
    if (!e) {
      spec->error = e.error().message;
      return spec;
    }
    spec->expected = std::move(*e);
    return spec;
  }

  // http, https
  const bool https = c.type == config::CheckType::Https;
  const bool v6 = spec->address.is_v6();
  const std::string address_text = spec->address.to_string();
  const std::string name = c.host.empty() ? (v6 ? "[" + address_text + "]" : address_text) : c.host;
  const std::string port_suffix = c.target.port == (https ? 443 : 80) ? "" : ":" + std::to_string(c.target.port);
  spec->request = build_request(c, name + port_suffix, spec->error);
  if (!spec->error.empty()) return spec;
  spec->head = iequals(c.method, "HEAD");
  spec->expect_status = c.expect_status;
  spec->expect_body = c.expect_body;
  spec->body_limit = c.body_limit;
  if (!https) return spec;

  spec->tls_verify = c.tls_verify;
  spec->tls_name = c.host.empty() ? address_text : c.host;
  error_code ip_ec;
  asio::ip::make_address(spec->tls_name, ip_ec);
  spec->tls_name_is_ip = !ip_ec;
  try {
    spec->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const std::exception& e) {
    spec->error = std::string("tls: cannot create a context: ") + e.what();
    return spec;
  }
  SSL_CTX* ctx = spec->tls->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!c.tls_verify) {
    spec->tls->set_verify_mode(asio::ssl::verify_none);
    return spec;
  }
  spec->tls->set_verify_mode(asio::ssl::verify_peer);
  if (!c.ca_file.empty()) {
    // Read once here, when the check is defined (a changed file is read again on the next
    // definition change, not on every probe).
    error_code fec;
    spec->tls->load_verify_file(c.ca_file, fec);
    if (fec) spec->error = "tls: cannot load ca_file " + dns::quote(c.ca_file) + ": " + message_of(fec);
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    spec->error = "tls: cannot load the system trust store";
  }
  ERR_clear_error();
  return spec;
}

ProbeHandle start_probe(const asio::any_io_executor& executor, std::shared_ptr<const ProbeSpec> spec,
                        std::function<void(ProbeResult)> done) {
  auto op = std::make_shared<ProbeOp>(executor);
  op->done = std::move(done);
  op->started = SteadyClock::now();
  ProbeHandle handle(op);
  if (!spec->error.empty() || spec->type == config::CheckType::Calculated) {
    asio::post(executor, [op, reason = spec->error] { finish(op, fail(reason)); });
    return handle;
  }

  op->deadline.expires_after(spec->timeout);
  op->deadline.async_wait([op](const error_code& ec) {
    if (ec || op->finished) return;
    op->timed_out = true;
    op->signal.emit(asio::cancellation_type::terminal);
  });

  asio::awaitable<ProbeResult> body = [&] {
    switch (spec->type) {
      case config::CheckType::Http:
        return probe_http(spec, op);
      case config::CheckType::Https:
        return probe_https(spec, op);
      case config::CheckType::Dns:
        return probe_dns(spec, op);
      default:
        return probe_tcp(spec, op);
    }
  }();
  asio::co_spawn(executor, std::move(body),
                 asio::bind_cancellation_slot(op->signal.slot(), [op](std::exception_ptr e, ProbeResult r) {
                   if (e) {
                     r.ok = false;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       r.reason = op->timed_out || op->cancelled ? aborted_reason(*op) : std::string("probe error: ") + x.what();
                     } catch (...) {
                       r.reason = "probe error";
                     }
                   }
                   finish(op, std::move(r));
                 }));
  return handle;
}

}  // namespace pharos::health
