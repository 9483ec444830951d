#include "edge/proxy.h"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "edge/proxy_protocol.h"
#include "edge/upstream_tls.h"
#include "edge/worker.h"

namespace pharos::edge {

namespace {

constexpr uint32_t kUpstreamHeaderLimit = 64 * 1024;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

// Passive health: a failure of `m` (connect error, timeout, reset, a fail_status answer).
void passive_fail(Worker& w, const PoolState& pool, MemberRuntime& m, std::string_view reason) {
  if (pool.max_fails == 0) return;
  const int64_t now = now_ns();
  const int64_t window = std::chrono::duration_cast<std::chrono::nanoseconds>(pool.fail_timeout).count();
  if (now - m.window_start.load(std::memory_order_relaxed) > window) {
    m.window_start.store(now, std::memory_order_relaxed);
    m.fails.store(0, std::memory_order_relaxed);
  }
  const uint32_t n = m.fails.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n < pool.max_fails) return;
  m.fails.store(0, std::memory_order_relaxed);
  const int64_t before = m.down_until.exchange(now + window, std::memory_order_relaxed);
  if (before <= now) {
    w.counters().inc(Stat::PassiveEjections);
    w.log()->warn("edge pool {} member {}: out for {}ms after {} failure{}: {}", pool.name, m.address,
                  pool.fail_timeout.count(), n, n == 1 ? "" : "s", reason);
  }
}

void passive_ok(Worker& w, const PoolState& pool, MemberRuntime& m) {
  if (m.fails.load(std::memory_order_relaxed) != 0) m.fails.store(0, std::memory_order_relaxed);
  int64_t until = m.down_until.load(std::memory_order_relaxed);
  if (until != 0 && until <= now_ns() && m.down_until.compare_exchange_strong(until, 0, std::memory_order_relaxed)) {
    w.log()->info("edge pool {} member {}: back in after a successful request", pool.name, m.address);
  }
}

// The member for this attempt: usable members (active check passes and not out by passive
// health); when none is, those passing the active check; when none does, all (fail open). A
// retry avoids `avoid` unless it is the only choice.
int choose(Worker& w, const WorkerView& view, size_t pool_index, uint64_t client_key, int avoid) {
  const PoolState& pool = view.state->pools[pool_index];
  const auto& up = view.active_up[pool_index];
  auto& slots = w.slots();
  slots.resize(pool.members.size());
  const int64_t now = now_ns();
  bool any = false;
  for (size_t i = 0; i < pool.members.size(); ++i) {
    const MemberRuntime& rt = *pool.members[i].rt;
    MemberSlot& s = slots[i];
    s.weight = pool.members[i].weight;
    s.key = rt.key;
    s.active = rt.active.load(std::memory_order_relaxed);
    s.usable = up[i] && !rt.passively_down(now);
    any = any || s.usable;
  }
  if (!any) {
    for (size_t i = 0; i < slots.size(); ++i) {
      slots[i].usable = up[i] != 0;
      any = any || slots[i].usable;
    }
  }
  if (!any) {
    for (auto& s : slots) s.usable = true;
  }
  PoolCursor& cursor = w.cursor(pool_index);
  if (avoid >= 0 && slots.size() > 1) {
    const bool was = slots[static_cast<size_t>(avoid)].usable;
    slots[static_cast<size_t>(avoid)].usable = false;
    int i = pick(pool.balance, slots, cursor, client_key);
    if (i >= 0) return i;
    slots[static_cast<size_t>(avoid)].usable = was;
  }
  return pick(pool.balance, slots, cursor, client_key);
}

// Counts a request in flight to a member for as long as it lives.
struct InFlight {
  explicit InFlight(MemberRuntime& m) : m(m) { m.active.fetch_add(1, std::memory_order_relaxed); }
  ~InFlight() { m.active.fetch_sub(1, std::memory_order_relaxed); }
  MemberRuntime& m;
};

enum class Failure { None, Connect, Tls, Send, Head, Timeout };

// A WebSocket tunnel: bytes both ways between the client and the member until both sides have
// closed, either side fails, or neither sends anything for `idle`. The end of one direction is
// passed on as a half-close (FIN, close_notify) and the other goes on.
asio::awaitable<void> relay(Worker& w, UpstreamConn& up, ClientTunnel& client, std::chrono::milliseconds idle,
                            Scratch& scratch, ProxyOutcome& out) {
  using namespace asio::experimental::awaitable_operators;
  DeadlineGuard guard(w.deadlines(), up.deadline, up.socket);
  bool stopped = false;
  bool timed_out = false;
  auto touch = [&] {
    up.deadline.arm(idle);
    client.arm(idle);
  };
  auto stop = [&](const error_code& ec) {
    if (ec == asio::error::timed_out) timed_out = true;
    if (stopped) return;
    stopped = true;
    error_code ignored;
    up.socket.cancel(ignored);
    client.cancel();
  };
  touch();
  // Member to client; first what the member sent right after its 101.
  auto down = [&]() -> asio::awaitable<void> {
    char* buf = scratch.relay.get();
    for (;;) {
      size_t n = 0;
      if (up.in.size() > 0) {
        n = asio::buffer_copy(asio::buffer(buf, Scratch::kRelaySize), up.in.data());
        up.in.consume(n);
      } else {
        auto [ec, got] = co_await upstream_read(up, asio::buffer(buf, Scratch::kRelaySize));
        if (stopped) co_return;
        if (ec == asio::error::eof) {
          client.shutdown_send();
          co_return;
        }
        if (ec) {
          stop(ec);
          co_return;
        }
        n = got;
      }
      touch();
      if (auto ec = co_await client.write(asio::buffer(buf, n))) {
        stop(ec);
        co_return;
      }
      if (stopped) co_return;
      out.bytes += n;
      w.counters().inc(Stat::BytesOut, n);
      touch();
    }
  };
  // Client to member.
  auto up_dir = [&]() -> asio::awaitable<void> {
    std::unique_ptr<char[]> buf(new char[Scratch::kRelaySize]);
    for (;;) {
      auto [ec, n] = co_await client.read_some(asio::buffer(buf.get(), Scratch::kRelaySize));
      if (stopped) co_return;
      if (ec == asio::error::eof) {
        upstream_shutdown_send(up);
        co_return;
      }
      if (ec) {
        stop(ec);
        co_return;
      }
      touch();
      const std::array<asio::const_buffer, 1> b{asio::buffer(buf.get(), n)};
      if (auto wec = co_await upstream_write(up, b)) {
        stop(wec);
        co_return;
      }
      if (stopped) co_return;
      w.counters().inc(Stat::WebSocketBytesIn, n);
      touch();
    }
  };
  co_await (down() && up_dir());
  if (timed_out) w.counters().inc(Stat::WebSocketTimeouts);
}

// A new connection to a member: connect, the PROXY header, the TLS handshake, all within
// upstream_connect. Its own coroutine, as are tunnel(), relay_response() and the failure's
// bookkeeping (a function), so that what most requests never do stays out of forward's frame: a frame over
// asio's recycling limit (1,020 bytes) is allocated and freed for every request.
asio::awaitable<Failure> open_upstream(UpstreamConn& conn, const PoolState& pool, const MemberRuntime& rt,
                                       const ClientInfo& client, const config::EdgeTimeouts& t, Scratch& scratch,
                                       error_code& ec, std::string& why) {
  conn.deadline.arm(t.upstream_connect);
  ec = co_await connect(conn, rt.endpoint);
  if (ec) co_return ec == asio::error::timed_out ? Failure::Timeout : Failure::Connect;
  if (pool.proxy_protocol != config::ProxyProtocol::Off) {
    write_proxy_header(pool.proxy_protocol, client, scratch.proxy_header);
    const std::array<asio::const_buffer, 1> b{asio::buffer(scratch.proxy_header)};
    ec = co_await upstream_write(conn, b);
    if (ec) co_return ec == asio::error::timed_out ? Failure::Timeout : Failure::Connect;
  }
  if (pool.tls_ctx) {
    conn.ssl = new_upstream_session(pool.tls_ctx.get(), pool.tls, rt.endpoint.address().to_string());
    if (!conn.ssl) {
      ec = asio::error::no_memory;
      why = "cannot make a TLS session";
      co_return Failure::Tls;
    }
    ec = co_await upstream_handshake(conn, why);
    if (ec) co_return ec == asio::error::timed_out ? Failure::Timeout : Failure::Tls;
  }
  co_return Failure::None;
}

// After an attempt failed: passive health, counters and the log; whether to retry. A reused
// connection that failed before any response byte (the member closed an idle connection as we
// used it) goes again on another member, whatever the method; so does a failed connect (nothing
// was sent); an idempotent request also after a new connection failed before any response byte.
// Timeouts are not retried.
bool note_failure(Worker& w, const PoolState& pool, MemberRuntime& rt, Failure failure, const error_code& ec,
                  const std::string& why, bool reused, bool got_bytes, bool idempotent, int attempt) {
  const bool stale = reused && !got_bytes && (failure == Failure::Send || failure == Failure::Head);
  const bool retry = attempt == 0 && (stale || failure == Failure::Connect || failure == Failure::Tls ||
                                      (failure == Failure::Head && !got_bytes && idempotent) ||
                                      (failure == Failure::Send && idempotent));
  if (!stale) {
    const std::string reason = failure == Failure::Connect   ? "connect: " + ec.message()
                               : failure == Failure::Tls     ? "tls: " + why
                               : failure == Failure::Timeout ? std::string("timeout")
                               : failure == Failure::Send    ? "send: " + ec.message()
                                                             : "response: " + ec.message();
    passive_fail(w, pool, rt, reason);
    w.counters().inc(failure == Failure::Connect   ? Stat::UpstreamConnectErrors
                     : failure == Failure::Tls     ? Stat::UpstreamTlsErrors
                     : failure == Failure::Timeout ? Stat::UpstreamTimeouts
                                                   : Stat::UpstreamErrors);
    w.log()->debug("edge pool {} member {}: {}{}", pool.name, rt.address, reason, retry ? ", retrying" : "");
  }
  return retry;
}

// A member's 101 to a WebSocket handshake: the head to the client, then bytes both ways until
// the tunnel ends; the member's connection is closed after.
asio::awaitable<void> tunnel(Worker& w, UpstreamConn& conn, const ResponseHead& res, ResponseSink& sink,
                             std::chrono::milliseconds idle, Scratch& scratch, ProxyOutcome& out) {
  ClientTunnel* client = co_await sink.upgrade(res);
  if (client) {
    w.counters().inc(Stat::WebSockets);
    out.tunnel = true;
    co_await relay(w, conn, *client, idle, scratch, out);
  } else {
    out.complete = false;
  }
  error_code ignored;
  conn.socket.close(ignored);
}

// A response from its head to its end: the head to the client (held back by the sink to go with
// the first piece of body), the body in pieces of Scratch::kRelaySize. HEAD, 204, 304 and
// "Content-Length: 0" are done after the head. True when both sides did their part (the
// connection to the member may then carry another request).
asio::awaitable<bool> relay_response(Worker& w, const PoolState& pool, const MemberRuntime& rt, UpstreamConn& conn,
                                     ResponseParser& parser, ResponseSink& sink, std::chrono::milliseconds timeout,
                                     Scratch& scratch, ProxyOutcome& out) {
  const bool has_body = !parser.is_done();
  std::optional<uint64_t> length;
  if (has_body && parser.content_length()) length = *parser.content_length();
  bool upstream_ok = true;
  bool client_ok = !co_await sink.send_head(parser.head(), has_body, length);
  if (client_ok && has_body) {
    DeadlineGuard guard(w.deadlines(), conn.deadline, conn.socket);
    for (;;) {
      conn.deadline.arm(timeout);
      auto [rec, n] = co_await read_body(conn, parser, scratch.relay.get(), Scratch::kRelaySize);
      if (n > 0) {
        if (co_await sink.send_body(asio::buffer(scratch.relay.get(), n))) {
          client_ok = false;
          break;
        }
        out.bytes += n;
      }
      if (rec) {
        upstream_ok = false;
        w.counters().inc(rec == asio::error::timed_out ? Stat::UpstreamTimeouts : Stat::UpstreamErrors);
        w.log()->debug("edge pool {} member {}: response body: {}", pool.name, rt.address, rec.message());
        break;
      }
      if (parser.is_done()) break;
    }
  }
  if (client_ok && upstream_ok) {
    client_ok = !co_await sink.finish();
  } else if (!upstream_ok) {
    sink.abort();
    out.complete = false;
  }
  if (!client_ok) out.complete = false;
  co_return client_ok && upstream_ok;
}

}  // namespace

