// The HTTP/1.1 front end: a coroutine per client connection (TLS or plain) that reads requests
// with Beast's parser fed by hand, refuses what must not be forwarded, answers the health
// endpoint, the ACME challenges and the redirect to https itself, and hands everything else to
// the proxy core with a ResponseSink that frames the response for HTTP/1.1.
#include <fcntl.h>
#include <openssl/err.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "edge/worker.h"

namespace pharos::edge {

namespace {

namespace beast = boost::beast;

constexpr size_t kClientReadSize = 16 * 1024;
constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";
constexpr size_t kAcmeMaxFile = 64 * 1024;

bool is_http_error(const error_code& ec) { return ec.category() == make_error_code(http::error::bad_target).category(); }

template <class Stream>
asio::awaitable<error_code> fill(Stream& s, beast::flat_buffer& in) {
  auto [ec, n] = co_await s.read_some(in.prepare(kClientReadSize));
  in.commit(n);
  co_return ec;
}

// Reads until `p` has the request head. With nothing buffered, it reads into `stage` (the leased
// Scratch's relay buffer, free until the request is forwarded) and keeps only what the parser left
// in the connection's buffer `in`: a request that comes in one read, as most do, leaves nothing,
// so `in` (given back while the connection waits) is not allocated for it.
template <class Stream>
asio::awaitable<error_code> read_head(Stream& s, beast::flat_buffer& in, RequestParser& p, bool& got_bytes,
                                      asio::mutable_buffer stage) {
  for (;;) {
    if (in.size() > 0) {
      got_bytes = true;
      error_code ec;
      const size_t used = p.put(in.data(), ec);
      in.consume(used);
      if (!ec && p.is_header_done()) co_return error_code{};
      if (ec && ec != http::error::need_more) co_return ec;
      if (!ec) continue;
      ec = co_await fill(s, in);
      if (ec == asio::error::eof && p.got_some()) co_return http::error::partial_message;
      if (ec) co_return ec;
      continue;
    }
    auto [ec, n] = co_await s.read_some(stage);
    if (n > 0) {
      got_bytes = true;
      error_code pec;
      const size_t used = p.put(asio::buffer(stage.data(), n), pec);
      if (pec && pec != http::error::need_more) co_return pec;
      if (used < n) {  // the body, the next request, or the rest of a field: kept
        const size_t rest = n - used;
        asio::buffer_copy(in.prepare(rest), asio::buffer(static_cast<const char*>(stage.data()) + used, rest));
        in.commit(rest);
      }
      if (!pec && p.is_header_done()) co_return error_code{};
      if (!pec) continue;
      if (used < n) continue;  // need_more: parse on from `in`, reading into it
    }
    if (ec == asio::error::eof && p.got_some()) co_return http::error::partial_message;
    if (ec) co_return ec;
  }
}

template <class Stream>
asio::awaitable<error_code> read_body(Stream& s, beast::flat_buffer& in, RequestParser& p) {
  p.eager(true);
  while (!p.is_done()) {
    if (in.size() > 0) {
      error_code ec;
      const size_t used = p.put(in.data(), ec);
      in.consume(used);
      if (ec && ec != http::error::need_more) co_return ec;
      if (p.is_done()) break;
      if (!ec && used > 0) continue;
    }
    error_code ec = co_await fill(s, in);
    if (ec == asio::error::eof) co_return http::error::partial_message;
    if (ec) co_return ec;
  }
  co_return error_code{};
}

template <class Stream>
class Http1Sink final : public ResponseSink, public ClientTunnel {
 public:
  // `in`: the connection's read buffer (what the client sent after a WebSocket handshake goes
  // into the tunnel first).
  Http1Sink(Stream& s, Worker& w, std::string& head, std::chrono::milliseconds send_timeout, beast::flat_buffer& in)
      : s_(s), w_(w), head_(head), send_timeout_(send_timeout), in_(in) {}

  void configure(unsigned version, bool keep_alive, bool head_only) {
    version_ = version;
    keep_alive_ = keep_alive;
    head_only_ = head_only;
  }
  bool keep_alive() const { return keep_alive_ && !aborted_; }
  unsigned status() const { return status_; }
  uint64_t bytes() const { return bytes_; }

