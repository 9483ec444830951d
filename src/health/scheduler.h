// When a check's next probe starts: a pure function of the previous probe's start and end, the
// state machine's "pending" flag and a random number, so tests can replay it exactly.
//
// Rules:
//  - probes are scheduled from the previous probe's START, not its end, so a slow target does
//    not stretch the period;
//  - while a transition is pending (the last result disagreed with the state), `fast_interval`
//    (if non-zero) replaces `interval`;
//  - jitter only ever shortens a wait, by up to jitter x (the interval in use), so that checks
//    configured together drift apart but the worst case never grows;
//  - at most one probe in flight per check: if the previous probe is still running when the next
//    is due, the next starts when it ends.
//
// Worst-case detection time (from the target breaking to the state changing), with
// W = max(interval, timeout), F = max(fast_interval or interval, timeout), n = fall (or rise):
//
//      W + (n - 1) x F + timeout
//
// The probe that started just before the target broke still passes; the next one starts at
// most W later (the previous one may have run its whole timeout); after its failure the
// transition is pending, so each of the n - 1 further probes starts at most F after the one
// before; the n-th ends at most `timeout` after it started. With the usual timeout <= interval
// and no fast_interval this is fall x interval + timeout; with fast_interval it is
// interval + (fall - 1) x max(fast_interval, timeout) + timeout.
#pragma once

#include <chrono>
#include <functional>

#include "config/config.h"

namespace pharos::health {

using SteadyClock = std::chrono::steady_clock;

struct Timing {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds fast_interval{0};  // 0: interval
  std::chrono::milliseconds timeout{500};
  double jitter = 0.0;  // clamped to [0, 1]

  static Timing of(const config::HealthCheck& c);
};

// The wait from one probe's start to the next's, for a random `u` in [0, 1): the interval in
// use, shortened by u x jitter x that interval; never below 1 ms.
std::chrono::microseconds probe_wait(const Timing& t, bool pending, double u);

// The worst-case time to detect a change that needs `threshold` consecutive results (fall or
// rise), as explained above.
std::chrono::milliseconds worst_case_detection(const Timing& t, unsigned threshold);

class Scheduler {
 public:
  using Random = std::function<double()>;  // uniform in [0, 1)

  Scheduler(Timing timing, Random random) : timing_(timing), random_(std::move(random)) {}

  // The next probe's start, given the last probe's start and end and whether a transition is
  // pending after its result: max(last_start + wait, last_end).
  SteadyClock::time_point next_start(SteadyClock::time_point last_start, SteadyClock::time_point last_end,
                                     bool pending);

  const Timing& timing() const { return timing_; }

 private:
  Timing timing_;
  Random random_;
};

}  // namespace pharos::health
