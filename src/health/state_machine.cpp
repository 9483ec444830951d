#include "health/state_machine.h"

namespace pharos::health {

const char* health_name(Health h) {
  switch (h) {
    case Health::Healthy:
      return "healthy";
    case Health::Unhealthy:
      return "unhealthy";
    case Health::Unknown:
      break;
  }
  return "unknown";
}

StateMachine::StateMachine(unsigned rise, unsigned fall) : rise_(rise ? rise : 1), fall_(fall ? fall : 1) {}

bool StateMachine::pending() const {
  if (state_ == Health::Healthy) return fail_ > 0;
  if (state_ == Health::Unhealthy) return ok_ > 0;
  return false;
}

StepResult StateMachine::feed(bool ok, std::string_view reason) {
  StepResult r;
  r.from = state_;
  if (ok) {
    ++ok_;
    fail_ = 0;
    r.run = ok_;
  } else {
    ++fail_;
    ok_ = 0;
    r.run = fail_;
  }
  const Health verdict = ok ? Health::Healthy : Health::Unhealthy;
  if (state_ == Health::Unknown) {
    // The first result decides at once: waiting for rise/fall results would leave the answer
    // undecided for seconds after every start and reload.
    state_ = verdict;
    r.step = Step::Changed;
    r.state = state_;
    r.reason = std::string(reason);
    return r;
  }
  r.state = state_;
  if (verdict == state_) {
    r.step = Step::Unchanged;
    r.reason = std::string(reason);
    return r;
  }
  const unsigned threshold = ok ? rise_ : fall_;
  if (r.run < threshold) {
    r.step = Step::Pending;
    r.reason = std::string(reason);
    return r;
  }
  state_ = verdict;
  r.step = Step::Changed;
  r.state = state_;
  r.reason = "after " + std::to_string(r.run) + (ok ? (r.run == 1 ? " success" : " successes")
                                                     : (r.run == 1 ? " failure" : " failures"));
  if (!reason.empty()) {
    r.reason += ": ";
    r.reason += reason;
  }
  return r;
}

}  // namespace pharos::health