  asio::awaitable<error_code> send_head(const ResponseHead& res, bool has_body,
                                        std::optional<uint64_t> length) override {
    if (w_.shared().closing.load(std::memory_order_relaxed)) keep_alive_ = false;
    has_body = has_body && !head_only_;
    framing_ = !has_body ? Framing::None : length ? Framing::Length : version_ >= 11 ? Framing::Chunked : Framing::Close;
    if (framing_ == Framing::Close) keep_alive_ = false;
    write_response_head(version_, res, framing_, length.value_or(0), keep_alive_, head_);
    status_ = res.status;
    pending_ = true;
    started_ = true;
    co_return error_code{};
  }

  asio::awaitable<error_code> send_body(asio::const_buffer data) override {
    if (data.size() == 0) co_return error_code{};
    std::array<asio::const_buffer, 4> bufs;
    size_t n = 0;
    if (pending_) bufs[n++] = asio::buffer(head_);
    if (framing_ == Framing::Chunked) {
      auto r = std::to_chars(chunk_, chunk_ + sizeof chunk_ - 2, data.size(), 16);
      r.ptr[0] = '\r';
      r.ptr[1] = '\n';
      bufs[n++] = asio::buffer(chunk_, static_cast<size_t>(r.ptr + 2 - chunk_));
    }
    bufs[n++] = data;
    if (framing_ == Framing::Chunked) bufs[n++] = asio::buffer("\r\n", 2);
    pending_ = false;
    bytes_ += data.size();
    w_.counters().inc(Stat::BytesOut, data.size());
    co_return co_await write(std::span(bufs.data(), n));
  }

  asio::awaitable<error_code> finish() override {
    std::array<asio::const_buffer, 2> bufs;
    size_t n = 0;
    if (pending_) bufs[n++] = asio::buffer(head_);
    if (framing_ == Framing::Chunked) bufs[n++] = asio::buffer("0\r\n\r\n", 5);
    pending_ = false;
    if (n == 0) co_return error_code{};
    co_return co_await write(std::span(bufs.data(), n));
  }

  asio::awaitable<error_code> send_local(unsigned status, std::string_view body, std::string_view extra = {}) override {
    if (w_.shared().closing.load(std::memory_order_relaxed)) keep_alive_ = false;
    write_simple_response(version_, status, body, keep_alive_, head_only_, extra, head_);
    status_ = status;
    started_ = true;
    if (!head_only_) bytes_ += body.size();
    std::array<asio::const_buffer, 1> bufs{asio::buffer(head_)};
    co_return co_await write(bufs);
  }

  void abort() override {
    aborted_ = true;
    keep_alive_ = false;
  }
  bool head_started() const override { return started_; }

  asio::awaitable<ClientTunnel*> upgrade(const ResponseHead& res) override {
    write_upgrade_head(res, head_);
    status_ = 101;
    started_ = true;
    keep_alive_ = false;
    std::array<asio::const_buffer, 1> bufs{asio::buffer(head_)};
    if (co_await write(bufs)) co_return nullptr;
    co_return static_cast<ClientTunnel*>(this);
  }

  // ---- the tunnel ----
  asio::awaitable<IoResult> read_some(asio::mutable_buffer b) override {
    if (in_.size() > 0) {
      const size_t n = asio::buffer_copy(b, in_.data());
      in_.consume(n);
      co_return IoResult{error_code{}, n};
    }
    co_return co_await s_.read_some(b);
  }
  asio::awaitable<error_code> write(asio::const_buffer b) override {
    std::array<asio::const_buffer, 1> bufs{b};
    co_return co_await s_.write(bufs);
  }
  void shutdown_send() override { s_.shutdown_send(); }
  void cancel() override {
    error_code ignored;
    s_.socket().cancel(ignored);
  }
  void arm(std::chrono::milliseconds d) override { s_.deadline().arm(d); }

