#include "health/scheduler.h"

#include <algorithm>

namespace pharos::health {

using std::chrono::microseconds;
using std::chrono::milliseconds;

Timing Timing::of(const config::HealthCheck& c) {
  Timing t;
  t.interval = c.interval;
  t.fast_interval = c.fast_interval;
  t.timeout = c.timeout;
  t.jitter = c.jitter;
  return t;
}

namespace {

milliseconds base_interval(const Timing& t, bool pending) {
  return pending && t.fast_interval.count() > 0 ? t.fast_interval : t.interval;
}

}  // namespace

microseconds probe_wait(const Timing& t, bool pending, double u) {
  const microseconds base = base_interval(t, pending);
  double jitter = t.jitter;
  if (!(jitter > 0.0)) jitter = 0.0;  // also NaN
  jitter = std::min(jitter, 1.0);
  if (!(u > 0.0)) u = 0.0;
  u = std::min(u, 1.0);
  const auto cut = static_cast<microseconds::rep>(static_cast<double>(base.count()) * jitter * u);
  const microseconds wait = base - microseconds(std::clamp<microseconds::rep>(cut, 0, base.count()));
  return std::max(wait, microseconds(1000));
}

milliseconds worst_case_detection(const Timing& t, unsigned threshold) {
  if (threshold == 0) threshold = 1;
  const milliseconds first = std::max(t.interval, t.timeout);
  const milliseconds next = std::max(base_interval(t, true), t.timeout);
  return first + (threshold - 1) * next + t.timeout;
}

SteadyClock::time_point Scheduler::next_start(SteadyClock::time_point last_start, SteadyClock::time_point last_end,
                                              bool pending) {
  const double u = random_ ? random_() : 0.0;
  const auto due = last_start + probe_wait(timing_, pending, u);
  return std::max(due, last_end);
}

}  // namespace pharos::health
