// The rise/fall state machine of one check: pure, no I/O, no clock. Feed it probe results; it
// says whether the verdict changed.
//
//   Unknown --first result--> Healthy | Unhealthy             (a first verdict needs one result)
//   Healthy --`fall` consecutive failures--> Unhealthy
//   Unhealthy --`rise` consecutive successes--> Healthy
//
// A result that agrees with the state resets a run of opposite results (anti-flap): with fall 3,
// fail, fail, ok, fail, fail stays Healthy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "health/health_view.h"

namespace pharos::health {

// "unknown", "healthy", "unhealthy".
const char* health_name(Health h);

enum class Step : uint8_t {
  Unchanged,  // the result agrees with the state (any pending run was reset)
  Pending,    // the result disagrees, but the run has not reached rise/fall yet
  Changed,    // the state changed; `reason` says why
};

struct StepResult {
  Step step = Step::Unchanged;
  Health from = Health::Unknown;  // the state before this result
  Health state = Health::Unknown; // the state after it
  unsigned run = 0;               // consecutive results like this one, this one included
  // Changed: "status 200" for a first verdict, "after 3 failures: connect timeout" afterwards.
  // Otherwise the probe's own reason.
  std::string reason;
};

class StateMachine {
 public:
  // rise or fall 0 is taken as 1.
  StateMachine(unsigned rise, unsigned fall);

  StepResult feed(bool ok, std::string_view reason);

  Health state() const { return state_; }
  // True when the last result disagreed with a known state: a transition is under way (the
  // scheduler probes at fast_interval then).
  bool pending() const;
  unsigned consecutive_ok() const { return ok_; }
  unsigned consecutive_fail() const { return fail_; }
  unsigned rise() const { return rise_; }
  unsigned fall() const { return fall_; }

 private:
  unsigned rise_;
  unsigned fall_;
  Health state_ = Health::Unknown;
  unsigned ok_ = 0;
  unsigned fail_ = 0;
};

}  // namespace pharos::health