 private:
  asio::awaitable<error_code> write(std::span<const asio::const_buffer> bufs) {
    s_.deadline().arm(send_timeout_);
    error_code ec = co_await s_.write(bufs);
    if (ec) {
      keep_alive_ = false;
      if (ec == asio::error::timed_out) w_.counters().inc(Stat::ClientTimeouts);
    }
    co_return ec;
  }

  Stream& s_;
  Worker& w_;
  std::string& head_;
  std::chrono::milliseconds send_timeout_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool pending_ = false;
  bool started_ = false;
  bool aborted_ = false;
  Framing framing_ = Framing::None;
  unsigned status_ = 0;
  uint64_t bytes_ = 0;
  char chunk_[24];
  beast::flat_buffer& in_;
};

// The health endpoint: 503 while draining; else 200 when at least one member of the pool the
// host's "/" routes to is up (its active check passes and passive health has not taken it out).
std::pair<unsigned, std::string_view> health_of(Worker& w, const WorkerView& view, std::string_view host) {
  if (w.shared().draining.load(std::memory_order_relaxed)) return {503, "draining\n"};
  const EdgeState& s = *view.state;
  const int pool = s.router.route(host, "/");
  if (pool < 0) return {404, "no route for this host\n"};
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
  const PoolState& p = s.pools[static_cast<size_t>(pool)];
  for (size_t i = 0; i < p.members.size(); ++i) {
    if (view.active_up[static_cast<size_t>(pool)][i] && !p.members[i].rt->passively_down(now)) return {200, "ok\n"};
  }
  return {503, "no healthy member\n"};
}

// An ACME http-01 token: base64url characters only, so it cannot leave the challenge directory.
bool valid_token(std::string_view t) {
  if (t.empty() || t.size() > 256) return false;
  for (char c : t) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

bool read_small_file(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kAcmeMaxFile;
  if (ok) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
  }
  ::close(fd);
  return ok;
}

struct ScratchLease {
  Worker& w;
  std::unique_ptr<Scratch> s;
  explicit ScratchLease(Worker& w) : w(w), s(w.lease()) {}
  ~ScratchLease() {
    s->request.reset();  // the request's fields go now, not when the scratch is next lent
    w.give_back(std::move(s));
  }
};

// What the accept loop counted for a connection, given back when it ends.
void release_client(Worker& w, const ClientSlot& slot) {
  w.shared().open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (slot.counted) w.shared().limiter.close(slot.key);
}

uint64_t steady_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch()).count());
}

std::string_view method_text(const http::request_header<>& req) {
  return req.method() == http::verb::unknown ? req.method_string() : http::to_string(req.method());
}

// What a connection keeps between its requests: little, since an idle connection holds it.
struct ConnState {
  beast::flat_buffer in;
  bool linger_close = false;  // the client may still be sending: linger before closing
  std::unique_ptr<UpstreamConn> own_upstream;  // PROXY protocol pools: this client's own connection
};

// How a request ends that is not answered normally: kSilent closes the connection without a
// response; other statuses are refused with `text` (a line; refuse() adds its newline).
constexpr unsigned kSilent = 1;
using Refusal = std::pair<unsigned, std::string_view>;

// A head or body that could not be read (counted here). A body cut short by the client's close
// is not answered: it is gone.
Refusal read_refusal(Worker& w, const error_code& ec, bool body) {
  if (ec == http::error::header_limit) {
    w.counters().inc(Stat::TooLarge);
    return {431, "request headers too large"};
  }
  if (ec == http::error::body_limit) {
    w.counters().inc(Stat::TooLarge);
    return {413, "request body too large"};
  }
  if (ec == asio::error::timed_out) {
    w.counters().inc(Stat::ClientTimeouts);
    return {408, "request timed out"};
  }
  if (is_http_error(ec) && !(body && ec == http::error::partial_message)) {
    w.counters().inc(Stat::BadRequests);
    return {400, body ? "malformed request body" : "malformed request"};
  }
  return {kSilent, {}};
}

