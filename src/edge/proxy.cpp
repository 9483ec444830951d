#include "edge/proxy.h"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "edge/worker.h"

namespace pharos::edge {

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
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

enum class Failure { None, Connect, Send, Head, Timeout };

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
  write_upstream_head(req.head, req.client, req.body.size(), req.had_framing,
                      ForwardOptions{state.cfg.trust_forwarded}, scratch.upstream_head);
  const bool head_request = req.head.method() == http::verb::head;
  const bool idempotent = is_idempotent(req.head.method());

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

    std::unique_ptr<UpstreamConn> conn = w.upstreams().take(rt.upstream_id, SteadyClock::now(), t.upstream_idle);
    const bool reused = conn != nullptr;
    if (!conn) {
      conn = std::make_unique<UpstreamConn>(w.io().get_executor());
      conn->upstream_id = rt.upstream_id;
    }
    Failure failure = Failure::None;
    bool got_bytes = false;
    error_code ec;
    std::optional<ResponseParser> parser;
    {
      DeadlineGuard guard(w.deadlines(), conn->deadline, conn->socket);
      if (!reused) {
        conn->deadline.arm(t.upstream_connect);
        ec = co_await connect(*conn, rt.endpoint);
        if (ec) failure = ec == asio::error::timed_out ? Failure::Timeout : Failure::Connect;
      } else {
        w.counters().inc(Stat::UpstreamReused);
      }
      SteadyClock::time_point sent{};
      if (failure == Failure::None) {
        w.counters().inc(Stat::UpstreamRequests);
        ++conn->requests;
        conn->deadline.arm(t.upstream_response);
        const std::array<asio::const_buffer, 2> bufs{asio::buffer(scratch.upstream_head), asio::buffer(req.body)};
        auto [wec, n] = co_await asio::async_write(conn->socket, bufs, kUse);
        ec = wec;
        if (ec) failure = conn->deadline.expired ? Failure::Timeout : Failure::Send;
        sent = SteadyClock::now();
      }
      if (failure == Failure::None) {
        // The response head; 1xx interim responses (100 Continue, 103) are not passed on.
        for (;;) {
          parser.emplace();
          parser->header_limit(kUpstreamHeaderLimit);
          parser->body_limit(boost::none);
          if (head_request) parser->skip(true);
          ec = co_await read_head(*conn, *parser, got_bytes);
          if (ec) break;
          const unsigned status = parser->get().result_int();
          if (status >= 200 || status == 101) break;
          conn->deadline.arm(t.upstream_response);
        }
        if (ec) failure = (ec == asio::error::timed_out) ? Failure::Timeout : Failure::Head;
        else if (parser->get().result_int() == 101) {
          ec = http::error::bad_status;  // we never ask for an upgrade
          failure = Failure::Head;
        }
      }
      if (failure == Failure::None) {
        out.upstream_us =
            std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent).count();
        w.counters().inc(Stat::UpstreamLatencyUs, static_cast<uint64_t>(out.upstream_us));
        w.counters().inc(Stat::UpstreamLatencyCount);
      }
    }

    if (failure != Failure::None) {
      error_code ignored;
      conn->socket.close(ignored);
      // Retry: a reused connection that failed before any response byte (the member closed an
      // idle connection as we used it) goes again on another member, whatever the method; so
      // does a failed connect (nothing was sent); an idempotent request also after a new
      // connection failed before any response byte. Timeouts are not retried.
      const bool stale = reused && !got_bytes && (failure == Failure::Send || failure == Failure::Head);
      const bool retry = attempt == 0 && (stale || failure == Failure::Connect ||
                                          (failure == Failure::Head && !got_bytes && idempotent) ||
                                          (failure == Failure::Send && idempotent));
      if (!stale) {
        const std::string reason = failure == Failure::Connect   ? "connect: " + ec.message()
                                   : failure == Failure::Timeout ? std::string("timeout")
                                   : failure == Failure::Send    ? "send: " + ec.message()
                                                                 : "response: " + ec.message();
        passive_fail(w, pool, rt, reason);
        w.counters().inc(failure == Failure::Connect   ? Stat::UpstreamConnectErrors
                         : failure == Failure::Timeout ? Stat::UpstreamTimeouts
                                                       : Stat::UpstreamErrors);
        w.log()->debug("edge pool {} member {}: {}{}", pool.name, rt.address, reason, retry ? ", retrying" : "");
      }
      if (retry) {
        avoid = index;
        continue;
      }
      out.status = failure == Failure::Timeout ? 504 : 502;
      co_await sink.send_local(out.status, failure == Failure::Timeout ? "upstream timed out\n" : "upstream failed\n");
      co_return out;
    }

    // A response: relay it.
    auto& res = parser->get();
    out.status = res.result_int();
    if (pool.fails_on(out.status)) {
      passive_fail(w, pool, rt, "status " + std::to_string(out.status));
    } else {
      passive_ok(w, pool, rt);
    }
    // HEAD (the parser skips the body), 204, 304 and "Content-Length: 0" are done after the head.
    const bool has_body = !parser->is_done();
    std::optional<uint64_t> length;
    if (has_body && parser->content_length()) length = *parser->content_length();
    parser->eager(true);
    bool upstream_ok = true;
    bool client_ok = !co_await sink.send_head(res, has_body, length);
    if (client_ok && has_body) {
      DeadlineGuard guard(w.deadlines(), conn->deadline, conn->socket);
      for (;;) {
        conn->deadline.arm(t.upstream_response);
        auto [rec, n] = co_await read_body(*conn, *parser, scratch.relay.get(), Scratch::kRelaySize);
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
        if (parser->is_done()) break;
      }
    }
    if (client_ok && upstream_ok) {
      client_ok = !co_await sink.finish();
    } else if (!upstream_ok) {
      sink.abort();
      out.complete = false;
    }
    if (!client_ok) out.complete = false;
    // Keep the connection for the next request when the exchange ended cleanly.
    if (upstream_ok && client_ok && parser->is_done() && res.keep_alive() && conn->in.size() == 0 &&
        state.cfg.limits.upstream_idle_per_member > 0 && t.upstream_idle.count() > 0) {
      w.upstreams().put(std::move(conn), SteadyClock::now(), state.cfg.limits.upstream_idle_per_member);
    } else {
      error_code ignored;
      conn->socket.close(ignored);
    }
    co_return out;
  }
  co_return out;  // not reached
}

}  // namespace pharos::edge