asio::awaitable<ProxyOutcome> forward(Worker& w, const WorkerView& view, const ProxyRequest& req, ResponseSink& sink,
                                      Scratch& scratch) {
  ProxyOutcome out;
  const EdgeState& state = *view.state;
  const config::EdgeTimeouts& t = state.cfg.timeouts;
  const int pool_index = state.router.route(req.host, req.path);
  if (pool_index < 0) {
    out.status = 404;
    co_await sink.send_local(404, "no route for this host and path\n");
    co_return out;
  }
  const PoolState& pool = state.pools[static_cast<size_t>(pool_index)];
  const bool websocket = req.websocket && pool.websocket;
  write_upstream_head(req.head, req.client, req.body.size(), req.had_framing,
                      ForwardOptions{state.cfg.trust_forwarded, websocket, req.connection}, scratch.upstream_head);
  const bool head_request = req.head.method() == http::verb::head;
  const bool idempotent = is_idempotent(req.head.method());
  const bool private_conn = pool.proxy_protocol != config::ProxyProtocol::Off;

  int avoid = -1;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt > 0) w.counters().inc(Stat::Retries);
    const int index = choose(w, view, static_cast<size_t>(pool_index), req.client_key, avoid);
    if (index < 0) {
      w.counters().inc(Stat::NoMember);
      out.status = 502;
      co_await sink.send_local(502, "no member available\n");
      co_return out;
    }
    const PoolState::Member& member = pool.members[static_cast<size_t>(index)];
    MemberRuntime& rt = *member.rt;
    out.member = &rt;
    InFlight in_flight(rt);

    // A kept-alive connection: from the worker's pool, or with the PROXY protocol (whose header
    // names one client) the one this client connection used last.
    std::unique_ptr<UpstreamConn> conn;
    if (private_conn) {
      if (req.own_upstream && *req.own_upstream) {
        std::unique_ptr<UpstreamConn>& own = *req.own_upstream;
        if (own->upstream_id == rt.upstream_id && reusable(*own, SteadyClock::now(), t.upstream_idle)) {
          conn = std::move(own);
        } else {
          own.reset();
        }
      }
    } else {
      conn = w.upstreams().take(rt.upstream_id, SteadyClock::now(), t.upstream_idle);
    }
    const bool reused = conn != nullptr;
    if (!conn) {
      conn = std::make_unique<UpstreamConn>(w.io().get_executor());
      conn->upstream_id = rt.upstream_id;
    }
    Failure failure = Failure::None;
    bool got_bytes = false;
    error_code ec;
    std::string why;  // a TLS handshake's failure
    std::optional<ResponseParser>& parser = scratch.parser;
    parser.reset();
    {
      DeadlineGuard guard(w.deadlines(), conn->deadline, conn->socket);
      if (!reused) {
        failure = co_await open_upstream(*conn, pool, rt, req.client, t, scratch, ec, why);
      } else {
        w.counters().inc(Stat::UpstreamReused);
      }
      SteadyClock::time_point sent{};
      if (failure == Failure::None) {
        w.counters().inc(Stat::UpstreamRequests);
        ++conn->requests;
        conn->deadline.arm(t.upstream_response);
        const std::array<asio::const_buffer, 2> bufs{asio::buffer(scratch.upstream_head), asio::buffer(req.body)};
        ec = co_await upstream_write(*conn, bufs);
        if (ec) failure = conn->deadline.expired ? Failure::Timeout : Failure::Send;
        sent = SteadyClock::now();
      }
      if (failure == Failure::None) {
        // The response head; 1xx interim responses (100 Continue, 103) are not passed on.
        for (;;) {
          parser.emplace();
          parser->header_limit(kUpstreamHeaderLimit);
          if (head_request) parser->skip(true);
          ec = co_await read_head(*conn, *parser, scratch.response_head, got_bytes);
          if (ec) break;
          const unsigned status = parser->head().status;
          if (status >= 200 || status == 101) break;
          conn->deadline.arm(t.upstream_response);
        }
        if (ec) failure = (ec == asio::error::timed_out) ? Failure::Timeout : Failure::Head;
        else if (parser->head().status == 101 && !websocket) {
          ec = http::error::bad_status;  // an upgrade nobody asked for
          failure = Failure::Head;
        }
      }
      if (failure == Failure::None) {
        out.upstream_us =
            std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent).count();
        w.counters().inc(Stat::UpstreamLatencyUs, static_cast<uint64_t>(out.upstream_us));
        w.counters().inc(Stat::UpstreamLatencyCount);
        if (w.id() < rt.workers) rt.counters[w.id()].latency.observe(static_cast<uint64_t>(out.upstream_us));
      }
    }

    if (failure != Failure::None) {
      error_code ignored;
      conn->socket.close(ignored);
      const bool retry = note_failure(w, pool, rt, failure, ec, why, reused, got_bytes, idempotent, attempt);
      if (retry) {
        avoid = index;
        continue;
      }
      out.status = failure == Failure::Timeout ? 504 : 502;
      co_await sink.send_local(out.status, failure == Failure::Timeout ? "upstream timed out\n" : "upstream failed\n");
      co_return out;
    }

    // A response: relay it.
    const ResponseHead& res = parser->head();
    out.status = res.status;
    if (pool.fails_on(out.status)) {
      passive_fail(w, pool, rt, "status " + std::to_string(out.status));
    } else {
      passive_ok(w, pool, rt);
    }
    if (out.status == 101) {
      // The member took the WebSocket handshake: the connection becomes a tunnel, and neither
      // side goes back to HTTP.
      co_await tunnel(w, *conn, res, sink, t.websocket_idle, scratch, out);
      co_return out;
    }
    const bool clean = co_await relay_response(w, pool, rt, *conn, *parser, sink, t.upstream_response, scratch, out);
    // Keep the connection for the next request when the exchange ended cleanly.
    if (clean && parser->is_done() && parser->keep_alive() && conn->in.size() == 0 &&
        (!conn->ssl || SSL_pending(conn->ssl) == 0) && state.cfg.limits.upstream_idle_per_member > 0 &&
        t.upstream_idle.count() > 0) {
      if (!private_conn) {
        w.upstreams().put(std::move(conn), SteadyClock::now(), state.cfg.limits.upstream_idle_per_member);
      } else if (req.own_upstream) {
        conn->idle_since = SteadyClock::now();
        *req.own_upstream = std::move(conn);
      }
    } else {
      error_code ignored;
      conn->socket.close(ignored);
    }
    co_return out;
  }
  co_return out;  // not reached
}

}  // namespace pharos::edge