// The body, buffered (up to the limit) so that a retry can send it again, after a 100 Continue
// when the client asked for one. {0, ""} when it is all there. Its own coroutine (as
// answer_locally), so that what only some requests need stays out of one_request's frame: a frame
// over asio's recycling limit (1,020 bytes) is allocated and freed for every request.
template <class Stream>
asio::awaitable<Refusal> receive_body(Worker& w, Stream& stream, beast::flat_buffer& in, RequestParser& p,
                                      const config::EdgeConfig& cfg) {
  const auto& req = p.get();
  const auto expect = req[http::field::expect];
  if (!expect.empty()) {
    if (!beast::iequals(expect, "100-continue")) co_return Refusal{417, "unsupported expectation"};
    if (req.version() >= 11) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      std::array<asio::const_buffer, 1> b{asio::buffer(kContinue)};
      stream.deadline().arm(cfg.timeouts.client_send);
      if (co_await stream.write(b)) co_return Refusal{kSilent, {}};
    }
  }
  stream.deadline().arm(cfg.timeouts.client_body);
  const error_code ec = co_await read_body(stream, in, p);
  co_return ec ? read_refusal(w, ec, true) : Refusal{0, {}};
}

// A response of the edge's own, its connection kept when the request was read whole: the health
// endpoint; on port 80 (with https configured) ACME challenges from the webroot and the redirect
// to https; else 429 over the client's request rate. `keep_alive`: the request was read whole and
// may be followed by another (a request body left unread ends the connection).
template <class Stream>
asio::awaitable<void> answer_locally(Worker& w, const WorkerView& view, const http::request_header<>& req,
                                     const std::string& host, std::string_view path, bool keep_alive,
                                     Http1Sink<Stream>& sink) {
  constexpr bool https = Stream::kTls;
  const config::EdgeConfig& cfg = view.state->cfg;
  const unsigned version = req.version();
  const bool head_only = req.method() == http::verb::head;
  sink.configure(version, keep_alive, head_only);
  if (path == cfg.health_path) {
    w.counters().inc(Stat::HealthRequests);
    if (req.method() != http::verb::get && !head_only) {
      co_await sink.send_local(405, "use GET or HEAD\n", "Allow: GET, HEAD\r\n");
    } else {
      auto [status, body] = health_of(w, view, host);
      co_await sink.send_local(status, body);
    }
    co_return;
  }
  const uint16_t https_port = view.state->https_port;
  if (!https && https_port != 0) {
    if (path.starts_with(kAcmePrefix)) {
      std::string file;
      const std::string_view token = path.substr(kAcmePrefix.size());
      if ((req.method() == http::verb::get || head_only) && !cfg.acme_webroot.empty() && valid_token(token) &&
          read_small_file(cfg.acme_webroot + std::string(kAcmePrefix) + std::string(token), file)) {
        w.counters().inc(Stat::AcmeServed);
        co_await sink.send_local(200, file);
      } else {
        co_await sink.send_local(404, "not found\n");
      }
    } else if (host.empty()) {
      sink.configure(version, false, head_only);
      co_await sink.send_local(400, "no Host header\n");
    } else {
      w.counters().inc(Stat::Redirects);
      std::string location = "Location: https://" + host;
      if (https_port != 443) location += ":" + std::to_string(https_port);
      location.append(req.target());
      location += "\r\n";
      const bool safe = req.method() == http::verb::get || head_only;
      co_await sink.send_local(safe ? 301 : 308, "moved to https\n", location);
    }
    co_return;
  }
  w.counters().inc(Stat::RateLimited);
  co_await sink.send_local(429, "too many requests\n", "Retry-After: 1\r\n");
}

// What the access log line of a request is made of, besides its outcome.
struct RequestLog {
  Worker& w;
  const RequestParser& p;
  const std::string& peer;
  const std::string& host;
  SteadyClock::time_point t0;
};

void log_access(const RequestLog& r, unsigned status, const MemberRuntime* member, int64_t upstream_us,
                uint64_t bytes) {
  r.w.counters().status(status);
  if (!r.w.access().enabled()) return;
  const auto& req = r.p.get();
  AccessEntry e;
  e.client = r.peer;
  e.host = r.host;
  e.method = r.p.is_header_done() ? method_text(req) : std::string_view("-");
  e.target = r.p.is_header_done() ? std::string_view(req.target()) : std::string_view("-");
  e.status = status;
  e.bytes = bytes;
  e.upstream = member ? std::string_view(member->address) : std::string_view("-");
  e.total_us =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - r.t0).count());
  e.upstream_us = upstream_us;
  r.w.access().add(e);
}

