#include "health/scheduler.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "health/state_machine.h"

using namespace pharos::health;
using namespace std::chrono_literals;
using std::chrono::microseconds;

namespace {

// Returns the given numbers in turn.
Scheduler::Random sequence(std::vector<double> values) {
  auto i = std::make_shared<size_t>(0);
  return [values = std::move(values), i] { return values[(*i)++ % values.size()]; };
}

Timing timing(std::chrono::milliseconds interval, std::chrono::milliseconds fast, std::chrono::milliseconds timeout,
              double jitter) {
  Timing t;
  t.interval = interval;
  t.fast_interval = fast;
  t.timeout = timeout;
  t.jitter = jitter;
  return t;
}

const SteadyClock::time_point t0{};

}  // namespace

TEST_CASE("health: probes are scheduled from the previous start, shortened by the injected jitter", "[health]") {
  Scheduler s(timing(1000ms, 0ms, 500ms, 0.1), sequence({0.0, 0.5, 0.25}));
  // Ends well before the wait: the next start counts from the previous start.
  CHECK(s.next_start(t0, t0 + 30ms, false) == t0 + 1000ms);
  CHECK(s.next_start(t0, t0 + 30ms, false) == t0 + 950ms);
  CHECK(s.next_start(t0 + 5s, t0 + 5s + 499ms, false) == t0 + 5s + 975ms);
}

TEST_CASE("health: fast_interval replaces interval while a transition is pending", "[health]") {
  Scheduler s(timing(1000ms, 200ms, 100ms, 0.0), sequence({0.0}));
  CHECK(s.next_start(t0, t0 + 10ms, true) == t0 + 200ms);
  CHECK(s.next_start(t0, t0 + 10ms, false) == t0 + 1000ms);
  Scheduler no_fast(timing(1000ms, 0ms, 100ms, 0.0), sequence({0.0}));
  CHECK(no_fast.next_start(t0, t0 + 10ms, true) == t0 + 1000ms);
}

TEST_CASE("health: at most one probe in flight: a late probe delays the next to its end", "[health]") {
  Scheduler s(timing(100ms, 0ms, 500ms, 0.0), sequence({0.0}));
  CHECK(s.next_start(t0, t0 + 400ms, false) == t0 + 400ms);
  CHECK(s.next_start(t0, t0 + 100ms, false) == t0 + 100ms);
  Scheduler fast(timing(1000ms, 50ms, 300ms, 0.0), sequence({0.0}));
  CHECK(fast.next_start(t0, t0 + 300ms, true) == t0 + 300ms);
}

TEST_CASE("health: jitter never lengthens a wait", "[health]") {
  const std::vector<double> jitters = {0.0, 0.1, 0.5, 1.0, 2.5, -1.0, std::nan("")};
  const std::vector<double> us = {0.0, 0.1, 0.5, 0.999999, 1.0, -0.5, 7.0};
  for (double j : jitters) {
    for (bool pending : {false, true}) {
      const Timing t = timing(1000ms, 300ms, 500ms, j);
      const microseconds base = pending ? 300ms : 1000ms;
      for (double u : us) {
        const microseconds w = probe_wait(t, pending, u);
        CHECK(w <= base);
        CHECK(w >= 1ms);
        if (j >= 0 && j <= 1) CHECK(w.count() >= static_cast<long>(static_cast<double>(base.count()) * (1 - j)));
      }
    }
  }
  // Zero jitter: exactly the interval whatever the random source says.
  CHECK(probe_wait(timing(1000ms, 0ms, 500ms, 0.0), false, 0.7) == 1000ms);
}

TEST_CASE("health: worst-case detection formula", "[health]") {
  // fall x interval + timeout without fast_interval
  CHECK(worst_case_detection(timing(1000ms, 0ms, 500ms, 0.1), 3) == 3500ms);
  CHECK(worst_case_detection(timing(10s, 0ms, 2s, 0.1), 1) == 12s);
  // interval + (fall - 1) x max(fast_interval, timeout) + timeout
  CHECK(worst_case_detection(timing(1000ms, 200ms, 500ms, 0.1), 3) == 2500ms);
  CHECK(worst_case_detection(timing(1000ms, 600ms, 500ms, 0.1), 3) == 2700ms);
  // a timeout longer than the interval stretches every gap
  CHECK(worst_case_detection(timing(100ms, 0ms, 300ms, 0.0), 2) == 900ms);
}

TEST_CASE("health: a simulated outage is detected within the worst case, which is reached", "[health]") {
  struct Case {
    Timing t;
    unsigned fall;
  };
  const std::vector<Case> cases = {
      {timing(1000ms, 0ms, 500ms, 0.0), 3},   {timing(1000ms, 200ms, 500ms, 0.0), 3},
      {timing(1000ms, 600ms, 500ms, 0.0), 4}, {timing(100ms, 0ms, 300ms, 0.0), 2},
      {timing(100ms, 50ms, 300ms, 0.0), 3},   {timing(1000ms, 0ms, 500ms, 0.0), 1},
  };
  for (const Case& c : cases) {
    // Worst case: the target breaks right after probe 0 started; probe 0 still passes but takes
    // its whole timeout; every failing probe also takes the whole timeout; no jitter.
    StateMachine m(2, c.fall);
    Scheduler s(c.t, sequence({0.0}));
    m.feed(true, "ok");
    SteadyClock::time_point start = t0, end = t0 + c.t.timeout;
    for (;;) {
      start = s.next_start(start, end, m.pending());
      end = start + c.t.timeout;
      if (m.feed(false, "down").step == Step::Changed) break;
    }
    CHECK(end - t0 == worst_case_detection(c.t, c.fall));
    // With jitter the detection is never later.
    StateMachine mj(2, c.fall);
    Timing tj = c.t;
    tj.jitter = 0.3;
    Scheduler sj(tj, sequence({0.9, 0.1, 0.5}));
    mj.feed(true, "ok");
    start = t0;
    end = t0 + c.t.timeout;
    for (;;) {
      start = sj.next_start(start, end, mj.pending());
      end = start + c.t.timeout;
      if (mj.feed(false, "down").step == Step::Changed) break;
    }
    CHECK(end - t0 <= worst_case_detection(c.t, c.fall));
  }
}