// A response of our own that ends the connection (the rest of the request is not read): `reason`
// and a newline.
template <class Stream>
asio::awaitable<void> refuse(Http1Sink<Stream>& sink, Worker& w, const RequestParser& p, const std::string& peer,
                             const std::string& host, SteadyClock::time_point t0, bool& linger_close, unsigned status,
                             std::string_view reason) {
  linger_close = true;
  sink.configure(p.is_header_done() ? p.get().version() : 11, false, false);
  const std::string body = std::string(reason) + "\n";
  co_await sink.send_local(status, body);
  log_access(RequestLog{w, p, peer, host, t0}, status, nullptr, -1, sink.bytes());
}

// One request on a connection and its response; false when the connection must end. Its own
// coroutine, so that its frame (the parser, the sink, everything a request needs: about 2 KiB)
// exists only while a request does, not while the connection waits idle.
template <class Stream>
asio::awaitable<bool> one_request(Worker& w, Stream& stream, ConnTrack& track, const ClientInfo& client,
                                  const std::string& peer, uint64_t client_key, const ClientSlot& slot,
                                  ConnState& conn) {
  constexpr bool https = Stream::kTls;
  beast::flat_buffer& in = conn.in;
  bool& linger_close = conn.linger_close;
  std::unique_ptr<UpstreamConn>& own_upstream = conn.own_upstream;
  // The state as it is now (a reload may have come while the connection was idle), held for
  // the whole request.
  std::shared_ptr<const WorkerView> view = w.view();
  if (!view || !view->state) co_return false;
  const config::EdgeConfig& cfg = view->state->cfg;
  track.idle = false;
  const auto t0 = SteadyClock::now();
  ScratchLease scratch(w);
  std::string& host = scratch.s->host;
  host.clear();
  Http1Sink<Stream> sink(stream, w, scratch.s->head, cfg.timeouts.client_send, in);
  RequestParser& p = scratch.s->request.emplace();  // about 300 bytes: not in this frame
  p.header_limit(static_cast<std::uint32_t>(cfg.limits.header_bytes));
  p.body_limit(cfg.limits.body_bytes);
  stream.deadline().arm(cfg.timeouts.client_header);
  bool got = false;
  error_code ec = co_await read_head(stream, in, p, got, asio::buffer(scratch.s->relay.get(), Scratch::kRelaySize));

  // Plain functions, not lambdas: a lambda's captures would sit in this frame, which must stay
  // under asio's recycling limit.
  if (ec) {
    if (!got) co_return false;  // closed, reset or timed out before a request
    const auto [status, text] = read_refusal(w, ec, false);
    if (status != kSilent) co_await refuse(sink, w, p, peer, host, t0, linger_close, status, text);
    co_return false;
  }
  w.counters().inc(Stat::Requests);
  auto& req = p.get();
  const unsigned version = req.version();
  const bool head_only = req.method() == http::verb::head;
  const Verdict verdict = check_request(req, host);
  if (verdict.status) {
    w.counters().inc(Stat::BadRequests);
    w.log()->debug("edge: {}: refused {}: {}", peer, verdict.status, verdict.reason);
    co_await refuse(sink, w, p, peer, host, t0, linger_close, verdict.status, verdict.reason);
    co_return false;
  }
  const std::string_view target = req.target();
  const std::string_view path = path_of(target);
  // The health endpoint, port 80's ACME challenges and redirects, the client's request rate
  // (proxied requests only): answered here.
  const config::EdgeLimits& limits = cfg.limits;
  const bool local = path == cfg.health_path || (!https && view->state->https_port != 0) ||
                     (limits.client_rate != 0 &&
                      !w.shared().limiter.take(slot.key, limits.client_rate,
                                               limits.client_burst ? limits.client_burst : limits.client_rate, steady_ms()));
  const bool keep_alive = req.keep_alive() && !w.shared().closing.load(std::memory_order_relaxed);
  if (local) {
    co_await answer_locally<Stream>(w, *view, req, host, path, keep_alive && p.is_done(), sink);
    log_access(RequestLog{w, p, peer, host, t0}, sink.status(), nullptr, -1, sink.bytes());
    linger_close = !p.is_done();
    co_return sink.keep_alive();
  }

  // The body, buffered (up to the limit) so that a retry can send it again.
  if (!p.is_done()) {
    const auto [status, text] = co_await receive_body(w, stream, in, p, cfg);
    if (status != 0) {
      if (status != kSilent) co_await refuse(sink, w, p, peer, host, t0, linger_close, status, text);
      co_return false;
    }
  }
  sink.configure(version, keep_alive, head_only);
  ProxyRequest preq{req,         p.get().body(), verdict.framing, client, host, path, client_key,
                    verdict.connection && is_websocket_upgrade(req), verdict.connection, &own_upstream};
  ProxyOutcome out = co_await forward(w, *view, preq, sink, *scratch.s);
  log_access(RequestLog{w, p, peer, host, t0}, out.status ? out.status : sink.status(), out.member, out.upstream_us, out.bytes);
  if (out.member && out.status >= 100 && out.status < 600 && w.id() < out.member->workers) {
    out.member->counters[w.id()].status[out.status / 100 - 1].inc();
  }
  if (out.tunnel || !sink.keep_alive() || !out.complete) co_return false;
  co_return true;
}

// An address as text without inet_ntop's sprintf: IPv4 digit by digit, IPv6 through asio.
void append_address(std::string& out, const asio::ip::address& a) {
  if (!a.is_v4()) {
    out += a.to_string();
    return;
  }
  const auto b = a.to_v4().to_bytes();
  char buf[16];
  char* p = buf;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i) *p++ = '.';
    p = std::to_chars(p, buf + sizeof buf, b[i]).ptr;
  }
  out.append(buf, static_cast<size_t>(p - buf));
}

ClientInfo client_of(const Ends& ends, bool tls, std::string& peer, uint64_t& key) {
  ClientInfo c;
  c.tls = tls;
  const auto& ep = ends.peer;
  append_address(c.address, ep.address());
  c.port = ep.port();
  append_address(c.local_address, ends.local.address());
  c.local_port = ends.local.port();
  char port[8];
  const char* port_end = std::to_chars(port, port + sizeof port, c.port).ptr;
  peer.reserve(c.address.size() + 8);
  if (ep.address().is_v6()) peer += '[';
  peer += c.address;
  if (ep.address().is_v6()) peer += ']';
  peer += ':';
  peer.append(port, static_cast<size_t>(port_end - port));
  if (ep.address().is_v6()) {
    auto b = ep.address().to_v6().to_bytes();
    key = hash_bytes(b.data(), b.size());
  } else {
    auto b = ep.address().to_v4().to_bytes();
    key = hash_bytes(b.data(), b.size());
  }
  return c;
}

// A client connection, on the heap. Between two requests it is all that exists of the
// connection: the stream (socket, OpenSSL's state), who the client is and the little ConnState
// keeps, owned by the handler of the reactor's wait for the next request (park). No coroutine
// frame lives across that wait: serve_https's, the session's, the wait's and co_spawn's own
// would be 1.5 to 2.5 KiB per idle connection. A request due starts a session coroutine again.
template <class Stream>
struct Connection {
  template <class... StreamArgs>
  Connection(Worker& w, const ClientSlot& s, const Ends& ends, StreamArgs&&... args)
      : w(w), slot(s), stream(std::forward<StreamArgs>(args)...), deadline(w.deadlines(), stream.deadline(), stream.socket()) {
    track.socket = &stream.socket();
    w.track(track);
    client = client_of(ends, Stream::kTls, peer, key);
  }
  ~Connection() {
    w.untrack(track);
    release_client(w, slot);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Worker& w;
  ClientSlot slot;
  ConnTrack track;
  std::string peer;
  uint64_t key = 0;
  ClientInfo client;
  Stream stream;
  DeadlineGuard deadline;
  ConnState state;
  bool first = true;  // no request yet: the wait is bounded by client_header, not client_idle
};

template <class Stream>
using ConnectionPtr = std::unique_ptr<Connection<Stream>>;

template <class Stream>
asio::awaitable<void> session(ConnectionPtr<Stream> c, bool waited, error_code woke);

// Makes the connection ready to wait for its next request: false when it must close instead.
template <class Stream>
bool ready_to_wait(Connection<Stream>& c) {
  if (c.w.shared().closing.load(std::memory_order_relaxed)) return false;
  c.state.in.shrink_to_fit();  // an idle connection holds no read buffer
  const auto& view = c.w.view();
  if (!view || !view->state) return false;
  const auto& t = view->state->cfg.timeouts;
  c.stream.deadline().arm(c.first ? t.client_header : t.client_idle);
  return true;
}

// Waits for the next request with nothing but the connection and the reactor's operation; a
// session starts again when it is due, or to close the connection when the wait failed (timed
// out, the peer closed, the edge closing cancelled it).
template <class Stream>
void park(ConnectionPtr<Stream> c) {
  Stream& stream = c->stream;
  stream.async_wait_readable([c = std::move(c)](error_code ec) mutable {
    asio::io_context& io = c->w.io();
    asio::co_spawn(io, session(std::move(c), true, ec), asio::detached);
  });
}

// A connection's requests from one wait to the next (or to its end): it runs the requests that
// are due, parks the connection when none is, and closes it when it ends, fails, times out or
// the edge closes. `waited`: it comes from a wait, which ended with `woke` (a request is due when
// that is no error); else (after the handshake) it waits first.
template <class Stream>
asio::awaitable<void> session(ConnectionPtr<Stream> c, bool waited, error_code woke) {
  Connection<Stream>& k = *c;
  if (!woke) {
    bool due = waited;
    for (;;) {
      k.track.idle = true;
      if (!due && k.state.in.size() == 0) {
        if (!ready_to_wait(k)) break;
        park(std::move(c));
        co_return;
      }
      due = false;
      const bool more = co_await one_request(k.w, k.stream, k.track, k.client, k.peer, k.key, k.slot, k.state);
      k.first = false;
      if (!more) break;
    }
  }
  if (k.state.linger_close) {
    k.stream.shutdown_send();
    auto view = k.w.view();
    const auto limit = view && view->state ? std::min(view->state->cfg.timeouts.client_header, std::chrono::milliseconds(2000))
                                           : std::chrono::milliseconds(2000);
    co_await linger(k.stream.socket(), k.stream.deadline(), limit);
  }
  co_await k.stream.shutdown();
}

}  // namespace

asio::awaitable<void> serve_https(Worker& w, tcp::socket socket, Ends ends, ClientSlot slot) {
  std::shared_ptr<const WorkerView> view = w.view();
  std::shared_ptr<const CertSet> certs;
  SSL* ssl = nullptr;
  if (view && view->state && view->state->certs && view->state->certs->default_ctx()) {
    certs = view->state->certs;
    ssl = SSL_new(certs->default_ctx());
    if (!ssl) ERR_clear_error();  // the queue stays empty between calls (stream.cpp)
  }
  if (!ssl) {
    release_client(w, slot);
    co_return;  // the socket closes as it goes
  }
  certs->attach(ssl);
  auto c = std::make_unique<Connection<TlsStream>>(w, slot, ends, std::move(socket), ssl);
  TlsStream& stream = c->stream;
  stream.deadline().arm(view->state->cfg.timeouts.client_header);
  error_code ec = co_await stream.handshake();
  CertSet::detach(ssl);
  certs.reset();
  view.reset();
  if (ec) {
    w.counters().inc(Stat::TlsHandshakeFailed);
    w.log()->debug("edge: {}: tls handshake: {}", c->peer, ec.message());
    co_return;  // the connection closes as it goes
  }
  co_await session(std::move(c), false, error_code{});
}

asio::awaitable<void> serve_http(Worker& w, tcp::socket socket, Ends ends, ClientSlot slot) {
  co_await session(std::make_unique<Connection<PlainStream>>(w, slot, ends, std::move(socket)), false, error_code{});
}

}  // namespace pharos::edge
